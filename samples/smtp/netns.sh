# Network namespaces for the SMTP captures and the live SMTP test: one hub
# namespace holding a bridge, and one namespace per MTA or client joined to
# it by a veth pair. Source this file; needs root and iproute2.
# SD_PFX names every namespace (default sd); SD_NET is the /24 they share.

SD_PFX=${SD_PFX:-sd}
SD_NET=${SD_NET:-10.88.0}
SD_HUB=$SD_PFX-hub

# sd_hub ADDR_SUFFIX...: the hub namespace and its bridge, with the given
# addresses (SD_NET.N) on the bridge.
sd_hub() {
    ip netns add "$SD_HUB"
    ip -n "$SD_HUB" link add br0 type bridge
    ip -n "$SD_HUB" link set lo up
    ip -n "$SD_HUB" link set br0 up
    local n
    for n in "$@"; do ip -n "$SD_HUB" addr add "$SD_NET.$n/24" dev br0; done
}

# sd_node NAME N: namespace SD_PFX-NAME at SD_NET.N, on the hub's bridge.
sd_node() {
    local ns=$SD_PFX-$1 n=$2
    ip netns add "$ns"
    ip link add "${SD_PFX}v$n" netns "$ns" type veth peer name "${SD_PFX}p$n" netns "$SD_HUB"
    ip -n "$SD_HUB" link set "${SD_PFX}p$n" master br0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "${SD_PFX}v$n" name eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" addr add "$SD_NET.$n/24" dev eth0
}

sd_teardown() {
    local ns
    for ns in $(ip netns list | awk '{print $1}' | grep "^$SD_PFX-"); do
        ip netns pids "$ns" | xargs -r kill 2>/dev/null
        sleep 0.2
        ip netns pids "$ns" | xargs -r kill -9 2>/dev/null
        ip netns del "$ns"
    done
}

# sd_windows NAME: make namespace SD_PFX-NAME's TCP stack send a SYN that
# p0f reads as Windows (TTL 128, no timestamps, no window scaling, a window
# of 10 x MSS, MTU 1400), as the mail-policy live tests do
# (crates/p0f-milter/tests/support/mod.rs, WIN). TCP Fast Open is off: Exim
# asks for a TFO cookie by default, and that option changes the SYN.
sd_windows() {
    local ns=$SD_PFX-$1
    local addr
    addr=$(ip -n "$ns" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
    ip netns exec "$ns" sysctl -q -w net.ipv4.ip_default_ttl=128 net.ipv4.tcp_timestamps=0 \
        net.ipv4.tcp_window_scaling=0 "net.ipv4.tcp_rmem=4096 131072 6291456" \
        net.ipv4.tcp_fastopen=0 >/dev/null
    ip -n "$ns" link set eth0 mtu 1400
    ip -n "$ns" route replace "$SD_NET.0/24" dev eth0 proto kernel scope link src "$addr" initrwnd 10
}
