# Shared helpers for the labelled captures: a server namespace with a bridge,
# and client namespaces that each carry one stack configuration. Only these
# namespaces see any traffic. Source this file; needs root, iproute2, tcpdump.

PFX=${PFX:-p0fl}
SRV=$PFX-srv

ns_setup_server() {
    ip netns add "$SRV"
    ip -n "$SRV" link add br0 type bridge
    ip -n "$SRV" link set lo up
    ip -n "$SRV" link set br0 up
    ip -n "$SRV" addr add 10.77.0.1/24 dev br0
    ip -n "$SRV" addr add fd77::1/64 dev br0 nodad
}

# ns_client NAME INDEX [sysctl=value ...]: a client at 10.77.0.INDEX and
# fd77::INDEX whose namespace gets the given sysctls.
ns_client() {
    local name=$1 idx=$2
    shift 2
    local ns=$PFX-$name
    ip netns add "$ns"
    ip link add "v$idx" netns "$ns" type veth peer name "p$idx" netns "$SRV"
    ip -n "$SRV" link set "p$idx" master br0 up
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "v$idx" name eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" addr add "10.77.0.$idx/24" dev eth0
    ip -n "$ns" addr add "fd77::$idx/64" dev eth0 nodad
    for kv in "$@"; do
        ip netns exec "$ns" sysctl -q -w "$kv" >/dev/null
    done
}

ns_teardown() {
    for ns in $(ip netns list | awk '{print $1}' | grep "^$PFX-"); do
        ip netns pids "$ns" | xargs -r kill 2>/dev/null
        ip netns del "$ns"
    done
}
