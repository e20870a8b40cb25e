; p0f-rs signature database: the default when no -f is given.
;
; Same format as p0f.fp (see p0f's README, section 5). Written by the p0f-rs
; project from facts; --bug-compat without -f uses stock-3.09b.fp instead.
;
; Every entry says where its facts come from, in a "src:" comment (the
; SMTP part at the end has keys of its own, [M] and [P]):
;   [Z]  public SYN records of web visitors labelled by their User-Agent
;        (NikolaiT/zardaxt, analysis/database.json). Only the records at
;        even positions ("build half") were used to write signatures; the
;        odd half and newCleaned.json are held out for scoring
;        (docs/signatures.md). Counts are from the build half.
;   [N]  our own captures of real stacks, clients and servers in network
;        namespaces: samples/labelled/ (capture.sh, labels.txt).
;   [K]  the system's source code or documentation of a default.
;   [S]  a fact of p0f 3.09b's stock database, kept for older systems.
;   [I]  issue 8's own observation on labelled traffic.
;   [C]  public captures of the shared corpus (../shared/corpus/dev, each
;        read with p0f 3.09b's output beside it), named per entry; these
;        entries are checked by crates/p0f-cli/tests/server_signatures.rs.
;   [T]  an HTTP message recorded in public code (a test fixture, a wire
;        log, a server stub's canned reply), described per entry; these
;        are checked by crates/p0f-http/tests/current.rs.
; A label claims only what its facts separate: "macOS or iOS" where the two
; send the same SYN, "10 or 11" where Windows releases do.
;
; Order matters: an exact match of a specific signature wins at once, else
; the first generic one, else the first fuzzy one (TTL or DF/ID differences).

classes = win,unix,other

; ------------------------------------------------------------------------
; Link types, keyed by MTU (MSS + 40 for IPv4, MSS + 60 for IPv6). The first
; label with the value wins. Mobile networks use too many MTUs to name one:
; in [Z], no MTU value was more than 71% phones, so none is labelled mobile.
; ------------------------------------------------------------------------
[mtu]

; src: [S]; 1500 is Ethernet's payload size (IEEE 802.3), 576 the IPv4
; minimum every host accepts (RFC 791).
label = Ethernet or modem
sig = 576
sig = 1500

; src: [K] RFC 2516 (PPPoE, DSL's usual framing, takes 8 bytes of the
; 1500), [N] lx-pppoe; [S] for 1452/1454. Stock's name is kept.
label = DSL
sig = 1492
sig = 1452
sig = 1454

; src: [K] wg-quick's default interface MTU is 1420 (1500 minus the 80 bytes
; of IPv6+UDP+WireGuard headers); [N] lx-wg profile. Other VPNs pick 1420
; too, hence the "or".
label = WireGuard or other VPN
sig = 1420

; src: [K] Tailscale sets its interface MTU to 1280, the IPv6 minimum
; (RFC 8200), which IPv6-in-IPv4 tunnels (GIF, stock [S]) also use; [N] lx-ts.
label = Tailscale or IPv6 tunnel
sig = 1280

; src: [S]
label = GIF
sig = 1240

; src: [S]; common MTUs of OpenVPN, IPsec and other tunnels.
label = generic tunnel or VPN
sig = 1300
sig = 1400
sig = 1440
sig = 1450
sig = 1460

; src: [S]
label = IPSec or GRE
sig = 1476

; src: [S]
label = IPIP or SIT
sig = 1480

; src: [S]
label = PPTP
sig = 1490

; src: [S]
label = AX.25 radio modem
sig = 256

; src: [S]
label = SLIP
sig = 552

; src: [S]
label = Google
sig = 1470

; src: [S]
label = VLAN
sig = 1496

; src: [S]
label = Ericsson HIS modem
sig = 1656

; src: [S]; 9000 is the usual jumbo frame size.
label = jumbo Ethernet
sig = 9000

; src: [S]
label = loopback
sig = 3924
sig = 16384
sig = 16436

; ------------------------------------------------------------------------
; TCP SYN signatures: the connecting client.
; ------------------------------------------------------------------------
[tcp:request]

; ---- Android ------------------------------------------------------------
; Why Android and desktop Linux differ although both are Linux: a Linux SYN
; offers min(65535, receive space rounded down to a multiple of the MSS).
; Desktop kernels since 4.19 start with a 128 KB buffer, half of which is
; 65536 bytes, so they offer 64240 (44 x 1460) and any other MSS multiple
; just below 65535. Android sets per-network TCP buffers of 1 MB and more
; ([K] AOSP ConnectivityService / NetworkAgent tcp buffer sizes such as
; 524288,1048576,8388608) plus its own initial receive window sysctl
; ([K] Android kernel patch "tcp: add a sysctl to config the
; tcp_default_init_rwnd"), so the rounded space is above 65535 and the SYN
; offers exactly 65535. The scale follows the buffer maximum (8 MB gives 8,
; 16 MB gives 9), which varies with device and network: 6 to 12 in [Z].
; [N] an-lte, an-16m, an-wifi profiles reproduce 65535 with scales 8, 9, 7.
; Where 65535 comes from a desktop Linux (a tuned tcp_rmem) the verdict is
; wrong; in all of [Z] that was 1 Linux SYN in 1417 with TTL 64.

; src: [Z] 65535 with scale 6: 26+ SYNs, 7: 59, 8: 206, 9: 207, 10: 157,
; 12: 42, all labelled Android; [N] scales 7, 8, 9; [K] as above.
label = s:unix:Android:
sig = 4:64:0:*:65535,6:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:65535,7:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:65535,8:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:65535,9:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:65535,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:65535,11:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:65535,12:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:65535,6:mss,sok,ts,nop,ws:df:0
sig = 4:64:0:*:65535,7:mss,sok,ts,nop,ws:df:0
sig = 4:64:0:*:65535,8:mss,sok,ts,nop,ws:df:0
sig = 4:64:0:*:65535,9:mss,sok,ts,nop,ws:df:0
sig = 4:64:0:*:65535,10:mss,sok,ts,nop,ws:df:0
sig = 4:64:0:*:65535,11:mss,sok,ts,nop,ws:df:0
sig = 4:64:0:*:65535,12:mss,sok,ts,nop,ws:df:0
; IPv6: Linux sets a flow label by default (auto_flowlabels) and the window
; is the same 65535. src: [N] an-* profiles over IPv6; [K] as above.
sig = 6:64:0:*:65535,7:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:65535,8:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:65535,9:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:65535,10:mss,sok,ts,nop,ws:flow:0
; Mobile networks that blank the timestamp option with NOPs (11 NOPs where
; "ts,nop" was). src: [Z] 65535 with scales 6-12: 79 SYNs, all Android.
sig = 4:64:0:*:65535,6:mss,sok,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,ws:df,id+:0
sig = 4:64:0:*:65535,7:mss,sok,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,ws:df,id+:0
sig = 4:64:0:*:65535,8:mss,sok,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,ws:df,id+:0
sig = 4:64:0:*:65535,9:mss,sok,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,ws:df,id+:0
sig = 4:64:0:*:65535,10:mss,sok,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,ws:df,id+:0
sig = 4:64:0:*:65535,12:mss,sok,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,ws:df,id+:0
; Android builds whose default buffer is 87380 bytes (window 29 x MSS) or
; 128 KB (44 x MSS) but whose maximum is larger than any desktop default
; (scale 8 or 9; desktop kernels give 7 or 10). src: [Z] mss*29 with scale
; 8 or 9: 14 SYNs, mss*44 with 8 or 9: 9 SYNs, all Android.
sig = 4:64:0:*:mss*29,8:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*29,9:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*44,8:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*44,9:mss,sok,ts,nop,ws:df,id+:0
; The older default buffer (29 to 31 x MSS, half of 87380 rounded down to
; the MSS) with scale 10, a 32 MB or larger maximum: desktop kernels with
; that default had 4 or 6 MB (scale 7), and those with 32 MB start from
; 128 KB (44 x MSS and up). src: [Z] build half, mss*29, 30 and 31 with
; scale 10: 3, 2 and 3 SYNs, all Android.
sig = 4:64:0:*:mss*29,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*30,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*31,10:mss,sok,ts,nop,ws:df,id+:0

; src: [S] (stock "Linux (Android)"): 44 x MSS with scale 1 or 3.
label = s:unix:Android:older releases
sig = *:64:0:*:mss*44,1:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:*:mss*44,3:mss,sok,ts,nop,ws:df,id+:0

; ---- Linux (desktop, server, ChromeOS) ---------------------------------
; ChromeOS sends the SYN of its Linux kernel; no fact in [Z] (148 ChromeOS
; SYNs, all 64240- or 29200-class windows with scale 7) separates it from
; other Linux, so it is called Linux.

; Window multiples: the largest multiple of the MSS up to 65535 is 44 x MSS
; for MSS 1460 and 54 x MSS for MSS 1200, so 44 to 54 cover the MTUs of
; Ethernet, PPPoE, VPNs and tunnels down to 1240 (IPv4) or 1260 (IPv6).
;
; 4.19 raised the initial receive buffer to 128 KB ([K] commit "tcp: up
; initial rmem to 128KB and SYN rwin to around 64KB", 2018): the SYN offers
; the largest MSS multiple up to 65535 (64240 for MSS 1460, 64800 for the
; IPv6 MSS 1440). With the older 6 MB buffer maximum the scale is 7.
; src: [Z] mss*44 with scale 7: 100 SYNs, 80 Linux or ChromeOS, the rest
; other systems behind Linux proxies; [N] lx-6mb over IPv4 and IPv6.
; The ID-less form (DF, IP ID 0) is kept only for 44 x MSS, where [Z] has
; it (13 SYNs, 10 Linux or ChromeOS).
label = s:unix:Linux:4.19 or newer
sig = 4:64:0:*:mss*44,7:mss,sok,ts,nop,ws:df:0
sig = 4:64:0:*:mss*44,7:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*45,7:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*46,7:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*47,7:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*48,7:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*49,7:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*50,7:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*51,7:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*52,7:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*53,7:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*54,7:mss,sok,ts,nop,ws:df,id+:0
sig = 6:64:0:*:mss*44,7:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*45,7:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*46,7:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*47,7:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*48,7:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*49,7:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*50,7:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*51,7:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*52,7:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*53,7:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*54,7:mss,sok,ts,nop,ws:flow:0

; Recent kernels raise the buffer maximum to 32 MB, so the scale is 10.
; src: [N] this machine's kernel (6.18) with its defaults, IPv4 and IPv6,
; and the WireGuard, PPPoE and Tailscale MTU profiles; [K] its tcp_rmem
; default "4096 131072 33554432".
label = s:unix:Linux:6.x (32 MB buffers)
sig = 4:64:0:*:mss*44,10:mss,sok,ts,nop,ws:df:0
sig = 4:64:0:*:mss*44,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*45,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*46,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*47,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*48,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*49,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*50,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*51,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*52,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*53,10:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:mss*54,10:mss,sok,ts,nop,ws:df,id+:0
sig = 6:64:0:*:mss*44,10:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*45,10:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*46,10:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*47,10:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*48,10:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*49,10:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*50,10:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*51,10:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*52,10:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*53,10:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*54,10:mss,sok,ts,nop,ws:flow:0

; Timestamps switched off (net.ipv4.tcp_timestamps=0) on 4.19 or newer.
; src: [N] lx-nots over IPv4 and IPv6; [K] the option layout of a Linux SYN
; without timestamps (mss, nop, nop, sok, nop, ws).
label = s:unix:Linux:4.19 or newer (no TS)
sig = 4:64:0:*:mss*44,10:mss,nop,nop,sok,nop,ws:df:0
sig = 4:64:0:*:mss*44,7:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*45,7:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*46,7:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*47,7:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*48,7:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*49,7:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*50,7:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*51,7:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*52,7:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*53,7:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*54,7:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 6:64:0:*:mss*44,7:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*45,7:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*46,7:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*47,7:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*48,7:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*49,7:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*50,7:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*51,7:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*52,7:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*53,7:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*54,7:mss,nop,nop,sok,nop,ws:flow:0
sig = 4:64:0:*:mss*44,10:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*45,10:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*46,10:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*47,10:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*48,10:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*49,10:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*50,10:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*51,10:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*52,10:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*53,10:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 4:64:0:*:mss*54,10:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 6:64:0:*:mss*44,10:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*45,10:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*46,10:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*47,10:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*48,10:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*49,10:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*50,10:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*51,10:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*52,10:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*53,10:mss,nop,nop,sok,nop,ws:flow:0
sig = 6:64:0:*:mss*54,10:mss,nop,nop,sok,nop,ws:flow:0

; Before 4.19 the SYN window was 20 x MSS; later kernels send it only with
; the route option initrwnd 20, so stock's name stays. src: [S] (stock
; "3.11 and newer"); [Z] mss*20 with scale 7: 39 SYNs, 32 Linux or ChromeOS.
label = s:unix:Linux:3.11 and newer
sig = *:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0
sig = 6:64:0:*:mss*20,7:mss,sok,ts,nop,ws:flow:0

; src: [S] for all older Linux entries.
label = s:unix:Linux:3.1-3.10
sig = *:64:0:*:mss*10,4:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:*:mss*10,5:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:*:mss*10,7:mss,sok,ts,nop,ws:df,id+:0

; src: [S]
label = s:unix:Linux:2.6.x
sig = *:64:0:*:mss*4,6:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:*:mss*4,7:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:*:mss*4,8:mss,sok,ts,nop,ws:df,id+:0

; src: [S]
label = s:unix:Linux:2.4.x
sig = *:64:0:*:mss*4,0:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:*:mss*4,1:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:*:mss*4,2:mss,sok,ts,nop,ws:df,id+:0

; src: [S]
label = s:unix:Linux:2.2.x
sig = *:64:0:*:mss*11,0:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:*:mss*20,0:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:*:mss*22,0:mss,sok,ts,nop,ws:df,id+:0

; src: [S]
label = s:unix:Linux:2.0
sig = *:64:0:*:mss*12,0:mss::0
sig = *:64:0:*:16384,0:mss::0

; Loopback on a current kernel: MSS 65495 (IPv4) or 65476 (IPv6), the
; window one effective MSS, scale 10 (32 MB buffers). src: [N] this
; machine's loopback (samples/loopback.pcap, and the live tests' daemon).
label = s:unix:Linux:6.x (loopback)
sig = 4:64:0:65495:mss*1,10:mss,sok,ts,nop,ws:df,id+:0
sig = 6:64:0:65476:mss*1,10:mss,sok,ts,nop,ws:flow:0

; src: [S]
label = s:unix:Linux:3.x (loopback)
sig = *:64:0:16396:mss*2,4:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:16376:mss*2,4:mss,sok,ts,nop,ws:df,id+:0

; src: [S]
label = s:unix:Linux:2.6.x (loopback)
sig = *:64:0:16396:mss*2,2:mss,sok,ts,nop,ws:df,id+:0
sig = *:64:0:16376:mss*2,2:mss,sok,ts,nop,ws:df,id+:0

; src: [S]
label = s:unix:Linux:2.4.x (loopback)
sig = *:64:0:16396:mss*2,0:mss,sok,ts,nop,ws:df,id+:0

; src: [S]
label = s:unix:Linux:2.2.x (loopback)
sig = *:64:0:3884:mss*8,0:mss,sok,ts,nop,ws:df,id+:0

; src: [S]
label = s:unix:Linux:2.6.x (Google crawler)
sig = 4:64:0:1430:mss*4,6:mss,sok,ts,nop,ws::0

; Any IPv4 loopback SYN of a Linux kernel: the MSS is 65495 because the
; loopback MTU is 64 KB, which no other link has, whatever the buffers.
; Placed before the Android entries: a server with raised buffer limits
; sends scale 8 or 9 on loopback too (the shared corpus: an OpenFlow
; controller talking to itself, window 43690, scale 9).
; src: [K] Linux's loopback driver (MTU 65536 since 3.6); [N] this
; machine's loopback (MSS 65495, as for "6.x (loopback)" above).
label = g:unix:Linux:(loopback)
sig = 4:64:0:65495:*,*:mss,sok,ts,nop,ws:df,id+:0

; A Linux SYN whose IP header a middlebox rebuilt: TTL 255 (above any
; kernel's 64) and IP ID 0. The TCP part is a Linux kernel's, Android's
; 65535 window included, but behind such boxes it is often not a phone's,
; so only "Linux" (as for rewritten options below). Generic, so that it
; wins over the TTL-fuzzy Android entries; with a non-zero IP ID the
; Android entries still apply. src: [Z] build half, this layout with TTL
; 255 and IP ID 0: 131 SYNs, 90 Android, 37 Linux, 3 Apple, 1 Windows
; (window 65535: 89 Android, 26 Linux); with a non-zero ID and 65535: 40,
; all Android.
label = g:unix:Linux:(IP header rewritten)
sig = 4:255:0:*:*,*:mss,sok,ts,nop,ws:df:0

; Generic Android: 65535 with a scale not listed above. Placed before the
; generic Linux entries because the first generic match wins. src: as for
; Android above.
label = g:unix:Android:
sig = 4:64:0:*:65535,*:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:65535,*:mss,sok,ts,nop,ws:df:0
sig = 6:64:0:*:65535,*:mss,sok,ts,nop,ws:flow:0

; src: [S] for the first three; the IPv6 and no-ID forms follow the same
; kernels ([N] flow label on every Linux IPv6 SYN captured).
label = g:unix:Linux:3.x
sig = *:64:0:*:mss*10,*:mss,sok,ts,nop,ws:df,id+:0

; src: [S]
label = g:unix:Linux:2.4.x-2.6.x
sig = *:64:0:*:mss*4,*:mss,sok,ts,nop,ws:df,id+:0

; Android's larger buffer maximum without the 65535 window: a scale of 8 or
; 9 means a maximum of 8 to 33 MB, which Android's per-network buffer sizes
; set ([K] as for Android above) and no desktop default does (4 and 6 MB
; give 7, the 32 MB of current kernels 10). The window is then whatever the
; device's default buffer and MSS give (29 to 31 x MSS for the older
; 87380-byte default, or a number p0f cannot relate to the MSS a router
; rewrote), so it is left open. Placed after the 4 x MSS and 10 x MSS entries
; of older kernels, which keep their names.
; src: [Z] build half, this layout with TTL 64 and scale 8 or 9 and a window
; other than 65535: 41 SYNs, 40 Android and 1 Windows.
label = g:unix:Android:
sig = 4:64:0:*:*,8:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:*,9:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:*,8:mss,sok,ts,nop,ws:df:0
sig = 4:64:0:*:*,9:mss,sok,ts,nop,ws:df:0

; src: [S] (stock's generic "2.2.x-3.x"), and for the ID-less and IPv6
; forms [N] (a flow label on every Linux IPv6 SYN captured) and [Z].
label = g:unix:Linux:
sig = *:64:0:*:*,*:mss,sok,ts,nop,ws:df,id+:0
sig = 4:64:0:*:*,*:mss,sok,ts,nop,ws:df:0
sig = 6:64:0:*:*,*:mss,sok,ts,nop,ws:flow:0

; src: [S]; the IPv6 form [N] lx-nots.
label = g:unix:Linux:(no timestamps)
sig = *:64:0:*:*,*:mss,nop,nop,sok,nop,ws:df,id+:0
sig = 6:64:0:*:*,*:mss,nop,nop,sok,nop,ws:flow:0

; A Linux SYN whose options a middlebox reordered (sok first, timestamps
; dropped). src: [Z] 65535 windows in this layout: 33 Android, 19 Linux:
; a Linux kernel, but not which kind, so only "Linux".
label = g:unix:Linux:(options rewritten)
sig = *:64:0:*:*,*:mss,sok,nop,nop,nop,ws:df,id+:0

; Timestamps blanked with NOPs on the way (see Android above). src: [Z]
; mss*44 with scale 7 in this layout: 4 SYNs, all Linux.
label = g:unix:Linux:(timestamps blanked)
sig = *:64:0:*:*,*:mss,sok,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,ws:df,id+:0

; src: [S]
label = g:unix:Linux:(barebone)
sig = *:64:0:*:*,0:mss:df,id+:0

; ---- Windows ------------------------------------------------------------
; Windows 10 and 11 (and Server 2016 and newer, which share the NT 10.0
; stack; no SYN fact separates them) offer 44 x MSS with scale 8.
; src: [Z] mss*44,8: 158 SYNs with TTL 128 and 51 with TTL 64 (VPN or
; proxy), all Windows; 9 more without an IP ID and 9 with ECN.
label = s:win:Windows:10, 11 or Server 2016+
sig = *:128:0:*:mss*44,8:mss,nop,ws,nop,nop,sok:df,id+:0
sig = 4:128:0:*:mss*44,8:mss,nop,ws,nop,nop,sok:df:0
; Timestamps switched on (netsh int tcp set global timestamps=enabled).
; src: [Z] 18 SYNs (TTL 128 and 64), all Windows.
sig = *:128:0:*:mss*44,8:mss,nop,ws,sok,ts:df,id+:0
; Window scaling off. src: [Z] mss*44 with no scale option: 26 SYNs with
; TTL 128 and 8 with TTL 64, 33 of them Windows.
sig = *:128:0:*:mss*44,0:mss,nop,nop,sok:df,id+:0

; src: [S]
label = s:win:Windows:XP
sig = *:128:0:*:16384,0:mss,nop,nop,sok:df,id+:0
sig = *:128:0:*:65535,0:mss,nop,nop,sok:df,id+:0
sig = *:128:0:*:65535,0:mss,nop,ws,nop,nop,sok:df,id+:0
sig = *:128:0:*:65535,1:mss,nop,ws,nop,nop,sok:df,id+:0
sig = *:128:0:*:65535,2:mss,nop,ws,nop,nop,sok:df,id+:0

; src: [S]; [Z] 8192 with scale 2: 37 SYNs, scale 8: 30, all Windows.
label = s:win:Windows:7 or 8
sig = *:128:0:*:8192,0:mss,nop,nop,sok:df,id+:0
sig = *:128:0:*:8192,2:mss,nop,ws,nop,nop,sok:df,id+:0
sig = *:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0
sig = *:128:0:*:8192,2:mss,nop,ws,sok,ts:df,id+:0
; The scale-8 form with timestamps on. src: [Z] build half, 3 SYNs (TTL
; 128), all Windows, and the 30 without timestamps above.
sig = *:128:0:*:8192,8:mss,nop,ws,sok,ts:df,id+:0

; src: [S]
label = s:win:Windows:7 (Websense crawler)
sig = *:64:0:1380:mss*4,6:mss,nop,nop,ts,nop,ws:df,id+:0
sig = *:64:0:1380:mss*4,7:mss,nop,nop,ts,nop,ws:df,id+:0

; src: [S]
label = g:win:Windows:NT kernel 5.x
sig = *:128:0:*:16384,*:mss,nop,nop,sok:df,id+:0
sig = *:128:0:*:65535,*:mss,nop,nop,sok:df,id+:0
sig = *:128:0:*:16384,*:mss,nop,ws,nop,nop,sok:df,id+:0
sig = *:128:0:*:65535,*:mss,nop,ws,nop,nop,sok:df,id+:0

; src: [S]
label = g:win:Windows:NT kernel 6.x
sig = *:128:0:*:8192,*:mss,nop,nop,sok:df,id+:0
sig = *:128:0:*:8192,*:mss,nop,ws,nop,nop,sok:df,id+:0

; src: [S]; [Z] every SYN in the second layout (1154 in all) is labelled
; Windows. The third is the same SYN with a NOP and EOL padding after it,
; as some Windows network filter adds: [Z] 6 SYNs, all Windows.
label = g:win:Windows:NT kernel
sig = *:128:0:*:*,*:mss,nop,nop,sok:df,id+:0
sig = *:128:0:*:*,*:mss,nop,ws,nop,nop,sok:df,id+:0
sig = *:128:0:*:*,*:mss,nop,ws,nop,nop,sok,nop,eol+6:df,id+:0

; ---- macOS and iOS ------------------------------------------------------
; Apple's stacks share one SYN: 65535, scale 5 or 6, options mss, nop, ws,
; nop, nop, ts, sok, eol and an IP ID of 0 (so no id+ quirk). src: [Z]
; scale 6: 460 SYNs, 232 macOS and 228 iOS; scale 5: 224, 97 macOS and 127
; iOS; and so on for every variant below: no fact of the SYN separates
; macOS from iOS, so they share one label. p0f 3.09b's split by scale (1 and
; 3 Mac OS X, 2 iOS, 4 "10.9 or newer") does not hold: see docs/signatures.md.
label = s:unix:macOS or iOS:
sig = 4:64:0:*:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0
sig = 4:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0
sig = 4:64:0:*:65535,7:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0
sig = 4:64:0:*:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0
sig = 4:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0
; IPv6: a flow label on every SYN ([K] the KAME-derived default
; ip6_auto_flowlabel = 1; [I] "Apple's IPv6 SYNs are unknown" to the stock
; database, whose signatures do not allow the flow quirk).
sig = 6:64:0:*:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0
sig = 6:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0
; Timestamps off, as Apple sends on some networks. src: [Z] scale 6: 17
; SYNs, scale 5: 14, all macOS or iOS. FreeBSD's SYN takes this layout only
; with timestamps switched off (net.inet.tcp.rfc1323=2, not its default),
; so unlike the SYN+ACK of this shape (below) the scale-6 SYN stays Apple's.
sig = 4:64:0:*:65535,5:mss,nop,ws,sok,eol+1:df:0
sig = 4:64:0:*:65535,6:mss,nop,ws,sok,eol+1:df:0
; Timestamps blanked with NOPs by a mobile network. src: [Z] scale 6: 24
; SYNs, scale 5: 12, all macOS or iOS.
sig = 4:64:0:*:65535,5:mss,nop,ws,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,sok,eol+1:df:0
sig = 4:64:0:*:65535,6:mss,nop,ws,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,sok,eol+1:df:0
; Older releases, with p0f 3.09b's scales. src: [S], relabelled as above.
sig = *:64:0:*:65535,1:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0
sig = *:64:0:*:65535,2:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0
sig = *:64:0:*:65535,3:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0
sig = *:64:0:*:65535,4:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0

; src: [S] and [Z] as above. The last two take any window: [Z] build half
; has 834 SYNs in this layout (any TTL), all macOS or iOS, 4 of them (TTL
; 64, macOS) with windows other than 65535 (a tuned buffer or a rewrite).
label = g:unix:macOS or iOS:
sig = *:64:0:*:65535,*:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0
sig = 4:64:0:*:65535,*:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0
sig = 6:64:0:*:65535,*:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0
sig = 4:64:0:*:*,*:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0
sig = 4:64:0:*:*,*:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0

; ---- FreeBSD and other BSDs ---------------------------------------------
; FreeBSD 9 to 14 offer net.inet.tcp.recvspace (64 KB, so 65535) with the
; scale for kern.ipc.maxsockbuf (2 MB, so 6), options mss, nop, ws, sok,
; ts (src: [K] FreeBSD's tcp_var.h / tcp_syncache defaults; [S]). The SYN does
; not tell 11 from 14. IPv6 carries a flow label ([K] ip6_auto_flowlabel).
label = s:unix:FreeBSD:9.x or newer
sig = *:64:0:*:65535,6:mss,nop,ws,sok,ts:df,id+:0
sig = 6:64:0:*:65535,6:mss,nop,ws,sok,ts:flow:0

; The same SYN with IP ID 0: FreeBSD's ip_id.c gives DF datagrams ID 0
; when net.inet.ip.rfc6864 is on, its default in the current source. 10.4's
; ip_id.c has no such rule (its SYNs are the id+ form above); the release
; that first did so is not established here, so the label names none.
; IPv6 has no ID: the flow-label form above covers it. src: [K] those
; sources; the Netflix FreeBSD servers' answers with ID 0 ([C], SYN+ACK
; entry below). [Z]: 3 of 6,508 SYNs have this exact form (TTL 64, scale 6),
; none labelled FreeBSD (proxies, as the note in signatures.md says); the
; entry above already named them by a fuzzy match, so only the version
; goes. The layout with other scales (73 SYNs, every family) stays unnamed.
label = s:unix:FreeBSD:
sig = 4:64:0:*:65535,6:mss,nop,ws,sok,ts:df:0

; src: [S]
label = s:unix:FreeBSD:8.x
sig = *:64:0:*:65535,3:mss,nop,ws,sok,ts:df,id+:0

; p0f 3.09b's generic FreeBSD entry (65535 with any scale) is left out:
; the [Z] build half has 197 SYNs in this layout from every family
; (proxies and VPN exits), 80 with 65535 and scales 12, 9, 5 or 4, and all
; 80 FreeBSD verdicts stock gave there were wrong. They now match nothing
; (3 with scale 6 still get the entry above).

; src: [S]
label = s:unix:OpenBSD:3.x
sig = *:64:0:*:16384,0:mss,nop,nop,sok,nop,ws,nop,nop,ts:df,id+:0

; src: [S]
label = s:unix:OpenBSD:4.x-5.x
sig = *:64:0:*:16384,3:mss,nop,nop,sok,nop,ws,nop,nop,ts:df,id+:0

; src: [S]
label = s:unix:Solaris:8
sig = *:64:0:*:32850,1:nop,ws,nop,nop,ts,nop,nop,sok,mss:df,id+:0

; src: [S]
label = s:unix:Solaris:10
sig = *:64:0:*:mss*34,0:mss,nop,ws,nop,nop,sok:df,id+:0

; src: [S]
label = s:unix:OpenVMS:8.x
sig = 4:128:0:1460:mtu*2,0:mss,nop,ws::0

; src: [S]
label = s:unix:OpenVMS:7.x
sig = 4:64:0:1460:61440,0:mss,nop,ws::0

; src: [S]
label = s:other:NeXTSTEP:
sig = 4:64:0:1024:mss*4,0:mss::0

; src: [S]
label = s:unix:Tru64:4.x
sig = 4:64:0:1460:32768,0:mss,nop,ws:df,id+:0

; ---- Scanners and tools ---------------------------------------------------
; src: [S]; [N] nmap 7.93 -sS (window 1024, MSS only, random TTL).
label = s:!:NMap:SYN scan
sys = @unix,@win
sig = *:64-:0:1460:1024,0:mss::0
sig = *:64-:0:1460:2048,0:mss::0
sig = *:64-:0:1460:3072,0:mss::0
sig = *:64-:0:1460:4096,0:mss::0

; src: [S]
label = s:!:NMap:OS detection
sys = @unix,@win
sig = *:64-:0:265:512,0:mss,sok,ts:ack+:0
sig = *:64-:0:0:4,10:sok,ts,ws,eol+0:ack+:0
sig = *:64-:0:1460:1,10:ws,nop,mss,ts,sok:ack+:0
sig = *:64-:0:536:16,10:mss,sok,ts,ws,eol+0:ack+:0
sig = *:64-:0:640:4,5:ts,nop,nop,ws,nop,mss:ack+:0
sig = *:64-:0:1400:63,0:mss,ws,sok,ts,eol+0:ack+:0
sig = *:64-:0:265:31337,10:ws,nop,mss,ts,sok:ack+:0
sig = *:64-:0:1460:3,10:ws,nop,mss,sok,nop,nop:ecn,uptr+:0

; masscan: TTL 255, window 1024, no options, no DF. src: [N] masscan 1.3.2;
; [K] masscan's template SYN (templ-pkt.c).
label = s:!:masscan:
sys = @unix,@win
sig = 4:255:0:0:1024,0:::0

; ZMap 2.x: TTL 255, window 65535, no options, no DF. src: [N] zmap 2.1.1;
; [K] ZMap's probe module (fixed IP ID 54321).
label = s:!:ZMap:
sys = @unix,@win
sig = 4:255:0:0:65535,0:::0

; Scapy's default TCP packet: window 8192, no options, sequence number 0.
; src: [N] scapy 2.5; [K] scapy's TCP field defaults (seq=0, window=8192).
label = s:!:Scapy:default SYN
sys = @unix,@win
sig = *:64:0:0:8192,0::seq-:0

; src: [S]
label = s:unix:p0f:sendsyn utility
sig = *:192:0:1331:1337,0:mss,nop,eol+18::0
sig = *:192:0:1331:1337,0:mss,ts,nop,eol+8::0
sig = *:192:0:1331:1337,5:mss,ws,nop,eol+15::0
sig = *:192:0:1331:1337,0:mss,sok,nop,eol+16::0
sig = *:192:0:1331:1337,5:mss,ws,ts,nop,eol+5::0
sig = *:192:0:1331:1337,0:mss,sok,ts,nop,eol+6::0
sig = *:192:0:1331:1337,5:mss,ws,sok,nop,eol+13::0
sig = *:192:0:1331:1337,5:mss,ws,sok,ts,nop,eol+3::0

; ---- Devices --------------------------------------------------------------
; src: [S]
label = s:other:Blackberry:
sig = *:128:0:1452:65535,0:mss,nop,nop,sok,nop,nop,ts::0

; src: [S]
label = s:other:Nintendo:3DS
sig = *:64:0:1360:32768,0:mss,nop,nop,sok:df,id+:0

; src: [S]
label = s:other:Nintendo:Wii
sig = 4:64:0:1460:32768,0:mss,nop,nop,sok:df,id+:0

; src: [S]
label = s:unix:BaiduSpider:
sig = *:64:0:1460:mss*4,7:mss,sok,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,ws:df,id+:0
sig = *:64:0:1460:mss*4,2:mss,sok,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,ws:df,id+:0

; ------------------------------------------------------------------------
; TCP SYN+ACK signatures: the answering server.
; ------------------------------------------------------------------------
[tcp:response]

; A Linux 4.19+ server answers with the largest multiple of its effective
; MSS (MSS - 12 when timestamps are on) up to 65535, its own scale (7 with
; a 6 MB buffer maximum, 10 with 32 MB), DF and an IP ID of 0. src: [N]
; python http.server, nginx, Apache, lighttpd and Caddy on this kernel
; (6.18), IPv4 and IPv6, answering clients with and without timestamps;
; [K] the same window rule as for the SYN (tcp_select_initial_window).
label = s:unix:Linux:4.19 or newer
sig = 4:64:0:*:mss*45,7:mss,sok,ts,nop,ws:df:0
sig = 4:64:0:*:mss*44,7:mss,nop,nop,sok,nop,ws:df:0
sig = 6:64:0:*:mss*45,7:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*45,7:mss,nop,nop,sok,nop,ws:flow:0

; src: [N] as above, with this kernel's default 32 MB buffer maximum.
label = s:unix:Linux:6.x (32 MB buffers)
sig = 4:64:0:*:mss*45,10:mss,sok,ts,nop,ws:df:0
sig = 4:64:0:*:mss*44,10:mss,nop,nop,sok,nop,ws:df:0
sig = 6:64:0:*:mss*45,10:mss,sok,ts,nop,ws:flow:0
sig = 6:64:0:*:mss*45,10:mss,nop,nop,sok,nop,ws:flow:0


; src: [N] this machine's loopback, as for the SYN.
label = s:unix:Linux:6.x (loopback)
sig = 4:64:0:65495:mss*1,10:mss,sok,ts,nop,ws:df:0
sig = 6:64:0:65476:mss*1,10:mss,sok,ts,nop,ws:flow:0

; src: [S] for every entry below.
label = s:unix:Linux:3.x
sig = *:64:0:*:mss*10,0:mss:df:0
sig = *:64:0:*:mss*10,0:mss,sok,ts:df:0
sig = *:64:0:*:mss*10,0:mss,nop,nop,ts:df:0
sig = *:64:0:*:mss*10,0:mss,nop,nop,sok:df:0
sig = *:64:0:*:mss*10,*:mss,nop,ws:df:0
sig = *:64:0:*:mss*10,*:mss,sok,ts,nop,ws:df:0
sig = *:64:0:*:mss*10,*:mss,nop,nop,ts,nop,ws:df:0
sig = *:64:0:*:mss*10,*:mss,nop,nop,sok,nop,ws:df:0

; src: [S]
label = s:unix:Linux:2.4-2.6
sig = *:64:0:*:mss*4,0:mss:df:0
sig = *:64:0:*:mss*4,0:mss,sok,ts:df:0
sig = *:64:0:*:mss*4,0:mss,nop,nop,ts:df:0
sig = *:64:0:*:mss*4,0:mss,nop,nop,sok:df:0

; src: [S]
label = s:unix:Linux:2.4.x
sig = *:64:0:*:mss*4,0:mss,nop,ws:df:0
sig = *:64:0:*:mss*4,0:mss,sok,ts,nop,ws:df:0
sig = *:64:0:*:mss*4,0:mss,nop,nop,ts,nop,ws:df:0
sig = *:64:0:*:mss*4,0:mss,nop,nop,sok,nop,ws:df:0

; src: [S]
label = s:unix:Linux:2.6.x
sig = *:64:0:*:mss*4,*:mss,nop,ws:df:0
sig = *:64:0:*:mss*4,*:mss,sok,ts,nop,ws:df:0
sig = *:64:0:*:mss*4,*:mss,nop,nop,ts,nop,ws:df:0
sig = *:64:0:*:mss*4,*:mss,nop,nop,sok,nop,ws:df:0

; Windows 10 and 11, and Server 2016 and newer (the same NT 10.0 stack, as
; for the SYN): 65535 with scale 8, answering in the option layout of its
; own SYN. Windows 7 and 8 answer 8192 (stock's entry below). No fact seen
; separates the server releases from the desktop ones.
; src: [C] TTL 128 SYN+ACKs without timestamps: nDPI anydesk.pcapng
; 192.168.1.187, whose own SYN in the same capture is Windows 10/11's
; (mss*44,8); nDPI radmin3.pcapng (Radmin
; Server, a Windows-only program); nDPI nomachine.pcapng; Microsoft's own
; servers (Teams, Azure, Office: 13.107.x, 52.113.x, 52.114.x, 40.113.10.47,
; 40.97.160.2, 13.81.118.91) in nDPI teams.pcap, sites.pcapng and
; tls_certificate_too_long.pcap; a BitTorrent peer in
; bittorrent_tcp_miss.pcapng. 32 SYN+ACKs in 7 captures, all 65535,8.
label = s:win:Windows:10, 11 or Server 2016+
sig = *:128:0:*:65535,8:mss,nop,ws,nop,nop,sok:df,id+:0

; src: [S]
label = s:win:Windows:XP
sig = *:128:0:*:65535,0:mss:df,id+:0
sig = *:128:0:*:65535,0:mss,nop,ws:df,id+:0
sig = *:128:0:*:65535,0:mss,nop,nop,sok:df,id+:0
sig = *:128:0:*:65535,0:mss,nop,nop,ts:df,id+,ts1-:0
sig = *:128:0:*:65535,0:mss,nop,ws,nop,nop,sok:df,id+:0
sig = *:128:0:*:65535,0:mss,nop,ws,nop,nop,ts:df,id+,ts1-:0
sig = *:128:0:*:65535,0:mss,nop,nop,ts,nop,nop,sok:df,id+,ts1-:0
sig = *:128:0:*:65535,0:mss,nop,ws,nop,nop,ts,nop,nop,sok:df,id+,ts1-:0
sig = *:128:0:*:16384,0:mss:df,id+:0
sig = *:128:0:*:16384,0:mss,nop,ws:df,id+:0
sig = *:128:0:*:16384,0:mss,nop,nop,sok:df,id+:0
sig = *:128:0:*:16384,0:mss,nop,nop,ts:df,id+,ts1-:0
sig = *:128:0:*:16384,0:mss,nop,ws,nop,nop,sok:df,id+:0
sig = *:128:0:*:16384,0:mss,nop,ws,nop,nop,ts:df,id+,ts1-:0
sig = *:128:0:*:16384,0:mss,nop,nop,ts,nop,nop,sok:df,id+,ts1-:0
sig = *:128:0:*:16384,0:mss,nop,ws,nop,nop,ts,nop,nop,sok:df,id+,ts1-:0

; src: [S]
label = s:win:Windows:7 or 8
sig = *:128:0:*:8192,0:mss:df,id+:0
sig = *:128:0:*:8192,0:mss,sok,ts:df,id+:0
sig = *:128:0:*:8192,8:mss,nop,ws:df,id+:0
sig = *:128:0:*:8192,0:mss,nop,nop,ts:df,id+:0
sig = *:128:0:*:8192,0:mss,nop,nop,sok:df,id+:0
sig = *:128:0:*:8192,8:mss,nop,ws,sok,ts:df,id+:0
sig = *:128:0:*:8192,8:mss,nop,ws,nop,nop,ts:df,id+:0
sig = *:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0

; FreeBSD answers with net.inet.tcp.recvspace (64 KB, so 65535), the scale
; for kern.ipc.maxsockbuf (2 MB, so 6) and options mss, nop, ws, sok, ts
; (as its SYN above). Current releases send DF with an IP ID of 0: [K]
; sys/netinet/ip_id.c, ip_rfc6864 = 1 by default ("IP ID only for
; non-atomic datagrams"), so stock's id+ forms below are older releases.
; Which release first did so is not established here (Netflix's -CURRENT
; of 2017 does), so the label names no version.
; src: [K] those defaults; [C] Netflix Open Connect
; appliances (23.246.x.x in nDPI netflix.pcap, 2017, 5 servers; Netflix
; documents FreeBSD-CURRENT with nginx on them, openconnect.netflix.com
; "Appliance Software") answer in this layout with DF and ID 0, at scale 9
; (their own, larger buffers); hence the generic entry for other scales.
; Without timestamps the answer (mss, nop, ws, sok, eol) is also macOS's
; at scale 6, so that form has no entry.
label = s:unix:FreeBSD:
sig = *:64:0:*:65535,6:mss,nop,ws,sok,ts:df:0

; src: as above (the Netflix appliances' scale 9).
label = g:unix:FreeBSD:
sig = *:64:0:*:65535,*:mss,nop,ws,sok,ts:df:0

; src: [S]
label = s:unix:FreeBSD:9.x
sig = *:64:0:*:65535,6:mss,nop,ws:df,id+:0
sig = *:64:0:*:65535,6:mss,nop,ws,sok,ts:df,id+:0
sig = *:64:0:*:65535,6:mss,nop,ws,sok,eol+1:df,id+:0
sig = *:64:0:*:65535,6:mss,nop,ws,nop,nop,ts:df,id+:0

; src: [S]
label = s:unix:FreeBSD:8.x
sig = *:64:0:*:65535,3:mss,nop,ws:df,id+:0
sig = *:64:0:*:65535,3:mss,nop,ws,sok,ts:df,id+:0
sig = *:64:0:*:65535,3:mss,nop,ws,sok,eol+1:df,id+:0
sig = *:64:0:*:65535,3:mss,nop,ws,nop,nop,ts:df,id+:0

; src: [S]
label = s:unix:FreeBSD:8.x-9.x
sig = *:64:0:*:65535,0:mss,sok,ts:df,id+:0
sig = *:64:0:*:65535,0:mss,sok,eol+1:df,id+:0
sig = *:64:0:*:65535,0:mss,nop,nop,ts:df,id+:0

; src: [S]
label = s:unix:OpenBSD:5.x
sig = *:64:0:1460:16384,0:mss,nop,nop,sok:df,id+:0
sig = *:64:0:1460:16384,3:mss,nop,ws:df,id+:0
sig = *:64:0:1460:16384,3:mss,nop,nop,sok,nop,ws:df,id+:0
sig = *:64:0:1460:16384,0:mss,nop,nop,ts:df,id+:0
sig = *:64:0:1460:16384,0:mss,nop,nop,sok,nop,nop,ts:df,id+:0
sig = *:64:0:1460:16384,3:mss,nop,ws,nop,nop,ts:df,id+:0
sig = *:64:0:1460:16384,3:mss,nop,nop,sok,nop,ws,nop,nop,ts:df,id+:0

; macOS (or iOS: as for the SYN, nothing separates them) answers with its
; SYN's window, scale and option layout, leaving out timestamps when the
; client sent none. src: [C], in each of
; which the same host's own SYN is in Apple's layout: over loopback (MSS
; 16344, lo0's MTU of 16384; 16324 over IPv6) nDPI selfsigned.pcap and
; nats.pcap (scale 5), opc-ua.pcap (scale 6), arkime http-empty-useragent.pcap
; (IPv6, flow label, scale 5) and ssl-selfsign.pcap (scale 5, non-zero IP
; ID, as [Z]'s id+ SYNs); over Ethernet nDPI anydesk.pcapng 192.168.1.178,
; answering a client without timestamps (mss, nop, ws, sok, eol, as [Z]'s
; timestamp-less Apple SYNs). [Z]: the layout is Apple's alone. The
; scale-6 and IPv6 forms not seen here follow the SYN entries by that rule,
; except scale 6 without timestamps, which is also FreeBSD's default
; answer (below), so no new entry claims it (stock's FreeBSD 9.x id+ form
; names it fuzzily).
label = s:unix:macOS or iOS:
sig = 4:64:0:*:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0
sig = 4:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0
sig = 4:64:0:*:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0
sig = 6:64:0:*:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0
sig = 6:64:0:*:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0
sig = 4:64:0:*:65535,5:mss,nop,ws,sok,eol+1:df:0

; src: [S]
label = s:unix:Mac OS X:10.x
sig = *:64:0:*:65535,0:mss,nop,ws:df,id+:0
sig = *:64:0:*:65535,0:mss,sok,eol+1:df,id+:0
sig = *:64:0:*:65535,0:mss,nop,nop,ts:df,id+:0
sig = *:64:0:*:65535,0:mss,nop,ws,sok,eol+1:df,id+:0
sig = *:64:0:*:65535,0:mss,nop,ws,nop,nop,ts:df,id+:0
sig = *:64:0:*:65535,0:mss,nop,nop,ts,sok,eol+1:df,id+:0
sig = *:64:0:*:65535,0:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0

; src: [S]
label = s:unix:Solaris:6
sig = 4:255:0:*:mss*7,0:mss:df,id+:0
sig = 4:255:0:*:mss*7,0:nop,ws,mss:df,id+:0
sig = 4:255:0:*:mss*7,0:nop,nop,ts,mss:df,id+:0
sig = 4:255:0:*:mss*7,0:nop,nop,ts,nop,ws,mss:df,id+:0

; src: [S]
label = s:unix:Solaris:8
sig = *:64:0:*:mss*19,0:mss:df,id+:0
sig = *:64:0:*:mss*19,0:nop,ws,mss:df,id+:0
sig = *:64:0:*:mss*19,0:nop,nop,ts,mss:df,id+:0
sig = *:64:0:*:mss*19,0:nop,nop,sok,mss:df,id+:0
sig = *:64:0:*:mss*19,0:nop,nop,ts,nop,ws,mss:df,id+:0
sig = *:64:0:*:mss*19,0:nop,ws,nop,nop,sok,mss:df,id+:0
sig = *:64:0:*:mss*19,0:nop,nop,ts,nop,nop,sok,mss:df,id+:0
sig = *:64:0:*:mss*19,0:nop,nop,ts,nop,ws,nop,nop,sok,mss:df,id+:0

; src: [S]
label = s:unix:Solaris:10
sig = *:64:0:*:mss*37,0:mss:df,id+:0
sig = *:64:0:*:mss*37,0:mss,nop,ws:df,id+:0
sig = *:64:0:*:mss*37,0:nop,nop,ts,mss:df,id+:0
sig = *:64:0:*:mss*37,0:mss,nop,nop,sok:df,id+:0
sig = *:64:0:*:mss*37,0:nop,nop,ts,mss,nop,ws:df,id+:0
sig = *:64:0:*:mss*37,0:mss,nop,ws,nop,nop,sok:df,id+:0
sig = *:64:0:*:mss*37,0:nop,nop,ts,mss,nop,nop,sok:df,id+:0
sig = *:64:0:*:mss*37,0:nop,nop,ts,mss,nop,ws,nop,nop,sok:df,id+:0

; src: [S]
label = s:unix:HP-UX:11.x
sig = *:64:0:*:32768,0:mss:df,id+:0
sig = *:64:0:*:32768,0:mss,ws,nop:df,id+:0
sig = *:64:0:*:32768,0:mss,nop,nop,ts:df,id+:0
sig = *:64:0:*:32768,0:mss,nop,nop,sok:df,id+:0
sig = *:64:0:*:32768,0:mss,ws,nop,nop,nop,ts:df,id+:0
sig = *:64:0:*:32768,0:mss,nop,nop,sok,ws,nop:df,id+:0
sig = *:64:0:*:32768,0:mss,nop,nop,sok,nop,nop,ts:df,id+:0
sig = *:64:0:*:32768,0:mss,nop,nop,sok,ws,nop,nop,nop,ts:df,id+:0

; src: [S]
label = s:other:OpenVMS:7.x
sig = 4:64:0:1460:3993,0:mss::0
sig = 4:64:0:1460:3993,0:mss,nop,ws::0

; src: [S]
label = s:unix:Tru64:4.x
sig = 4:64:0:1460:mss*25,0:mss,nop,ws:df,id+:0
sig = 4:64:0:1460:mss*25,0:mss:df,id+:0

; HTTP request signatures (clients); ua_os maps User-Agent text to OS names.
; ------------------------------------------------------------------------
; HTTP request signatures: the client program. ua_os maps User-Agent text
; to the OS names above, for the "dishonest" check.
; ------------------------------------------------------------------------
[http:request]

; The OS names a User-Agent maps to must be this database's names, or
; every request a signature above names raises a false "host change"
; (ua_vs_os) against the client's SYN verdict: an Android User-Agent also
; says "Linux" (so Android comes first), and Apple's SYNs are "macOS or
; iOS", not stock's "iOS" or "Mac OS X". src: [K] p0f's ua_os rule (first
; entry whose text is in the User-Agent); the names of the SYN entries above.
ua_os = Android,Linux,Windows,macOS or iOS=[iPad],macOS or iOS=[iPhone],macOS or iOS=[Mac OS X],FreeBSD,OpenBSD,NetBSD,Solaris=[SunOS]

; src: [S] for every entry below.
label = s:!:Firefox:2.x
sys = Windows,@unix
sig = *:Host,User-Agent,Accept=[,*/*;q=],?Accept-Language,Accept-Encoding=[gzip,deflate],Accept-Charset=[utf-8;q=0.7,*;q=0.7],Keep-Alive=[300],Connection=[keep-alive]::Firefox/

; src: [S]
label = s:!:Firefox:3.x
sys = Windows,@unix
sig = *:Host,User-Agent,Accept=[,*/*;q=],?Accept-Language,Accept-Encoding=[gzip,deflate],Accept-Charset=[utf-8;q=0.7,*;q=0.7],Keep-Alive=[115],Connection=[keep-alive],?Referer::Firefox/

; src: [S]
label = s:!:Firefox:4.x
sys = Windows,@unix
sig = *:Host,User-Agent,Accept=[,*/*;q=],?Accept-Language,Accept-Encoding=[gzip, deflate],Accept-Charset=[utf-8;q=0.7,*;q=0.7],Keep-Alive=[115],Connection=[keep-alive],?Referer::Firefox/

; src: [S]
label = s:!:Firefox:5.x-9.x
sys = Windows,@unix
sig = *:Host,User-Agent,Accept=[,*/*;q=],?Accept-Language,Accept-Encoding=[gzip, deflate],Accept-Charset=[utf-8;q=0.7,*;q=0.7],?DNT=[1],Connection=[keep-alive],?Referer:Keep-Alive:Firefox/
sig = *:Host,User-Agent,Accept=[,*/*;q=],?Accept-Language,Accept-Encoding=[gzip, deflate],Accept-Charset=[UTF-8,*],?DNT=[1],Connection=[keep-alive],?Referer:Keep-Alive:Firefox/
sig = *:Host,User-Agent,Accept=[,*/*;q=],?Accept-Language,Accept-Encoding=[gzip, deflate],Accept-Charset=[UTF-8,*],?DNT=[1],?Referer,Connection=[keep-alive]:Keep-Alive:Firefox/
sig = *:Host,User-Agent,Accept=[,*/*;q=],?Accept-Language,Accept-Encoding=[gzip, deflate],Accept-Charset=[utf-8;q=0.7,*;q=0.7],?DNT=[1],?Referer,Connection=[keep-alive]:Keep-Alive:Firefox/
sig = *:Host,User-Agent,Accept=[,*/*;q=],?Accept-Language,Accept-Encoding=[gzip, deflate],Accept-Charset=[utf-8;q=0.7,*;q=0.7],?Referer,?DNT=[1],Connection=[keep-alive]:Keep-Alive:Firefox/

; src: [S]
label = s:!:Firefox:10.x or newer
sys = Windows,@unix
sig = *:Host,User-Agent,Accept=[,*/*;q=],?Accept-Language=[;q=],Accept-Encoding=[gzip, deflate],?DNT=[1],Connection=[keep-alive],?Referer:Accept-Charset,Keep-Alive:Firefox/
sig = *:Host,User-Agent,Accept=[,*/*;q=],?Accept-Language=[;q=],Accept-Encoding=[gzip, deflate],?DNT=[1],?Referer,Connection=[keep-alive]:Accept-Charset,Keep-Alive:Firefox/

; src: [S]
label = s:!:Firefox:10.x or Safari 5.x
sys = Windows,@unix
sig = *:Host,User-Agent,Accept=[xml;q=0.9,*/*;q=0.8],Accept-Language,Accept-Encoding=[gzip, deflate],Connection=[keep-alive]:Keep-Alive,Accept-Charset,DNT,Referer:Gecko

; src: [S]
label = s:!:MSIE:8 or newer
sys = Windows
sig = 1:Accept=[*/*],?Referer,?Accept-Language,User-Agent,Accept-Encoding=[gzip, deflate],Host,Connection=[Keep-Alive]:Keep-Alive,Accept-Charset,UA-CPU:Trident/
sig = 1:Accept=[*/*],?Referer,?Accept-Language,Accept-Encoding=[gzip, deflate],User-Agent,Host,Connection=[Keep-Alive]:Keep-Alive,Accept-Charset:(compatible; MSIE

; src: [S]
label = s:!:MSIE:7
sys = Windows
sig = 1:Accept=[*/*],?Referer,?Accept-Language,UA-CPU,User-Agent,Accept-Encoding=[gzip, deflate],Host,Connection=[Keep-Alive]:Keep-Alive,Accept-Charset:(compatible; MSIE

; src: [S]
label = s:!:MSIE:6
sys = Windows
sig = 0:Accept=[*/*],?Referer,User-Agent,Host:Keep-Alive,Connection,Accept-Encoding,Accept-Language,Accept-Charset:(compatible; MSIE
sig = 1:Accept=[*/*],Connection=[Keep-Alive],Host,?Pragma=[no-cache],?Range,?Referer,User-Agent:Keep-Alive,Accept-Encoding,Accept-Language,Accept-Charset:(compatible; MSIE

; src: [S]
label = s:!:Chrome:11.x to 26.x
sys = Windows,@unix
sig = 1:Host,Connection=[keep-alive],User-Agent,Accept=[*/*],?Referer,Accept-Encoding=[gzip,deflate,sdch],Accept-Language,Accept-Charset=[utf-8;q=0.7,*;q=0.3]:: Chrom
sig = 1:Host,Connection=[keep-alive],User-Agent,Accept=[*/*],?Referer,Accept-Encoding=[gzip,deflate,sdch],Accept-Language,Accept-Charset=[UTF-8,*;q=0.5]:: Chrom
sig = 1:Host,User-Agent,Accept=[*/*],?Referer,Accept-Encoding=[gzip,deflate,sdch],Accept-Language,Accept-Charset=[utf-8;q=0.7,*;q=0.3],Connection=[keep-alive]::Chrom

; src: [S]
label = s:!:Chrome:27.x to 42.x
sys = Windows,@unix
sig = 1:Host,Connection=[keep-alive],Accept=[*/*],User-Agent,?Referer,Accept-Encoding=[gzip,deflate,sdch],Accept-Language:Accept-Charset,Keep-Alive: Chrom

; src: [S]
label = s:!:Chrome:43.x or 50.x
sys = Windows,@unix
sig = 1:Host,Connection=[keep-alive],Accept=[*/*],User-Agent,?Referer,Accept-Encoding=[gzip, deflate, sdch],Accept-Language:Accept-Charset,Keep-Alive: Chrom

; src: [S]
label = s:!:Chrome:51.x or newer
sys = Windows,@unix
sig = 1:Host,Connection=[keep-alive],Upgrade-Insecure-Requests=[1],User-Agent,Accept=[*/*],Accept-Encoding=[gzip, deflate, sdch],Accept-Language:Accept-Charset,Keep-Alive: Chrom

; src: [S]
label = s:!:Opera:19.x or newer
sys = Windows,@unix
sig = 1:Host,Connection=[keep-alive],Accept=[*/*;q=0.8],User-Agent,Accept-Encoding=[gzip,deflate,lzma,sdch],Accept-Language=[;q=0.]:Accept-Charset,Keep-Alive:OPR/

; src: [S]
label = s:!:Opera:15.x-18.x
sys = Windows,@unix
sig = 1:Host,Connection=[keep-alive],Accept=[*/*;q=0.8],User-Agent,Accept-Encoding=[gzip, deflate],Accept-Language=[;q=0.]:Accept-Charset,Keep-Alive:OPR/

; src: [S]
label = s:!:Opera:11.x-14.x
sys = Windows,@unix
sig = 1:User-Agent,Host,Accept=[*/*;q=0.1],?Accept-Language=[;q=0.],Accept-Encoding=[gzip, deflate],Connection=[Keep-Alive]:Accept-Charset,X-OperaMini-Phone-UA:) Presto/

; src: [S]
label = s:!:Opera:10.x
sys = Windows,@unix
sig = 1:User-Agent,Host,Accept=[*/*;q=0.1],Accept-Language=[;q=0.],Accept-Charset=[utf-8, utf-16, *;q=0.1],Accept-Encoding=[deflate, gzip, x-gzip, identity, *;q=0],Connection=[Keep-Alive]::Presto/
sig = 1:User-Agent,Host,Accept=[*/*;q=0.1],Accept-Language=[en],Accept-Encoding=[gzip, deflate],Connection=[Keep-Alive]:Accept-Charset:Opera/

; src: [S]
label = s:!:Opera:Mini
sys = Linux
sig = 1:User-Agent,Host,Accept=[*/*;q=0.1],Accept-Language=[;q=0.],Accept-Encoding=[gzip, deflate],Connection=[Keep-Alive],X-OperaMini-Phone-UA,X-OperaMini-Features,X-OperaMini-Phone,x-forwarded-for:Accept-Charset:Opera Mini/

; src: [S]
label = s:!:Opera:on Nintendo Wii
sys = Nintendo
sig = 1:User-Agent,Host,Accept=[*/*;q=0.1],Accept-Language=[en],Accept-Charset=[iso-8859-1, utf-8, utf-16, *;q=0.1],Accept-Encoding=[deflate, gzip, x-gzip, identity, *;q=0],Connection=[Keep-Alive]::Nintendo

; src: [S]
label = s:!:Android:2.x
sys = Linux
sig = 1:Host,Accept-Encoding=[gzip],Accept-Language,User-Agent,Accept=[,*/*;q=0.5],Accept-Charset=[utf-16, *;q=0.7]:Connection:Android
sig = 1:Host,Connection=[keep-alive],Accept-Encoding=[gzip],Accept-Language,User-Agent,Accept=[,*/*;q=0.5],Accept-Charset=[utf-16, *;q=0.7]::Android
sig = 1:Host,Accept-Encoding=[gzip],Accept-Language=[en-US],Accept=[*/*;q=0.5],User-Agent,Accept-Charset=[utf-16, *;q=0.7]:Connection:Android

; src: [S]
label = s:!:Android:4.x
sys = Linux
sig = 1:Host,Connection=[keep-alive],Accept=[,*/*;q=0.8],User-Agent,Accept-Encoding=[gzip,deflate],Accept-Language,Accept-Charset=[utf-16, *;q=0.7]::Android

; src: [S]
label = s:!:Safari:7 or newer
sys = @unix
sig = *:Host,Accept-Encoding=[gzip, deflate],Connection=[keep-alive],Accept=[*/*],User-Agent,Accept-Language,?Referer,?DNT:Accept-Charset,Keep-Alive:KHTML, like Gecko)

; src: [S]
label = s:!:Safari:5.1-6
sys = Windows,@unix
sig = *:Host,User-Agent,Accept=[*/*],?Referer,Accept-Language,Accept-Encoding=[gzip, deflate],Connection=[keep-alive]:Accept-Charset:KHTML, like Gecko)
sig = *:Host,User-Agent,Accept=[*/*],?Referer,Accept-Encoding=[gzip, deflate],Accept-Language,Connection=[keep-alive]:Accept-Charset:KHTML, like Gecko)

; src: [S]
label = s:!:Safari:5.0 or earlier
sys = Mac OS X
sig = 0:Host,User-Agent,Connection=[close]:Accept,Accept-Encoding,Accept-Language,Accept-Charset:CFNetwork/

; src: [S]
label = s:!:Konqueror:4.6 or earlier
sys = Linux,FreeBSD,OpenBSD
sig = 1:Host,Connection=[Keep-Alive],User-Agent,?Pragma,?Cache-control,Accept=[*/*],Accept-Encoding=[x-gzip, x-deflate, gzip, deflate],Accept-Charset=[;q=0.5, *;q=0.5],Accept-Language::Konqueror/

; src: [S]
label = s:!:Konqueror:4.7 or newer
sys = Linux,FreeBSD,OpenBSD
sig = 1:Host,Connection=[keep-alive],User-Agent,Accept=[*/*],Accept-Encoding=[gzip, deflate, x-gzip, x-deflate],Accept-Charset=[,*;q=0.5],Accept-Language::Konqueror/

; src: [S]
label = s:!:BaiduSpider:
sys = BaiduSpider
sig = 1:Host,Connection=[close],User-Agent,Accept=[*/*]:Accept-Encoding,Accept-Language,Accept-Charset:Baiduspider-image
sig = 1:Host,Accept-Language=[zh-cn],Connection=[close],User-Agent:Accept,Accept-Encoding,Accept-Charset:Baiduspider
sig = 1:Host,Connection=[close],User-Agent,Accept-Language=[zh-cn,zh-tw],Accept-Encoding=[gzip],Accept=[*/*]:Accept-Charset:Baiduspider
sig = 1:Host,Connection=[close],User-Agent,Accept-Language=[tr-TR],Accept-Encoding=[gzip],Accept=[*/*]:Accept-Charset:Baiduspider
sig = 1:Host,Connection=[close],User-Agent,Accept-Encoding=[gzip],?Accept-Language=[zh-cn,zh-tw],Accept=[*/*]:Accept-Charset:Baiduspider
sig = 1:Host,Connection=[close],User-Agent,Accept-Encoding=[gzip],Accept-Language=[tr-TR],Accept=[*/*]:Accept-Charset:Baiduspider

; src: [S]
label = s:!:Googlebot:
sys = Linux
sig = 1:Host,Connection=[Keep-alive],Accept=[*/*],From=[googlebot(at)googlebot.com],User-Agent,Accept-Encoding=[gzip,deflate],?If-Modified-Since:Accept-Language,Accept-Charset:Googlebot
sig = 1:Host,Connection=[Keep-alive],Accept=[text/plain],Accept=[text/html],From=[googlebot(at)googlebot.com],User-Agent,Accept-Encoding=[gzip,deflate]:Accept-Language,Accept-Charset:Googlebot

; src: [S]
label = s:!:Googlebot:feed fetcher
sys = Linux
sig = 1:Host,Connection=[Keep-alive],Accept=[*/*],User-Agent,Accept-Encoding=[gzip,deflate],?If-Modified-Since:Accept-Language,Accept-Charset:-Google
sig = 1:User-Agent,?X-shindig-dos=[on],Cache-Control,Host,?X-Forwarded-For,Accept-Encoding=[gzip],?Accept-Language:Connection,Accept,Accept-Charset:Feedfetcher-Google

; src: [S]
label = s:!:Bingbot:
sys = Windows
sig = 1:Cache-Control,Connection=[Keep-Alive],Pragma=[no-cache],Accept=[*/*],Accept-Encoding,Host,User-Agent:Accept-Language,Accept-Charset:bingbot/

; src: [S]
label = s:!:MSNbot:
sys = Windows
sig = 1:Connection=[Close],Accept,Accept-Encoding=[gzip, deflate],From=[msnbot(at)microsoft.com],Host,User-Agent:Accept-Language,Accept-Charset:msnbot

; src: [S]
label = s:!:Yandex:crawler
sys = FreeBSD
sig = 1:Host,Connection=[Keep-Alive],Accept=[*/*],Accept-Encoding=[gzip,deflate],Accept-Language=[en-us, en;q=0.7, *;q=0.01],User-Agent,From=[support@search.yandex.ru]:Accept-Charset:YandexBot/
sig = 1:Host,Connection=[Keep-Alive],Accept=[image/jpeg, image/pjpeg, image/png, image/gif],User-Agent,From=[support@search.yandex.ru]:Accept-Encoding,Accept-Language,Accept-Charset:YandexImages/
sig = 1:Host,Connection=[Keep-Alive],User-Agent,From=[support@search.yandex.ru]:Accept,Accept-Encoding,Accept-Language,Accept-Charset:YandexBot/

; src: [S]
label = s:!:Yahoo:crawler
sys = Linux
sig = 0:Host,User-Agent,Accept=[,image/png,*/*;q=0.5],Accept-Language=[en-us,en;q=0.5],Accept-Encoding=[gzip],Accept-Charset=[,utf-8;q=0.7,*;q=0.7]:Connection:Slurp

; src: [S]
label = s:!:Flipboard:crawler
sys = Linux
sig = 1:User-Agent,Accept-Language=[en-us,en;q=0.5],Accept-Charset=[;q=0.7,*;q=0.5],Accept-Encoding=[gzip],Host,Accept=[*; q=.2, */*; q=.2],Connection=[keep-alive]::FlipboardProxy
sig = 1:Accept-language=[en-us,en;q=0.5],Accept-encoding=[gzip],Accept=[;q=0.9,*/*;q=0.8],User-agent,Host:User-Agent,Connection,Accept-Encoding,Accept-Language,Accept-Charset:FlipboardProxy

; src: [S]
label = s:!:Spinn3r:crawler
sys = Linux
sig = 1:User-Agent,Accept-Encoding=[gzip],Host,Accept=[*; q=.2, */*; q=.2],Connection=[close]:Accept-Language,Accept-Charset:Spinn3r

; src: [S]
label = s:!:Facebook:crawler
sys = Linux
sig = 1:User-Agent,Host,Accept=[*/*],Accept-Encoding=[deflate, gzip],Connection=[close]:Accept-Language,Accept-Charset:facebookexternalhit/
sig = 1:User-Agent,Host,Accept=[*/*],Connection=[close]:Accept-Encoding,Accept-Language,Accept-Charset:facebookexternalhit/

; src: [S]
label = s:!:paper.li:crawler
sys = Linux
sig = 1:Accept-Language=[en-us,en;q=0.5],Accept=[*/*],User-Agent,Connection=[close],Accept-Encoding=[gzip,identity],?Referer,Host,Accept-Charset=[ISO-8859-1,utf-8;q=0.7,*;q=0.7]::PaperLiBot/

; src: [S]
label = s:!:Twitter:crawler
sys = Linux
sig = 1:User-Agent=[Twitterbot/],Host,Accept=[*; q=.2, */*; q=.2],Cache-Control,Connection=[keep-alive]:Accept-Encoding,Accept-Language,Accept-Charset:Twitterbot/

; src: [S]
label = s:!:linkdex:crawler
sys = Linux
sig = 0:Host,Connection=[Keep-Alive],User-Agent,Accept-Encoding=[gzip,deflate]:Accept,Accept-Language,Accept-Charset:linkdex.com/

; src: [S]
label = s:!:Yodaobot:
sys = Linux
sig = 1:Accept-Encoding=[identity;q=0.5, *;q=0.1],User-Agent,Host:Connection,Accept,Accept-Language,Accept-Charset:YodaoBot/

; src: [S]
label = s:!:Tweetmeme:crawler
sys = Linux
sig = 1:Host,User-Agent,Accept=[,image/png,*/*;q=0.5],Accept-Language=[en-gb,en;q=0.5],Accept-Charset=[ISO-8859-1,utf-8;q=0.7,*;q=0.7]:Connection,Accept-Encoding:TweetmemeBot/

; src: [S]
label = s:!:Archive.org:crawler
sys = Linux
sig = 0:User-Agent,Connection=[close],Accept=[application/xml;q=0.9,*/*;q=0.8],Host:Accept-Encoding,Accept-Language,Accept-Charset:archive.org

; src: [S]
label = s:!:Yahoo Pipes:
sys = Linux
sig = 0:Client-IP,X-Forwarded-For,X-YQL-Depth,User-Agent,Host,Connection=[keep-alive],Via:Accept,Accept-Encoding,Accept-Language,Accept-Charset:Yahoo Pipes
sig = 1:Client-IP,X-Forwarded-For,X-YQL-Depth,User-Agent,Host,Via:Connection,Accept,Accept-Encoding,Accept-Language,Accept-Charset:Yahoo Pipes

; src: [S]
label = s:!:Google Web Preview:
sys = Linux
sig = 1:Referer,User-Agent,Accept-Encoding=[gzip,deflate],Host,X-Forwarded-For:Connection,Accept,Accept-Language,Accept-Charset:Web Preview

; src: [S]
label = s:!:wget:
sys = @unix,Windows
sig = *:User-Agent,Accept=[*/*],Host,Connection=[Keep-Alive]:Accept-Encoding,Accept-Language,Accept-Charset:Wget/

; src: [S]
label = s:!:Lynx:
sys = @unix,Windows
sig = 0:Host,Accept=[text/sgml, */*;q=0.01],Accept-Encoding=[gzip, compress],Accept-Language,User-Agent:Connection,Accept-Charset:Lynx/

; src: [S]
label = s:!:curl:
sys = @unix,Windows
sig = 1:User-Agent,Host,Accept=[*/*]:Connection,Accept-Encoding,Accept-Language,Accept-Charset:curl/

; src: [S]
label = s:!:links:
sys = @unix,Windows
sig = 1:Host,User-Agent,Accept=[*/*],Accept-Encoding=[gzip, deflate, bzip2],Accept-Charset=[us-ascii],Accept-Language=[;q=0.1],Connection=[Keep-Alive]::Links
sig = 1:Host,User-Agent,Accept=[*/*],Accept-Encoding=[gzip,deflate,bzip2],Accept-Charset=[us-ascii],Accept-Language=[;q=0.1],Connection=[keep-alive]::Links

; src: [S]
label = s:!:elinks:
sys = @unix,Windows
sig = 1:Host,User-Agent,Accept=[*/*],Accept-Encoding=[bzip2, deflate, gzip],Accept-Language:Connection,Accept-Charset:ELinks/

; src: [S]
label = s:!:Java:JRE
sys = @unix,@win
sig = 1:User-Agent,Host,Accept=[*; q=.2, */*; q=.2],Connection=[keep-alive]:Accept-Encoding,Accept-Language,Accept-Charset:Java/

; src: [S]
label = s:!:Python:urllib
sys = @unix,Windows
sig = 1:Accept-Encoding=[identity],Host,Connection=[close],User-Agent:Accept,Accept-Language,Accept-Charset:Python-urllib/

; src: [S]
label = s:!:w3m:
sys = @unix,Windows
sig = 0:User-Agent,Accept=[image/*],Accept-Encoding=[gzip, compress, bzip, bzip2, deflate],Accept-Language=[;q=1.0],Host:Connection,Accept-Charset:w3m/

; src: [S]
label = s:!:libfetch:
sys = @unix
sig = 1:Host,User-Agent,Connection=[close]:Accept,Accept-Encoding,Accept-Language,Accept-Charset:libfetch/

; src: [S]
label = s:!:Google AppEngine:
sys = Linux
sig = 1:User-Agent,Host,Accept-Encoding=[gzip]:Connection,Accept,Accept-Language,Accept-Charset:AppEngine-Google

; src: [S]
label = s:!:WebOS:
sys = Linux
sig = 1:Host,Accept-Encoding=[gzip, deflate],User-Agent,Accept=[,*/*;q=0.5],Accept-Language,Accept-Charset=[utf-8;q=0.7,*;q=0.3]:Connection:wOSBrowser

; src: [S]
label = s:!:xxxterm:
sys = @unix
sig = 1:Host,User-Agent,Accept=[*/*],Accept-Encoding=[gzip]:Connection,Accept-Language,Accept-Charset:xxxterm

; src: [S]
label = s:!:Google Desktop:
sys = Windows
sig = 1:Accept=[*/*],Accept-Encoding=[gzip],User-Agent,Host,Connection=[Keep-Alive]:Accept-Language,Accept-Charset:Google Desktop/

; src: [S]
label = s:!:luakit:
sys = @unix
sig = 1:Host,User-Agent,Accept=[*/*],Accept-Encoding=[gzip],Connection=[Keep-Alive]:Accept-Language,Accept-Charset:luakit

; src: [S]
label = s:!:Epiphany:
sys = @unix
sig = 1:Host,User-Agent,Accept=[*/*],Accept-Encoding=[gzip],Accept-Language:Connection,Accept-Charset,Keep-Alive:Epiphany/

; ------------------------------------------------------------------------
; HTTP request signatures of current clients, tried after stock's above.
; ------------------------------------------------------------------------

; Chromium 156 (headless), and the browsers built on it (Chrome, Edge,
; Opera, Brave) that keep its header order: Host, Connection,
; Upgrade-Insecure-Requests, User-Agent, Accept, Accept-Encoding,
; Accept-Language. src: [N] Debian chromium 156 against nginx; [S] the same
; order, with Accept-Encoding "sdch" of that time, in stock's "Chrome 51.x
; or newer".
label = s:!:Chromium:Chrome, Edge or other
sys = Windows,@unix
sig = 1:Host,Connection=[keep-alive],Upgrade-Insecure-Requests=[1],User-Agent,Accept=[text/html],?Referer,Accept-Encoding=[gzip, deflate],?Accept-Language,?Cookie:Accept-Charset,Keep-Alive: Chrom

; Firefox needs no new entry: [N] Debian firefox-esr 153 headless matches
; stock's "Firefox 10.x or newer" above.

; Safari 11 to 15 on a page load: Host, Upgrade-Insecure-Requests, Accept,
; User-Agent, Accept-Language, Accept-Encoding, Connection. Accept before
; User-Agent and Accept-Encoding after Accept-Language set it apart from
; Chromium, Firefox and stock's Safari entries (which none of these match).
; Upgrade-Insecure-Requests is left out: through a proxy Safari 12 sent it
; after Accept. src: [T] four recorded requests of desktop Safari in public
; code, each from another project: 11.1.2 (a Python course's server), 12.0.2
; through a proxy (a proxy exercise), 14.0.3 (a Swift web server's tests),
; 15.3 (a C++ web server's notes). Browsers on iOS use the same WebKit
; stack, but no iOS request was seen, so the label names Safari only.
; Safari 16.6 and 18.0.1, one recording each, send other orders, which
; differ from each other; they have no entry.
label = s:!:Safari:11 to 15
sys = @unix
sig = 1:Host,Accept=[xml;q=0.9,*/*;q=0.8],User-Agent,Accept-Language,Accept-Encoding=[gzip, deflate],Connection=[keep-alive]:Accept-Charset,Keep-Alive:Safari/

; curl 7.x and 8.x put Host before User-Agent (stock p0f's curl entry, from
; older releases, has them the other way round). src: [N] curl 7.88.1
; against nginx, Apache, lighttpd and Caddy; [K] curl's request builder
; (lib/http.c) writes Host, User-Agent, Accept in that order.
label = s:!:curl:
sys = @unix,Windows
sig = 1:Host,User-Agent,Accept=[*/*]:Connection,Accept-Encoding,Accept-Language,Accept-Charset,Keep-Alive:curl/

; src: [N] wget 1.21.3; [S] stock's wget entry (older releases, User-Agent
; first) is kept below.
label = s:!:wget:
sys = @unix,Windows
sig = 1:Host,User-Agent,Accept=[*/*],Accept-Encoding=[identity],Connection=[Keep-Alive]:Accept-Language,Accept-Charset,Keep-Alive:Wget/

; src: [N] python-requests 2.28.1; [K] requests' default headers
; (User-Agent, Accept-Encoding, Accept, Connection) after http.client's Host.
label = s:!:Python:requests
sys = @unix,Windows
sig = 1:Host,User-Agent,Accept-Encoding=[gzip, deflate],Accept=[*/*],Connection=[keep-alive]:Accept-Language,Accept-Charset,Keep-Alive:python-requests/

; src: [N] httpx 0.23.3; [K] httpx's default headers (Accept,
; Accept-Encoding, Connection, User-Agent).
label = s:!:Python:httpx
sys = @unix,Windows
sig = 1:Host,Accept=[*/*],Accept-Encoding,Connection=[keep-alive],User-Agent:Accept-Language,Accept-Charset,Keep-Alive:python-httpx/

; src: [N] Python 3.11 urllib (User-Agent before Connection, unlike the
; Python 2 order of stock's entry, kept below).
label = s:!:Python:urllib
sys = @unix,Windows
sig = 1:Accept-Encoding=[identity],Host,User-Agent,Connection=[close]:Accept,Accept-Language,Accept-Charset,Keep-Alive:Python-urllib/

; src: [N] Go 1.19 net/http default client; [K] net/http writes Host,
; User-Agent, then Accept-Encoding: gzip when it may decompress.
label = s:!:Go:net/http
sys = @unix,Windows
sig = 1:Host,User-Agent,Accept-Encoding=[gzip]:Connection,Accept,Accept-Language,Accept-Charset,Keep-Alive:Go-http-client/

; src: [N] OpenJDK 17 java.net.http.HttpClient over HTTP/1.1. It sends
; Content-Length: 0 first on a GET, which OpenJDK later stopped doing
; (bug JDK-8283544), so newer JDKs may not match this entry.
label = s:!:Java:HttpClient
sys = @unix,@win
sig = 1:Content-Length=[0],Host,User-Agent:Connection,Accept,Accept-Encoding,Accept-Language,Accept-Charset,Keep-Alive:Java-http-client/

; OkHttp 3 to 5 (Android apps and JVM programs): BridgeInterceptor appends
; Host, Connection: Keep-Alive, Accept-Encoding: gzip, Cookie (when the
; cookie jar has one) and User-Agent: okhttp/<version>, each only if the
; application did not set it, after the application's own headers.
; src: [K] square/okhttp, okhttp3/internal/http/BridgeInterceptor (the
; same order in the Java version of 2016 and the Kotlin one of 2026).
; [N] okhttp.pcap: 2 requests of OkHttp 3.13.1 (Debian's libokhttp-java on
; OpenJDK 17), one without and one with a cookie in the jar; both in this
; order, Cookie between Accept-Encoding and User-Agent.
label = s:!:okhttp:
sys = @unix,@win
sig = 1:Host,Connection=[Keep-Alive],Accept-Encoding=[gzip],?Cookie,User-Agent:Accept,Accept-Language,Accept-Charset,Keep-Alive:okhttp/

; Android's own HttpURLConnection (built on an OkHttp 2 fork inside the
; platform), whose default User-Agent is "Dalvik/<vm> (Linux; U; Android
; ...)": User-Agent first, then Host, Connection, Accept-Encoding.
; src: [C] three phones: Android 4.4.4
; (nDPI KakaoTalk_chat.pcap), 5.1.1 (alexa-app.pcapng) and 10
; (xiaomi.pcap), the same order each time.
label = s:!:Android:HttpURLConnection
sys = Android,Linux
sig = 1:User-Agent,Host,Connection=[Keep-Alive],Accept-Encoding=[gzip]:Accept,Accept-Language,Accept-Charset,Keep-Alive:Dalvik/



[http:response]

; src: [S] for every entry below.
label = s:!:Apache:2.x
sys = @unix,Windows
sig = 1:Date,Server,?Last-Modified,?Accept-Ranges=[bytes],?Content-Length,?Content-Range,Keep-Alive=[timeout],Connection=[Keep-Alive],?Transfer-Encoding=[chunked],Content-Type::Apache
sig = 1:Date,Server,?Last-Modified,?Accept-Ranges=[bytes],?Content-Length,?Connection=[close],?Transfer-Encoding=[chunked],Content-Type:Keep-Alive:Apache
sig = 1:Date,Server,Connection=[Keep-Alive],Keep-Alive=[timeout]:Content-Type,Accept-Ranges:Apache
sig = 1:Date,Server,?Last-Modified,?Accept-Ranges=[bytes],?Content-Length,Content-Type,Keep-Alive=[timeout],Connection=[Keep-Alive]::Apache

; src: [S]
label = s:!:Apache:1.x
sys = @unix,Windows
sig = 1:Server,Content-Type,?Content-Length,Date,Connection=[keep-alive]:Keep-Alive,Accept-Ranges:Apache
sig = 1:Server,Content-Type,?Content-Length,Date,Connection=[close]:Keep-Alive,Accept-Ranges:Apache

; src: [S]
label = s:!:IIS:7.x
sys = Windows
sig = 1:?Content-Length,Content-Type,?Etag,Server,Date:Connection,Keep-Alive,Accept-Ranges:Microsoft-IIS/
sig = 1:?Content-Length,Content-Type,?Etag,Server,Date,Connection=[close]:Keep-Alive,Accept-Ranges:Microsoft-IIS/

; src: [S]
label = s:!:lighttpd:2.x
sys = @unix
sig = 1:?ETag,?Last-Modified,Accept-Ranges=[bytes],Content-Type,?Vary,?Content-Length,Date,Server:Connection,Keep-Alive:lighttpd/
sig = 1:?ETag,?Last-Modified,Transfer-Encoding=[chunked],Content-Type,?Vary,?Content-Length,Date,Server:Connection,Keep-Alive:lighttpd/

; src: [S]
label = s:!:lighttpd:1.x
sys = @unix
sig = 1:Content-Type,Accept-Ranges=[bytes],?ETag,?Last-Modified,Date,Server:Connection,Keep-Alive:lighttpd/
sig = 1:Content-Type,Transfer-Encoding=[chunked],?ETag,?Last-Modified,Date,Server:Connection,Keep-Alive:lighttpd/
sig = 0:Content-Type,Content-Length,Connection=[close],Date,Server:Keep-Alive,Accept-Ranges:lighttpd/

; src: [S]
label = s:!:nginx:1.x
sys = @unix
sig = 1:Server,Date,Content-Type,?Content-Length,?Last-Modified,Connection=[keep-alive],Keep-Alive=[timeout],Accept-Ranges=[bytes]::nginx/
sig = 1:Server,Date,Content-Type,?Content-Length,?Last-Modified,Connection=[close]:Keep-Alive,Accept-Ranges:nginx/

; src: [S]
label = s:!:nginx:0.x
sys = @unix
sig = 1:Server,Date,Content-Type,?Content-Length,Connection=[keep-alive],?Last-Modified:Keep-Alive,Accept-Ranges:nginx/
sig = 1:Server,Date,Content-Type,?Content-Length,Connection=[close],?Last-Modified:Keep-Alive,Accept-Ranges:nginx/

; src: [S]
label = s:!:Google Web Server:
sys = Linux
sig = *:Content-Type,X-Content-Type-Options=[nosniff],Date,Server=[sffe]:Connection,Accept-Ranges,Keep-Alive,Connection:
sig = *:Date,Content-Type,Server=[gws]:Connection,Accept-Ranges,Keep-Alive:
sig = *:Content-Type,X-Content-Type-Options=[nosniff],Server=[GSE]:Connection,Accept-Ranges,Keep-Alive:

; src: [N] nginx 1.22.1 serving a file with keep-alive and with close;
; [S] stock's nginx 1.x order (Server, Date, Content-Type first).
label = s:!:nginx:1.x
sys = @unix
sig = 1:Server,Date,Content-Type,?Content-Length,?Last-Modified,Connection,?ETag,Accept-Ranges=[bytes]:Keep-Alive:nginx/

; src: [N] Caddy 2.6.2 file server; [K] Caddy sets Server: Caddy.
label = s:!:Caddy:2.x
sys = @unix,Windows
sig = 1:Accept-Ranges=[bytes],?Content-Length,Content-Type,?Etag,?Last-Modified,Server,Date:Connection,Keep-Alive:Caddy

; Apache 2.4 needs no entry of its own: [N] Apache 2.4.71 (Debian) matches
; stock's "Apache 2.x" above (the loader rejects a 2.4 entry as covered).

; src: [N] lighttpd 1.4.69 error page; [S] stock's lighttpd 1.x entries
; (Content-Type first, Date and Server last).
label = s:!:lighttpd:1.4
sys = @unix
sig = 1:Content-Type,?Content-Length,Date,Server:Connection,Keep-Alive,Accept-Ranges:lighttpd/

; IIS answers with Content-Type first, Server after it and Date after
; Server, and sends X-Powered-By: ASP.NET between Server and Date unless the
; site removes it. Stock's "IIS 7.x" forbids Accept-Ranges, which IIS 10
; sends with every file, so stock names none of these.
; src: [K] X-Powered-By: ASP.NET is a custom header of IIS's default
; configuration (learn.microsoft.com, IIS <customHeaders>: in the default
; install since IIS 7.0, unchanged up to 10.0; operators drop it with
; <remove name="X-Powered-By"/>). [T] two IIS 10.0 responses: a static file
; (Content-Type, Last-Modified, Accept-Ranges, ETag, Server, X-Powered-By,
; Date, Content-Length), recorded in a C# web-server exercise on GitHub,
; 2018; and an ASP.NET page (Cache-Control, Content-Type, Server,
; X-AspNet-Version, X-Powered-By, Date, Content-Length), the canned reply
; of a stub standing in for a game's IIS server, 2024. A third, behind a CDN that moved Date and
; Content-Length to the front, keeps Last-Modified, ETag, Server and
; X-Powered-By in this order. [S] stock's IIS 7.x entries have the same
; order (Content-Type, ETag, Server, Date), so it does not tell 7 from 10.
label = s:!:IIS:7 to 10
sys = Windows
sig = 1:Content-Type,Server,X-Powered-By=[ASP.NET],Date:Keep-Alive:Microsoft-IIS/



; ------------------------------------------------------------------------
; SMTP dialects (docs/smtp.md for the fields; docs/signatures.md, "SMTP
; dialects", for what the evidence separates). Keys of this part:
;   [M]  our captures of real MTAs and mail clients: samples/smtp/
;        (capture.sh, labels.txt); counts are sessions in those files.
;   [P]  a published transcript of a public server (named per entry).
;   [K]  the software's documentation or source for a default.
; Kinds: "mta" only where every program seen speaking a signature is an
; MTA; where an MTA speaks like a mail client, the label names them all
; and its kind is "client" (not known to be an MTA).
; ------------------------------------------------------------------------

[smtp:client]

; src: [M] Postfix 3.7.11 (5 sessions), Exim 4.96 (8) and Sendmail
; 8.17.1.9 (7) relaying to Postfix and to Exim, which advertise
; PIPELINING: EHLO with their host name, MAIL FROM:<a> SIZE=n, commands
; pipelined, QUIT. [P] public captures of the shared corpus (arkime's
; smtp-*.pcap, samples/smtp/corpus-labels.txt), each sender named by the
; Received header it added: Exchange 2010 SP3 ("with mapi id
; 14.03.0123.003", 2 sessions), Sendmail 8.14.4 (4), Exim 4.67 (1),
; Postfix (1). What separates them (Postfix's ORCPT= on RCPT and pipelined
; QUIT, Exim's BDAT, Sendmail's "MAIL From:") is not in the raw signature.
label = s:mta:Postfix/Exim/Sendmail/Exchange:
sig   = wait:EHLO:fqdn:upper:nosp:nosp:SIZE:crlf:adv:EHLO,MAIL,RCPT:-:quit

; src: [M] msmtp 1.8.23 with two recipients (2 sessions): EHLO
; localhost ([K] msmtp's documented default for "domain"), RCPT and DATA
; pipelined.
label = s:client:msmtp:
sig   = wait:EHLO:word:upper:nosp:nosp:-:crlf:adv:EHLO,MAIL,RCPT:-:quit

; src: [M] swaks 20201014.0 on a host named "vm" (12 sessions) and
; msmtp 1.8.23 with one recipient (3): EHLO with a bare word, no
; parameters, one command at a time.
label = s:client:swaks/msmtp:
sig   = wait:EHLO:word:upper:nosp:nosp:-:crlf:no:EHLO,MAIL,RCPT:-:quit

; src: [M] Python 3.11 smtplib (5 sessions): lower-case verbs (ehlo,
; mail FROM:, rcpt TO:, data) with QUIT, and size=; its EHLO name is the
; host's FQDN or an address literal ([K] smtplib's local_hostname).
label = s:client:Python smtplib:
sig   = wait:EHLO:*:mixed:nosp:nosp:SIZE:crlf:no:EHLO,MAIL,RCPT:-:quit

; src: [M] all four MTAs to a server offering STARTTLS (7: Postfix 2, Exim 2,
; OpenSMTPD 1, Sendmail 2 sessions):
; EHLO with their host name, then STARTTLS; nothing after is readable, so
; this names all four. None of the clients above uses STARTTLS unless told
; to; one told to (swaks -tls, curl --ssl-reqd from a host with an FQDN)
; may send the same, hence generic.
label = g:mta:Postfix/Exim/OpenSMTPD/Sendmail:STARTTLS
sig   = wait:EHLO:fqdn:upper:-:-:-:crlf:no:EHLO,STARTTLS:-:tls

; src: [M] Postfix, Exim and Sendmail relaying to OpenSMTPD, which does
; not advertise PIPELINING (3 sessions), and curl 7.88.1 (5
; sessions: EHLO with the last part of its URL path, here the uploaded
; file's name or a domain): the same dialogue.
label = g:client:Postfix/Exim/Sendmail/curl:
sig   = wait:EHLO:fqdn:upper:nosp:nosp:SIZE:crlf:no:EHLO,MAIL,RCPT:-:quit

; src: [M] OpenSMTPD 6.8.0p2 (6 sessions: no parameters, no
; pipelining, QUIT after 10 s idle), Perl Net::SMTP 3.14 (5: EHLO
; localhost.localdomain, its default) and swaks on a host with an FQDN
; (1): the same dialogue.
label = g:client:OpenSMTPD/swaks/Net-SMTP:
sig   = wait:EHLO:fqdn:upper:nosp:nosp:-:crlf:no:EHLO,MAIL,RCPT:-:quit

[smtp:server]

; src: [M] Debian's Postfix 3.7.11 (63 sessions); [K] Debian's main.cf
; sets smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU).
label = s:mta:Postfix:Debian
sig   = *:*:ESMTP Postfix (Debian/GNU)

; src: [K] Postfix's default smtpd_banner is "$myhostname ESMTP
; $mail_name"; [P] "220 ... ESMTP Postfix" in the Exchange send log of
; learn.microsoft.com/en-us/answers/questions/1054876.
label = s:mta:Postfix:
sig   = *:*:ESMTP Postfix

; src: [M] Exim 4.96 (5 sessions); [K] Exim's default smtp_banner is
; "$smtp_active_hostname ESMTP Exim $version_number $tod_full".
label = s:mta:Exim:
sig   = *:*:ESMTP Exim

; src: [M] OpenSMTPD 6.8.0p2 (5 sessions), its default greeting.
label = s:mta:OpenSMTPD:
sig   = *:*:ESMTP OpenSMTPD

; src: [M] Sendmail 8.17.1.9 (3 sessions); [K] its default
; SmtpGreetingMessage "$j Sendmail $v/$Z; $b", ESMTP added by sendmail.
label = s:mta:Sendmail:
sig   = *:*:ESMTP Sendmail

; src: [M] Sendmail 8.17.1.9 with Debian's greet_pause answering a client
; that spoke first (2 sessions): "554 <host> ESMTP not accepting
; messages"; [K] that reply is compiled into sendmail (its srvrsmtp.c),
; which sends it when a client speaks during greet_pause. The words are
; plain enough for another server to use, hence generic.
label = g:mta:Sendmail:rejecting
sig   = *:*:ESMTP not accepting messages

; src: [P] Exchange 2013-2019 and Exchange Online greetings "220 <host>
; Microsoft ESMTP MAIL Service ready at <date>" in Microsoft's "Use Telnet
; to test SMTP communication" (learn.microsoft.com, Exchange Server docs),
; its troubleshooting article on "412 4.3.2 Service not active", and
; third-party transcripts (lu.se 2016, a SANS lab 2024, a git send-email
; debug log of 2019).
label = s:mta:Microsoft Exchange:
sig   = *:*:Microsoft ESMTP MAIL Service ready at

; src: [P] Gmail's MX greetings "220 mx.google.com ESMTP <id> - gsmtp" in
; published transcripts (a Haraka outbound log, a telnet tutorial, a
; Python course's output of 2013, a Node.js mail client's notes).
label = s:mta:Gmail:
sig   = *:*:- gsmtp
