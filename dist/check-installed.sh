#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# dist/check-installed.sh: checks an installed p0f-rs package (run as root
# after `dpkg -i target/debian/p0f-rs_*.deb`; CI does). It checks that the
# package sits next to Debian's p0f without touching its files, that the
# systemd units verify, that the man pages read, and runs the installed
# daemon on the sample capture and live on lo, where one SYN must be
# answered through the API.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() { echo "check-installed: $*" >&2; exit 1; }

echo "-- package contents and coexistence with Debian's p0f"
dpkg -s p0f-rs >/dev/null || fail "p0f-rs is not installed"
for f in /usr/bin/p0f-rs /usr/bin/p0f-rs-client /usr/bin/p0f-mailpolicy; do
    [ -x "$f" ] || fail "$f missing"
    [ "$(dpkg -S "$f" | cut -d: -f1)" = p0f-rs ] || fail "$f not from p0f-rs"
done
if dpkg -s p0f >/dev/null 2>&1; then
    [ "$(dpkg -S /usr/sbin/p0f | cut -d: -f1)" = p0f ] || fail "/usr/sbin/p0f no longer Debian's"
    banner=$(/usr/sbin/p0f -h 2>&1 || true)
    case "$banner" in *"p0f 3."*) ;; *) fail "Debian's p0f does not run: $banner" ;; esac
    echo "Debian's p0f is still /usr/sbin/p0f"
elif [ "${CI:-}" = true ]; then
    fail "Debian's p0f is not installed (CI installs it to test coexistence)"
fi
getent passwd p0f-rs >/dev/null || fail "user p0f-rs missing"
getent passwd p0f-mailpolicy >/dev/null || fail "user p0f-mailpolicy missing"
id -nG p0f-mailpolicy >/dev/null
[ -d /var/lib/p0f-rs ] && [ -z "$(ls -A /var/lib/p0f-rs)" ] || fail "/var/lib/p0f-rs must exist and be empty"
libpcap_dep=$(dpkg-query -W -f '${Depends}' p0f-rs)
case "$libpcap_dep" in *"libpcap0.8 | libpcap0.8t64"*) ;; *) fail "no libpcap dependency: $libpcap_dep" ;; esac

echo "-- systemd units"
systemd-analyze verify /lib/systemd/system/p0f-rs.service /lib/systemd/system/p0f-mailpolicy.service

echo "-- man pages"
for page in man1/p0f-rs.1.gz man1/p0f-rs-client.1.gz man8/p0f-mailpolicy.8.gz; do
    text=$(MANWIDTH=80 man -P cat -l "/usr/share/man/$page" 2>&1)
    echo "$text" | grep -q '^NAME' || fail "$page does not render: $text"
done
MANWIDTH=80 man -P cat -l /usr/share/man/man1/p0f-rs.1.gz | grep -q -- '--bug-compat' || fail "p0f-rs.1 lacks --bug-compat"
p0f-mailpolicy --check -c /etc/p0f-mailpolicy/p0f-mailpolicy.toml

echo "-- the installed binary on samples/loopback.pcap"
out=$(p0f-rs -r samples/loopback.pcap)
echo "$out" | grep -q 'os       = Linux' || fail "no Linux fingerprint in: $out"
if [ -x target/release/p0f ]; then
    [ "$out" = "$(target/release/p0f -r samples/loopback.pcap)" ] || fail "installed binary differs from the build"
fi

echo "-- live on lo: one SYN answered through the API"
dir=$(mktemp -d)
port=47913
p0f-rs -i lo -s "$dir/p0f.sock" "tcp port $port" >"$dir/out" 2>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
    grep -q 'Entered main event loop' "$dir/err" "$dir/out" 2>/dev/null && break
    sleep 0.1
done
grep -q 'Entered main event loop' "$dir/err" "$dir/out" || fail "daemon did not start: $(cat "$dir/err")"
python3 - "$port" <<'PY'
import socket, sys
port = int(sys.argv[1])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(1)
cli = socket.create_connection(("127.0.0.1", port))
conn, _ = srv.accept()
cli.close(); conn.close(); srv.close()
PY
# Wait until the daemon has printed the SYN, then ask once.
for _ in $(seq 100); do
    grep -q "(syn)" "$dir/out" && break
    sleep 0.1
done
grep -q "(syn)" "$dir/out" || fail "the SYN was not seen: $(cat "$dir/out" "$dir/err")"
answer=$(p0f-rs-client "$dir/p0f.sock" 127.0.0.1)
echo "$answer"
echo "$answer" | grep -q '^Detected OS   = Linux' || fail "API answer: $answer"
echo "check-installed: all good"
