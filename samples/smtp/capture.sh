#!/bin/bash
# Makes the labelled SMTP captures in this directory from real software on
# this machine: Debian's Postfix, Exim 4, OpenSMTPD and Sendmail relaying
# mail and answering as servers, and the mail clients swaks, msmtp, Python's
# smtplib, Perl's Net::SMTP and curl, each in a network namespace of its
# own. The receiving end is a private Postfix instance ("the sink") that
# discards what it accepts. No packet leaves the namespaces created here.
#
#   sudo samples/smtp/capture.sh [OUTDIR]
#
# Writes mta.pcap (the MTAs relaying to the sink, which does not offer
# STARTTLS at 10.88.0.1 and does at 10.88.0.2), servers.pcap (swaks
# talking to each MTA as a server), mesh.pcap (the MTAs relaying to one
# another), clients.pcap (each client to the sink) and botlike.pcap (clients/botlike.py: scripted pregreet, bare LF
# and no-QUIT sessions). labels.txt, which names the software at each
# address, is kept by hand beside them; see README.md.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE}
export SD_PFX=${SD_PFX:-sdc}
. "$HERE/netns.sh"
. "$HERE/mta-lib.sh"
ROOT=${SD_MTA_ROOT:-/tmp/sd-mta-root}
WORK=$(mktemp -d /tmp/sdc-work.XXXXXX)
chmod 755 "$WORK"
PY=/usr/bin/python3
N=$SD_NET
SINK=$N.1 SINK_TLS=$N.2

cleanup() {
    set +e
    for m in pf ex os sm; do mta_stop $m; done
    pf_stop "$WORK/sink"
    [ -s "$WORK/tcpdump.pid" ] && kill "$(cat "$WORK/tcpdump.pid")" 2>/dev/null
    sd_teardown
    rm -rf "$WORK"
}
trap cleanup EXIT

mta_fetch "$ROOT"
mta_cert "$WORK"
sd_teardown
sd_hub 1 2 3
sd_node pf 11
sd_node ex 12
sd_node os 13
sd_node sm 14
sd_node swaks 21
sd_node msmtp 22
sd_node smtplib 23
sd_node netsmtp 24
sd_node curl 25
sd_node bot 31

# The sink: Debian's Postfix with its default smtpd settings, no STARTTLS on
# .1 and STARTTLS (Debian's smtpd_tls_security_level = may) on .2.
PF_MASTER="$SINK:smtp inet n - n - - smtpd
$SINK_TLS:smtp inet n - n - - smtpd -o smtpd_tls_security_level=may
  -o smtpd_tls_cert_file=$WORK/cert.pem -o smtpd_tls_key_file=$WORK/key.pem" \
    pf_start "$SD_HUB" "$WORK/sink" sink.example.org ""

# mta_run NAME RELAY: start MTA NAME in its namespace, relaying to RELAY.
mta_run() {
    local m=$1 relay=$2 d=$WORK/$1
    rm -rf "$d"
    mkdir -p "$d"
    case $m in
    pf) pf_start $SD_PFX-pf "$d" mx.postfix.example.org "[$relay]:25" \
        "smtpd_tls_security_level = may" "smtpd_tls_cert_file = $WORK/cert.pem" \
        "smtpd_tls_key_file = $WORK/key.pem" ;;
    ex) exim_start $SD_PFX-ex "$d" mx.exim.example.org "$relay" 25 "$ROOT" ;;
    os) smtpd_start $SD_PFX-os "$d" mx.opensmtpd.example.org "$relay" 25 "$ROOT" ;;
    sm) sendmail_start $SD_PFX-sm "$d" mx.sendmail.example.org "$relay" "$ROOT" 2>/dev/null ;;
    esac
    local i
    for i in $(seq 50); do
        ip netns exec $SD_PFX-$m ss -ltn | grep -q ':25 ' && return 0
        sleep 0.2
    done
    echo "capture.sh: $m did not listen" >&2
    return 1
}

mta_stop() {
    local d=$WORK/$1
    [ -d "$d" ] || return 0
    case $1 in
    pf) pf_stop "$d" ;;
    ex) exim_stop "$d" ;;
    os) smtpd_stop "$d" ;;
    sm) sendmail_stop "$d" ;;
    esac
}

# delivered LOCALPART: wait until the sink has accepted mail for it.
delivered() {
    local i
    for i in $(seq 150); do
        grep -q "to=<$1@sink.example.org>" "$WORK/sink/log" 2>/dev/null && return 0
        sleep 0.2
    done
    echo "capture.sh: no delivery to $1" >&2
    return 1
}

cap() { # cap FILE: start a capture on the hub's bridge
    ip netns exec "$SD_HUB" tcpdump -U -i br0 -s 0 -w "$1" tcp port 25 >/dev/null 2>"$1.err" &
    echo $! >"$WORK/tcpdump.pid"
    local i
    for i in $(seq 50); do [ -s "$1" ] && break; sleep 0.1; done
    sleep 0.5
}
uncap() {
    sleep 2 # let tcpdump drain the socket before it is stopped
    kill -INT "$(cat "$WORK/tcpdump.pid")"
    wait "$(cat "$WORK/tcpdump.pid")" 2>/dev/null || true
    rm -f "$WORK/tcpdump.pid"
}
inns() { # inns NAME CMD...: run a client there; a failure is reported, not fatal
    local n=$1
    shift
    ip netns exec "$SD_PFX-$n" "$@" >/dev/null 2>&1 || echo "capture.sh: '$*' failed in $n" >&2
}
# submit MTA TAG [TAG2]: hand the MTA a message over loopback (not captured)
# for TAG@sink (and TAG2@sink), and wait for its delivery. SUBMIT_8BIT=1
# makes it a MIME message with an 8-bit UTF-8 body.
submit() {
    local m=$1
    shift
    local to="" t
    for t in "$@"; do to="$to${to:+,}$t@sink.example.org"; done
    local extra=()
    if [ -n "${SUBMIT_8BIT:-}" ]; then
        extra=(--add-header "MIME-Version: 1.0" --add-header "Content-Type: text/plain; charset=utf-8"
            --add-header "Content-Transfer-Encoding: 8bit" --body "Grüße aus $m, 8-bit.")
    fi
    inns "$m" swaks -s 127.0.0.1 -f "sender@$m.example.org" -t "$to" \
        --header "Subject: relayed by $m" "${extra[@]}"
    for t in "$@"; do delivered "$t"; done
}
declare -A ADDR=([pf]=$N.11 [ex]=$N.12 [os]=$N.13 [sm]=$N.14)

# 1. The MTAs as senders, to the sink without and with STARTTLS: one
#    message with one recipient, then one with two, then (without
#    STARTTLS) an 8-bit MIME message.
cap "$WORK/mta.pcap"
for relay in $SINK $SINK_TLS; do
    tag=${relay##*.}
    for m in pf ex os sm; do
        mta_run $m "$relay"
        submit $m "$m-$tag-a"
        submit $m "$m-$tag-b" "$m-$tag-c"
        [ "$relay" != "$SINK" ] || SUBMIT_8BIT=1 submit $m "$m-$tag-8bit"
        sleep 11 # OpenSMTPD keeps its session 10 s before QUIT
        mta_stop $m
    done
done
uncap

# 2. The MTAs as servers: swaks from the hub (10.88.0.3), twice each, a
#    message that the MTA relays on to the sink.
cap "$WORK/servers.pcap"
for m in pf ex os sm; do mta_run $m $SINK; done
sleep 1
for m in pf ex os sm; do
    for k in 1 2; do
        ip netns exec "$SD_HUB" swaks -li $N.3 -s "${ADDR[$m]}" -f probe@hub.example.org \
            -t "srv-$m-$k@sink.example.org" >/dev/null 2>&1 ||
            echo "capture.sh: probe of $m failed" >&2
        delivered "srv-$m-$k"
    done
done
sleep 11
for m in pf ex os sm; do mta_stop $m; done
uncap

# 2b. The MTAs relaying to one another: to OpenSMTPD, which does not
#     advertise PIPELINING, and to Exim, which advertises PIPELINING and
#     CHUNKING; OpenSMTPD to Exim and Exim to OpenSMTPD. The receiving MTA
#     relays on to the sink.
cap "$WORK/mesh.pcap"
mta_run os $SINK
mta_run ex $SINK
for m in pf sm; do
    for dst in os ex; do
        mta_run $m "${ADDR[$dst]}"
        submit $m "$m-to-$dst"
        mta_stop $m
    done
done
mta_stop ex
mta_run ex "${ADDR[os]}"
submit ex ex-to-os
mta_stop ex
mta_run ex $SINK
sleep 11 # OpenSMTPD's QUIT to the sink
mta_stop os
mta_run os "${ADDR[ex]}"
submit os os-to-ex
sleep 11
mta_stop os
mta_stop ex
uncap

# 3. The clients, each in its own namespace, to the sink: one message, one
#    with two recipients, and one to the STARTTLS listener. Each runs as its
#    documentation shows, with its defaults.
printf 'Subject: a test\n\nA message.\n' >"$WORK/msg.txt"
cap "$WORK/clients.pcap"
for dst in $SINK $SINK_TLS; do
    tag=${dst##*.}
    inns swaks swaks -s "$dst" -f a@swaks.example.org -t "swaks-$tag-a@sink.example.org"
    inns swaks swaks -s "$dst" -f a@swaks.example.org -t "swaks-$tag-b@sink.example.org,swaks-$tag-c@sink.example.org"
    inns msmtp sh -c "msmtp --host=$dst --from=a@msmtp.example.org msmtp-$tag-a@sink.example.org <'$WORK/msg.txt'"
    inns msmtp sh -c "msmtp --host=$dst --from=a@msmtp.example.org msmtp-$tag-b@sink.example.org msmtp-$tag-c@sink.example.org <'$WORK/msg.txt'"
    inns smtplib $PY "$HERE/clients/smtplib_send.py" "$dst" a@smtplib.example.org "smtplib-$tag-a@sink.example.org"
    inns smtplib $PY "$HERE/clients/smtplib_send.py" "$dst" a@smtplib.example.org "smtplib-$tag-b@sink.example.org" "smtplib-$tag-c@sink.example.org"
    inns netsmtp perl "$HERE/clients/netsmtp_send.pl" "$dst" a@netsmtp.example.org "netsmtp-$tag-a@sink.example.org"
    inns netsmtp perl "$HERE/clients/netsmtp_send.pl" "$dst" a@netsmtp.example.org "netsmtp-$tag-b@sink.example.org" "netsmtp-$tag-c@sink.example.org"
    inns curl curl -sS "smtp://$dst" --mail-from a@curl.example.org --mail-rcpt "curl-$tag-a@sink.example.org" -T "$WORK/msg.txt"
    inns curl curl -sS "smtp://$dst" --mail-from a@curl.example.org --mail-rcpt "curl-$tag-b@sink.example.org" --mail-rcpt "curl-$tag-c@sink.example.org" -T "$WORK/msg.txt"
done
# The EHLO name of swaks, smtplib and curl comes from the host (its name,
# or for curl the URL's path): again on a host named desk1.example.org,
# and curl with the domain in its URL, as its manual describes.
for c in swaks msmtp smtplib netsmtp; do
    case $c in
    swaks) cmd=(swaks -s $SINK -f a@swaks.example.org -t swaks-fq@sink.example.org) ;;
    msmtp) cmd=(sh -c "msmtp --host=$SINK --from=a@msmtp.example.org msmtp-fq@sink.example.org <'$WORK/msg.txt'") ;;
    smtplib) cmd=($PY "$HERE/clients/smtplib_send.py" $SINK a@smtplib.example.org smtplib-fq@sink.example.org) ;;
    netsmtp) cmd=(perl "$HERE/clients/netsmtp_send.pl" $SINK a@netsmtp.example.org netsmtp-fq@sink.example.org) ;;
    esac
    inns $c unshare -u sh -c 'hostname desk1.example.org && exec "$@"' sh "${cmd[@]}"
done
inns curl curl -sS "smtp://$SINK/desk1.example.org" --mail-from a@curl.example.org --mail-rcpt curl-fq@sink.example.org -T "$WORK/msg.txt"
uncap

# 4. The scripted bot-like client: each habit alone, then all together, to
#    the sink (Postfix answers at once, so a pregreet may lose the race)
#    and to Sendmail, whose greet_pause holds the greeting back 1 s.
B=$HERE/clients/botlike.py
cap "$WORK/botlike.pcap"
mta_run sm $SINK
inns bot $PY "$B" ${ADDR[sm]} a@bot.example.org bot-sm-plain@sink.example.org
inns bot $PY "$B" ${ADDR[sm]} a@bot.example.org bot-sm-pregreet@sink.example.org --pregreet
inns bot $PY "$B" ${ADDR[sm]} a@bot.example.org bot-sm-all@sink.example.org --pregreet --lf --no-quit
sleep 3 # its relaying to the sink
mta_stop sm
inns bot $PY "$B" $SINK a@bot.example.org bot-plain@sink.example.org
inns bot $PY "$B" $SINK a@bot.example.org bot-pregreet@sink.example.org --pregreet
inns bot $PY "$B" $SINK a@bot.example.org bot-lf@sink.example.org --lf
inns bot $PY "$B" $SINK a@bot.example.org bot-noquit@sink.example.org --no-quit
inns bot $PY "$B" $SINK a@bot.example.org bot-all@sink.example.org --pregreet --lf --no-quit
sleep 1
uncap

cat "$WORK"/*.err >&2 || true
for f in mta servers mesh clients botlike; do cp "$WORK/$f.pcap" "$OUT/"; done
echo "wrote $OUT/mta.pcap servers.pcap mesh.pcap clients.pcap botlike.pcap"
