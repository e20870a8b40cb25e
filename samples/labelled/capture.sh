#!/bin/bash
# Makes the labelled captures in this directory from real stacks and clients
# on this machine: Linux network namespaces with the sysctl and route
# settings of different systems, real HTTP clients and servers, and real
# scanners. No packet leaves the namespaces created here.
#
#   sudo samples/labelled/capture.sh [OUTDIR [PART...]]
#
# Writes stacks.pcap (SYNs and SYN+ACKs of each stack profile, IPv4 and
# IPv6), http.pcap (each client against each server), scanners.pcap and
# okhttp.pcap (OkHttp 3, from Debian's libokhttp-java). PARTs (stacks,
# http, scanners, okhttp) name the captures to make; all by default, so
# that one capture can be remade without the packages the others need.
# labels.txt, which names each client address's family and source, is kept
# by hand beside them; see README.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE}
[ $# -gt 0 ] && shift
PARTS=${*:-stacks http scanners okhttp}
want() { [[ " $PARTS " == *" $1 "* ]]; }
WORK=$(mktemp -d)
chmod 755 "$WORK" # the servers' workers read www/ as other users
. "$HERE/netns-lib.sh"
trap 'ns_teardown; rm -rf "$WORK"' EXIT
PY=/usr/bin/python3

ns_teardown
ns_setup_server

# Stack profiles. The kernel is this machine's; what differs is what each
# system sets. Addresses are the keys of labels.txt.
ns_client lx-now 11                                            # this kernel's defaults
ns_client lx-6mb 12 "net.ipv4.tcp_rmem=4096 131072 6291456"     # 4.19-6.x default max
ns_client lx-nots 13 net.ipv4.tcp_timestamps=0
ns_client lx-wg 14                                             # WireGuard MTU
ns_client lx-pppoe 15                                          # PPPoE MTU
ns_client lx-ts 16                                             # Tailscale MTU
ns_client an-lte 21 "net.ipv4.tcp_rmem=524288 1048576 8388608"  # AOSP LTE buffers
ns_client an-16m 22 "net.ipv4.tcp_rmem=524288 1048576 16777216" # AOSP 16 MB max
ns_client an-wifi 23 "net.ipv4.tcp_rmem=524288 1048576 2097152" # AOSP Wi-Fi buffers
ns_client scan 31
ip -n $PFX-lx-wg link set eth0 mtu 1420
ip -n $PFX-lx-pppoe link set eth0 mtu 1492
ip -n $PFX-lx-ts link set eth0 mtu 1280

cap() { # cap FILE: start a capture on the bridge
    ip netns exec $SRV tcpdump -U -i br0 -s 1600 -w "$1" tcp >/dev/null 2>"$1.err" &
    echo $! >"$WORK/tcpdump.pid"
    for _ in $(seq 50); do [ -s "$1" ] && break; sleep 0.1; done
    sleep 0.5
}
uncap() {
    sleep 0.5
    kill "$(cat "$WORK/tcpdump.pid")"
    wait "$(cat "$WORK/tcpdump.pid")" 2>/dev/null
}
inns() { # inns NS CMD...: run a client there; a failing client is reported, not fatal
    local n=$1; shift
    ip netns exec $PFX-$n "$@" || echo "capture.sh: '$*' failed in $n" >&2
}

# Servers, all in the server namespace.
ip netns exec $SRV $PY -m http.server -b :: 8000 -d "$WORK" >/dev/null 2>&1 &
mkdir -p "$WORK/www" && echo hello >"$WORK/www/index.html"
cat >"$WORK/nginx.conf" <<CONF
daemon off; pid $WORK/nginx.pid; error_log stderr;
events {}
http { access_log off; server { listen 80; listen [::]:80; root $WORK/www; } }
CONF
ip netns exec $SRV nginx -c "$WORK/nginx.conf" >/dev/null 2>&1 &
cat >"$WORK/lighttpd.conf" <<CONF
server.document-root = "$WORK/www"
server.port = 8080
server.bind = "10.77.0.1"
server.pid-file = "$WORK/lighttpd.pid"
server.errorlog = "$WORK/lighttpd.err"
CONF
ip netns exec $SRV lighttpd -D -f "$WORK/lighttpd.conf" >/dev/null 2>&1 &
cat >"$WORK/apache.conf" <<CONF
ServerRoot /etc/apache2
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
PidFile $WORK/apache.pid
ErrorLog $WORK/apache.err
Listen 10.77.0.1:8081
ServerName p0f-test
DocumentRoot $WORK/www
CONF
ip netns exec $SRV apache2 -f "$WORK/apache.conf" -DFOREGROUND >/dev/null 2>&1 &
if command -v caddy >/dev/null; then
    printf ':8082 {\n\troot * %s\n\tfile_server\n}\n' "$WORK/www" >"$WORK/Caddyfile"
    ip netns exec $SRV env HOME="$WORK" XDG_DATA_HOME="$WORK" XDG_CONFIG_HOME="$WORK" \
        caddy run --adapter caddyfile --config "$WORK/Caddyfile" >/dev/null 2>&1 &
fi
sleep 2

# 1. Stack profiles: one curl over IPv4 and one over IPv6 each, to nginx.
if want stacks; then
cap "$WORK/stacks.pcap"
for n in lx-now lx-6mb lx-nots lx-wg lx-pppoe lx-ts an-lte an-16m an-wifi; do
    inns $n curl -s -o /dev/null http://10.77.0.1/
    inns $n curl -s -o /dev/null "http://[fd77::1]/"
done
uncap
fi

# 2. HTTP clients against each server (IPv4), from the default stack.
if want http; then
cap "$WORK/http.pcap"
U=http://10.77.0.1
for port in 80 8080 8081 8082; do inns lx-now curl -s -o /dev/null $U:$port/; done
inns lx-now wget -q -O /dev/null $U/
for k in requests httpx urllib; do inns lx-now $PY "$HERE/clients/pyclients.py" $k $U/; done
if [ -x "$WORK/../goget" ] || command -v go >/dev/null; then
    HOME=$WORK GOCACHE=$WORK/gocache go build -o "$WORK/goget" "$HERE/clients/get.go" &&
        inns lx-now "$WORK/goget" $U/
fi
inns lx-now java "$HERE/clients/Get.java" $U/
inns lx-now env HOME="$WORK" timeout 60 chromium --headless --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update --no-first-run \
    --disable-sync --disable-default-apps --dump-dom $U/ >/dev/null 2>&1
inns lx-now env HOME="$WORK" timeout 60 firefox-esr --headless --screenshot "$WORK/ff.png" \
    $U/ >/dev/null 2>&1
uncap
fi

# 3. Scanners, from their own namespace, at an open and a closed port.
if want scanners; then
cap "$WORK/scanners.pcap"
inns scan nmap -n -Pn -sS -p 80,81 10.77.0.1 >/dev/null 2>&1
MAC=$(ip -n $SRV link show br0 | awk '/ether/{print $2}')
inns scan masscan -p80,81 10.77.0.1 --rate 100 --wait 1 --adapter eth0 --router-mac "$MAC" >/dev/null 2>&1
inns scan zmap -p 80 -i eth0 -G "$MAC" -n 1 -B 1M -b /dev/null 10.77.0.1/32 -q -o /dev/null >/dev/null 2>&1
inns scan $PY -c 'from scapy.all import IP,TCP,send; send(IP(dst="10.77.0.1")/TCP(dport=80,flags="S"),verbose=0)'
uncap
fi

# 4. OkHttp 3 against nginx: a fresh client, then one whose cookie jar
# holds a cookie for the host (the Cookie header's place).
if want okhttp; then
cap "$WORK/okhttp.pcap"
inns lx-now java -cp /usr/share/java/okhttp.jar:/usr/share/java/okio.jar \
    "$HERE/clients/OkGet.java" http://10.77.0.1/
uncap
fi

cat "$WORK"/*.err >&2 || true
for p in $PARTS; do cp "$WORK/$p.pcap" "$OUT/"; done
echo "wrote $PARTS under $OUT"
