# Real mail transfer agents side by side, for the SMTP captures and the live
# SMTP test. Source this file; needs root, iproute2, apt-get and dpkg.
#
# Debian's Postfix is used as installed (/usr/sbin/postfix, one private
# instance per call, with its own config and queue directories). Exim4,
# OpenSMTPD and Sendmail conflict with Postfix and with one another as
# packages, so mta_fetch downloads their .debs (apt-get download) and
# unpacks them (dpkg -x) into a private root; their binaries run from there
# with configurations written here. Nothing is installed into the system
# except the service users OpenSMTPD and Exim insist on (as their packages'
# maintainer scripts would create them).
#
# Every MTA runs in a network namespace given by the caller, listens on
# port 25 there, and relays every message to one smarthost (IP:port): a
# sending MTA as a mail server would be set up to forward to its provider.
# The settings chosen are the packages' defaults wherever the SMTP dialogue
# depends on them (Debian's main.cf TLS settings, Debian's sendmail.mc
# greet_pause); the rest only makes them run from a tempdir.

SD_MTA_PKGS="exim4-base exim4-config exim4-daemon-light opensmtpd sendmail-bin sendmail-base sendmail-cf"

# mta_fetch ROOT: the packages above, unpacked into ROOT (kept if present).
mta_fetch() {
    local root=$1
    mta_libs
    [ -x "$root/usr/sbin/exim4" ] && [ -x "$root/usr/sbin/smtpd" ] &&
        [ -x "$root/usr/libexec/sendmail/sendmail" ] && return 0
    local debs
    debs=$(mktemp -d /tmp/sd-debs.XXXXXX)
    (cd "$debs" && apt-get download -q $SD_MTA_PKGS) >&2 || {
        apt-get update -q >&2 && (cd "$debs" && apt-get download -q $SD_MTA_PKGS) >&2
    } || return 1
    mkdir -p "$root"
    for d in "$debs"/*.deb; do dpkg -x "$d" "$root"; done
    rm -rf "$debs"
}

# mta_libs: the shared libraries the unpacked binaries link, and the tools
# used below, installed when missing.
mta_libs() {
    local need=""
    for lib in libevent-2.1-7 libgnutls-dane0 libidn12 libldap-2.5-0 liblockfile1 \
        libsasl2-2 libwrap0 libnsl2 libdb5.3 m4 openssl; do
        dpkg -s "$lib" >/dev/null 2>&1 || need="$need $lib"
    done
    [ -z "$need" ] || apt-get install -y -q --no-install-recommends $need </dev/null >&2
}

# sd_user NAME [HOME]: a system user for a daemon that will not run as root.
sd_user() {
    id "$1" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir "${2:-/nonexistent}" \
        --shell /usr/sbin/nologin --user-group "$1"
}

# mta_cert DIR: a self-signed certificate DIR/cert.pem + DIR/key.pem.
mta_cert() {
    [ -s "$1/cert.pem" ] && return 0
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=mx.example" \
        -keyout "$1/key.pem" -out "$1/cert.pem" >/dev/null 2>&1
    chmod 644 "$1/key.pem" "$1/cert.pem"
}

# pf_start NS DIR HOSTNAME SMARTHOST [main.cf lines...]: a private Postfix
# instance in namespace NS listening on port 25 (all addresses), relaying
# to SMARTHOST ("[ip]:port", or "" to keep mail: it is then discarded).
pf_start() {
    local ns=$1 dir=$2 host=$3 relay=$4
    shift 4
    mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
    chown postfix "$dir/data"
    cp /etc/postfix/master.cf "$dir/etc/master.cf"
    # No chroot: the private queue directory has no copy of /etc.
    postconf -c "$dir/etc" -F '*/*/chroot = n'
    cat >"$dir/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = /tmp, /var
maillog_file = $dir/log
myhostname = $host
mydomain = example.org
mydestination = $host
inet_interfaces = all
inet_protocols = ipv4
mynetworks = 0.0.0.0/0
smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination
alias_maps =
alias_database =
local_recipient_maps =
local_transport = discard:
smtp_dns_support_level = disabled
smtpd_banner = \$myhostname ESMTP \$mail_name (Debian/GNU)
smtp_tls_security_level = may
smtpd_tls_security_level = none
relayhost = $relay
CF
    [ -n "$relay" ] || echo "default_transport = discard:" >>"$dir/etc/main.cf"
    local kv
    for kv in "$@"; do postconf -c "$dir/etc" -e "$kv"; done
    # PF_MASTER: master.cf lines replacing the default smtp service.
    if [ -n "${PF_MASTER:-}" ]; then
        postconf -c "$dir/etc" -MX smtp/inet
        printf '%s\n' "$PF_MASTER" >>"$dir/etc/master.cf"
    fi
    postfix -c "$dir/etc" check >&2
    ip netns exec "$ns" postfix -c "$dir/etc" start >&2
}

pf_stop() { postfix -c "$1/etc" stop >/dev/null 2>&1 || true; }

# exim_start NS DIR HOSTNAME SMARTHOST_IP SMARTHOST_PORT ROOT
exim_start() {
    local ns=$1 dir=$2 host=$3 rip=$4 rport=$5 root=$6
    sd_user Debian-exim
    mkdir -p "$dir/spool" "$dir/log"
    chown -R Debian-exim:Debian-exim "$dir/spool" "$dir/log"
    cat >"$dir/exim.conf" <<CF
primary_hostname = $host
exim_path = $root/usr/sbin/exim4
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $dir/spool
log_file_path = $dir/log/%slog
pid_file_path = $dir/exim.pid
daemon_smtp_ports = 25
local_interfaces = 0.0.0.0
never_users = root
host_lookup =
rfc1413_hosts =
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
tls_advertise_hosts =
begin acl
acl_rcpt:
  accept
acl_data:
  accept
begin routers
smarthost:
  driver = manualroute
  domains = *
  route_list = * $rip::$rport byname
  transport = remote_smtp_smarthost
  self = send
  no_more
begin transports
remote_smtp_smarthost:
  driver = smtp
  port = $rport
begin retry
* * F,1h,1m
CF
    ip netns exec "$ns" "$root/usr/sbin/exim4" -C "$dir/exim.conf" -bd -q1m >&2
}

exim_stop() { [ -s "$1/exim.pid" ] && kill "$(cat "$1/exim.pid")" 2>/dev/null || true; }

# smtpd_start NS DIR HOSTNAME SMARTHOST_IP SMARTHOST_PORT ROOT: OpenSMTPD.
# Its queue path and control socket are compiled in (/var/spool/smtpd,
# /run/smtpd.sock): it runs in a mount namespace of its own with DIR/spool
# and DIR/run mounted there.
smtpd_start() {
    local ns=$1 dir=$2 host=$3 rip=$4 rport=$5 root=$6
    # Its privilege-separated processes chroot to the users' home, as the
    # package's postinst sets it up.
    sd_user opensmtpd /var/lib/opensmtpd/empty
    sd_user opensmtpq /var/lib/opensmtpd/empty
    mkdir -p /var/lib/opensmtpd/empty "$dir/spool" "$dir/run"
    chmod 711 "$dir/spool"
    cat >"$dir/smtpd.conf" <<CF
listen on 0.0.0.0 port 25 hostname $host
action "relay" relay host smtp://$rip:$rport helo $host
match from any for any action "relay"
CF
    ip netns exec "$ns" unshare -m --propagation private sh -c "
        mkdir -p /var/spool/smtpd && mount --bind '$dir/spool' /var/spool/smtpd &&
        mount --bind '$dir/run' /run &&
        exec '$root/usr/sbin/smtpd' -f '$dir/smtpd.conf' -d" >"$dir/log" 2>&1 &
    echo $! >"$dir/smtpd.pid"
}

smtpd_stop() { [ -s "$1/smtpd.pid" ] && kill -- "$(cat "$1/smtpd.pid")" 2>/dev/null || true; }

# sendmail_start NS DIR HOSTNAME SMARTHOST_IP ROOT: Sendmail built from
# Debian's sendmail.mc features that shape the dialogue (greet_pause 1 s),
# listening on all addresses, relaying everything to SMARTHOST_IP:25.
sendmail_start() {
    local ns=$1 dir=$2 host=$3 rip=$4 root=$5
    local cf=$root/usr/share/sendmail/cf
    mkdir -p "$dir/mqueue" "$dir/clientmqueue"
    chmod 700 "$dir/mqueue"
    : >"$dir/aliases"
    printf '%s\n' "$host" >"$dir/local-host-names"
    # No DNS in the namespaces: names come from files only.
    printf 'hosts files\naliases files\n' >"$dir/service.switch"
    cat >"$dir/sendmail.mc" <<MC
divert(-1)
divert(0)dnl
include(\`$cf/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`$host')dnl
define(\`SMART_HOST', \`[$rip]')dnl
define(\`QUEUE_DIR', \`$dir/mqueue')dnl
define(\`ALIAS_FILE', \`$dir/aliases')dnl
define(\`confCW_FILE', \`$dir/local-host-names')dnl
define(\`STATUS_FILE', \`$dir/statistics')dnl
define(\`confPID_FILE', \`$dir/sendmail.pid')dnl
define(\`confDONT_PROBE_INTERFACES', \`true')dnl
define(\`confSERVICE_SWITCH_FILE', \`$dir/service.switch')dnl
FEATURE(\`nocanonify')dnl
define(\`confPRIVACY_FLAGS', \`needmailhelo,needexpnhelo,needvrfyhelo,restrictqrun,restrictexpand,nobodyreturn,authwarnings')dnl
define(\`confDEF_USER_ID', \`mail:mail')dnl
define(\`confTO_IDENT', \`0s')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`promiscuous_relay')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`accept_unqualified_senders')dnl
FEATURE(\`greet_pause', \`1000')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA-v4, Port=smtp, Addr=0.0.0.0')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MC
    m4 "$dir/sendmail.mc" >"$dir/sendmail.cf"
    ip netns exec "$ns" "$root/usr/libexec/sendmail/sendmail" -C "$dir/sendmail.cf" -bd -q1m >&2
}

sendmail_stop() { [ -s "$1/sendmail.pid" ] && kill "$(head -1 "$1/sendmail.pid")" 2>/dev/null || true; }
