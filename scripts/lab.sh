#!/usr/bin/env bash
# lab.sh - a multi-chassis OVN lab on one machine: pyovn (or real OVN) programming real Open
# vSwitch (userspace "netdev" datapath), chassis joined by Geneve tunnels over an underlay.
#
# Usage: scripts/lab.sh COMMAND [ARGS...]          (as root; see docs/lab.md)
#   up                               start everything; LAB_TOPO=demo also builds the demo
#   down                             stop every daemon (by pid), delete every namespace
#   status                           daemons, namespaces, chassis, bindings, tunnels
#   vm-add VM CHASSIS MAC IP/PLEN [IFACE-ID]   a VM: namespace + veth on CHASSIS' br-int
#   vm-del VM                        unplug and delete the VM (and its containers)
#   container-add VM NAME TAG MAC IP/PLEN       a container inside VM on VLAN TAG
#   container-del VM NAME
#   restart-controller CHASSIS | restart-vswitchd CHASSIS
#   exec NS CMD...                   run CMD in namespace NS (vm1, hv1, ul ...)
#   nbctl|sbctl ARGS...              ovn-nbctl / ovn-sbctl on the lab's databases
#   vsctl|ofctl|appctl CHASSIS ARGS  ovs-vsctl / ovs-ofctl / ovs-appctl of CHASSIS' OVS
#   vm-vsctl VM ARGS                 ovs-vsctl of the OVS inside VM (its container trunk)
#
# Settings (environment; "up" saves them in $LAB_DIR/lab.env, later commands read them back):
#   LAB_DIR=/tmp/pyovn-lab   state, sockets, logs     LAB_PREFIX=pl    namespace name prefix
#   LAB_CHASSIS=2            chassis hv1..hvN         LAB_NET=192.168.100   underlay /24
#   LAB_IMPL=pyovn           pyovn | ovn (Debian ovsdb-server + ovn-northd + ovn-controller)
#   LAB_ENCAP=geneve         geneve | vxlan           LAB_TOPO=demo    demo | none
#   PYOVN="pyovn"            how to run pyovn (e.g. "python3 -m pyovn.cli.main")
set -eu

LAB_DIR=${LAB_DIR:-/tmp/pyovn-lab}
STATE=$LAB_DIR/lab.env
VSS=/usr/share/openvswitch/vswitch.ovsschema
NBS=/usr/share/ovn/ovn-nb.ovsschema
SBS=/usr/share/ovn/ovn-sb.ovsschema

die() { echo "lab.sh: error: $*" >&2; exit 1; }
say() { echo "lab: $*" >&2; }

load_settings() {
    if [ -f "$STATE" ]; then
        # shellcheck disable=SC1090
        . "$STATE"
    fi
    LAB_PREFIX=${LAB_PREFIX:-pl}
    LAB_CHASSIS=${LAB_CHASSIS:-2}
    LAB_NET=${LAB_NET:-192.168.100}
    LAB_IMPL=${LAB_IMPL:-pyovn}
    LAB_ENCAP=${LAB_ENCAP:-geneve}
    LAB_TOPO=${LAB_TOPO:-demo}
    PYOVN=${PYOVN:-pyovn}
    C=$LAB_DIR/central
}

save_settings() {
    {
        echo "LAB_PREFIX='$LAB_PREFIX'"
        echo "LAB_CHASSIS='$LAB_CHASSIS'"
        echo "LAB_NET='$LAB_NET'"
        echo "LAB_IMPL='$LAB_IMPL'"
        echo "LAB_ENCAP='$LAB_ENCAP'"
        echo "LAB_TOPO='$LAB_TOPO'"
        echo "PYOVN='$PYOVN'"
    } > "$STATE"
}

# ------------------------------------------------------------------ names and wrappers
ns() { echo "$LAB_PREFIX-$1"; }            # short name (hv1, vm1, ul) -> namespace
hdir() { echo "$LAB_DIR/$1"; }             # chassis hvN -> its directory
vmdir() { echo "$LAB_DIR/vm/$1"; }         # VM -> its directory
in_ns() { local n; n=$(ns "$1"); shift; ip netns exec "$n" "$@"; }

nbctl() { ovn-nbctl --db=unix:"$C/nb.sock" --timeout=60 "$@"; }
sbctl() { ovn-sbctl --db=unix:"$C/sb.sock" --timeout=60 "$@"; }
vsctl() { local h; h=$(hdir "$1"); shift; ovs-vsctl --db=unix:"$h/conf.sock" --timeout=60 "$@"; }
ofctl() { local h; h=$(hdir "$1"); shift; OVS_RUNDIR=$h ovs-ofctl -O OpenFlow15 "$@"; }
appctl() { local h; h=$(hdir "$1"); shift; ovs-appctl -t "$h/vswitchd.ctl" "$@"; }
vm_vsctl() { local v; v=$(vmdir "$1"); shift; ovs-vsctl --db=unix:"$v/conf.sock" --timeout=60 "$@"; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (network namespaces, veths)"; }
need_up() { [ -f "$STATE" ] || die "no lab in $LAB_DIR (run: scripts/lab.sh up)"; }
chassis_ok() {
    case $1 in hv[0-9]*) [ -d "$(hdir "$1")" ] || die "no chassis $1 in this lab" ;;
    *) die "chassis names are hv1..hv$LAB_CHASSIS, not '$1'" ;; esac
}

# ------------------------------------------------------------------ processes
wait_for() {   # seconds description command... : poll until the command succeeds
    local t=$1 what=$2 i
    shift 2
    for ((i = 0; i < t * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "timed out after ${t}s waiting for $what"
}

ours() {   # pid -> true when it is alive and was started by this lab (argv names LAB_DIR)
    [ -n "$1" ] && tr '\0' ' ' < /proc/"$1"/cmdline 2>/dev/null | grep -q -- "$LAB_DIR"
}

stop_pidfile() {   # pidfile: SIGTERM the process it names, SIGKILL after 5 s
    local f=$1 p i
    [ -f "$f" ] || return 0
    p=$(cat "$f" 2>/dev/null || true)
    if ours "$p"; then
        kill "$p" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    fi
    rm -f "$f"
}

stop_vswitchd() {   # dir: "exit --cleanup" deletes the datapath and its tap devices
    local d=$1
    if [ -S "$d/vswitchd.ctl" ] && ours "$(cat "$d/vswitchd.pid" 2>/dev/null || true)"; then
        timeout 10 ovs-appctl -t "$d/vswitchd.ctl" exit --cleanup >/dev/null 2>&1 || true
    fi
    stop_pidfile "$d/vswitchd.pid"
}

start_ovsdb() {   # dir name schema-file [namespace] : Debian ovsdb-server on dir/name.sock
    local d=$1 name=$2 schema=$3 n=${4:-}
    [ -f "$d/$name.db" ] || ovsdb-tool create "$d/$name.db" "$schema"
    ${n:+ip netns exec "$n"} ovsdb-server -vconsole:off --detach --no-chdir --pidfile="$d/$name.pid" \
        --log-file="$d/$name.log" --unixctl="$d/$name.ctl" --remote=punix:"$d/$name.sock" \
        "$d/$name.db" || die "ovsdb-server for $d/$name.db did not start (see $d/$name.log)"
}

start_vswitchd() {   # dir namespace : ovs-vswitchd of dir/conf.sock inside namespace
    local d=$1 n=$2
    ip netns exec "$n" env OVS_RUNDIR="$d" OVS_LOGDIR="$d" OVS_DBDIR="$d" \
        ovs-vswitchd unix:"$d/conf.sock" -vconsole:off --detach --no-chdir --pidfile="$d/vswitchd.pid" \
        --log-file="$d/vswitchd.log" --unixctl="$d/vswitchd.ctl" \
        || die "ovs-vswitchd did not start in $n (see $d/vswitchd.log)"
}

add_netns() {   # short name: create the namespace, remember it, quiet IPv6 and ARP
    local n
    n=$(ns "$1")
    ip netns list | awk '{print $1}' | grep -qx "$n" && die "namespace $n already exists"
    ip netns add "$n"
    echo "$n" >> "$LAB_DIR/netns"
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 net.ipv4.conf.all.arp_ignore=1 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    ip -n "$n" link set lo up
}

# ------------------------------------------------------------------ central: NB, SB, northd
start_central() {
    mkdir -p "$C"
    if [ "$LAB_IMPL" = ovn ]; then
        start_ovsdb "$C" nb "$NBS"
        start_ovsdb "$C" sb "$SBS"
        ovn-northd -vconsole:off --detach --no-chdir --pidfile="$C/northd.pid" --log-file="$C/northd.log" \
            --unixctl="$C/northd.ctl" --ovnnb-db=unix:"$C/nb.sock" --ovnsb-db=unix:"$C/sb.sock" \
            || die "ovn-northd did not start (see $C/northd.log)"
    else
        local db
        for db in nb sb; do
            $PYOVN ovsdb-tool create "$C/$db.db" "$db" >/dev/null
            $PYOVN ovsdb-server --detach --remote=punix:"$C/$db.sock" --unixctl="$C/$db.ctl" \
                --pidfile="$C/$db.pid" --log-file="$C/$db.log" "$C/$db.db" \
                || die "pyovn ovsdb-server ($db) did not start (see $C/$db.log)"
        done
        $PYOVN northd --detach --ovnnb-db=unix:"$C/nb.sock" --ovnsb-db=unix:"$C/sb.sock" \
            --unixctl="$C/northd.ctl" --pidfile="$C/northd.pid" --log-file="$C/northd.log" \
            || die "pyovn northd did not start (see $C/northd.log)"
    fi
    wait_for 30 "the Northbound database" test -S "$C/nb.sock"
    wait_for 30 "the Southbound database" test -S "$C/sb.sock"
    nbctl init
}

# ------------------------------------------------------------------ chassis
chassis_ip() { echo "$LAB_NET.${1#hv}"; }

start_chassis() {   # hvN : namespace, underlay leg, ovsdb-server, ovs-vswitchd, br-phy, controller
    local hv=$1 h n ip mac i
    h=$(hdir "$hv"); n=$(ns "$hv"); ip=$(chassis_ip "$hv"); i=${hv#hv}
    mkdir -p "$h"
    add_netns "$hv"
    # jumbo underlay: a full 1500-byte VM frame plus Geneve headers fits without fragmenting
    ip link add "ul-$hv" netns "$(ns ul)" mtu 9000 type veth peer name eth-ul netns "$n" mtu 9000
    ip -n "$(ns ul)" link set "ul-$hv" master br-ul up
    ip -n "$n" link set eth-ul up
    start_ovsdb "$h" conf "$VSS" "$n"
    vsctl "$hv" --no-wait init
    start_vswitchd "$h" "$n"
    # the underlay: br-phy owns eth-ul and carries the tunnel endpoint IP on its internal
    # port, so the userspace datapath can encapsulate (native tunneling) and route
    printf -v mac '02:00:00:64:00:%02x' "$i"
    vsctl "$hv" add-br br-phy -- set Bridge br-phy datapath_type=netdev \
        other-config:hwaddr="\"$mac\"" -- set Interface br-phy mtu_request=9000 \
        -- add-port br-phy eth-ul
    ip -n "$n" addr add "$ip/24" dev br-phy
    ip -n "$n" link set br-phy up
    wait_for 10 "the underlay route on $hv" sh -c \
        "ovs-appctl -t '$h/vswitchd.ctl' ovs/route/show | grep -q '$LAB_NET.0/24 dev br-phy'"
    start_controller "$hv"
}

start_controller() {   # hvN
    local hv=$1 h n ip
    h=$(hdir "$hv"); n=$(ns "$hv"); ip=$(chassis_ip "$hv")
    if [ "$LAB_IMPL" = ovn ]; then
        vsctl "$hv" set Open_vSwitch . external_ids:system-id="$hv" \
            external_ids:hostname="$hv" external_ids:ovn-remote=unix:"$C/sb.sock" \
            external_ids:ovn-encap-type="$LAB_ENCAP" external_ids:ovn-encap-ip="$ip" \
            external_ids:ovn-bridge-datapath-type=netdev
        ip netns exec "$n" env OVS_RUNDIR="$h" OVN_RUNDIR="$h" OVN_LOGDIR="$h" \
            ovn-controller unix:"$h/conf.sock" -vconsole:off --detach --no-chdir --pidfile="$h/controller.pid" \
            --log-file="$h/controller.log" || die "ovn-controller did not start on $hv"
    else
        ip netns exec "$n" env OVS_RUNDIR="$h" $PYOVN controller --detach \
            --ovnsb-db=unix:"$C/sb.sock" --ovs-db=unix:"$h/conf.sock" --chassis="$hv" \
            --hostname="$hv" --encap-ip="$ip" --encap-type="$LAB_ENCAP" --datapath=ovs \
            --pidfile="$h/controller.pid" --log-file="$h/controller.log" \
            --unixctl="$h/controller.ctl" || die "pyovn controller did not start on $hv"
    fi
    wait_for 30 "chassis $hv in the Southbound database" sbctl get Chassis "$hv" name
    wait_for 30 "br-int on $hv" vsctl "$hv" br-exists br-int
}

# ------------------------------------------------------------------ VMs and containers
tx_csum_off() {   # VM IFACE: no checksum offload on a veth the VM's kernel sends on. The
    # userspace datapath reads frames with AF_PACKET and forwards them as they are, so a
    # TCP/UDP checksum left for "hardware" would arrive unfilled (what ethtool -K IFACE tx off
    # does, without needing ethtool)
    in_ns "$1" "${PYTHON:-python3}" - "$2" <<'EOF'
import array, fcntl, socket, struct, sys
SIOCETHTOOL, ETHTOOL_STXCSUM = 0x8946, 0x17
value = array.array("B", struct.pack("II", ETHTOOL_STXCSUM, 0))
ifreq = struct.pack("16sP16x", sys.argv[1].encode(), value.buffer_info()[0])
fcntl.ioctl(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), SIOCETHTOOL, ifreq)
EOF
}

vm_add() {   # VM CHASSIS MAC IP/PLEN [IFACE-ID]
    [ $# -ge 4 ] || die "usage: vm-add VM CHASSIS MAC IP/PLEN [IFACE-ID]"
    local vm=$1 hv=$2 mac=$3 ipp=$4 ifid=${5:-$1} v
    chassis_ok "$hv"
    [ ${#vm} -le 11 ] || die "VM names have at most 11 characters"
    v=$(vmdir "$vm")
    [ -e "$v" ] && die "VM $vm exists"
    mkdir -p "$v"
    printf 'VM_CHASSIS=%s\nVM_MAC=%s\nVM_IP=%s\n' "$hv" "$mac" "$ipp" > "$v/vm.env"
    add_netns "$vm"
    ip link add "vif-$vm" netns "$(ns "$hv")" type veth peer name eth0 netns "$(ns "$vm")"
    ip -n "$(ns "$hv")" link set "vif-$vm" up
    ip -n "$(ns "$vm")" link set eth0 address "$mac" up
    tx_csum_off "$vm" eth0
    [ "$ipp" = - ] || ip -n "$(ns "$vm")" addr add "$ipp" dev eth0
    vsctl "$hv" add-port br-int "vif-$vm" -- set Interface "vif-$vm" \
        external_ids:iface-id="$ifid"
}

vm_del() {   # VM
    local vm=$1 v VM_CHASSIS=""
    v=$(vmdir "$vm")
    [ -f "$v/vm.env" ] || die "no VM $vm"
    # shellcheck disable=SC1091
    . "$v/vm.env"
    stop_vswitchd "$v"
    stop_pidfile "$v/conf.pid"
    vsctl "$VM_CHASSIS" --if-exists del-port br-int "vif-$vm" || true
    ip netns del "$(ns "$vm")" 2>/dev/null || true
    rm -rf "$v"
}

vm_trunk() {   # VM: first container: the VM's own OVS takes eth0 as a VLAN trunk
    local vm=$1 v n VM_MAC="" VM_IP=""
    v=$(vmdir "$vm"); n=$(ns "$vm")
    # shellcheck disable=SC1091
    . "$v/vm.env"
    [ -S "$v/conf.sock" ] && return 0
    start_ovsdb "$v" conf "$VSS" "$n"
    vm_vsctl "$vm" --no-wait init
    start_vswitchd "$v" "$n"
    [ "$VM_IP" = - ] || ip -n "$n" addr del "$VM_IP" dev eth0
    # br-vm now answers for the VM's MAC; eth0 keeps a MAC of its own so the VM's kernel
    # does not take frames on the trunk for itself a second time
    ip -n "$n" link set eth0 address "02:ff:${VM_MAC#*:*:}"
    vm_vsctl "$vm" add-br br-vm -- set Bridge br-vm datapath_type=netdev \
        other-config:hwaddr="\"$VM_MAC\"" -- add-port br-vm eth0
    ip -n "$n" link set br-vm up
    [ "$VM_IP" = - ] || ip -n "$n" addr add "$VM_IP" dev br-vm
}

container_add() {   # VM NAME TAG MAC IP/PLEN
    [ $# -eq 5 ] || die "usage: container-add VM NAME TAG MAC IP/PLEN"
    local vm=$1 name=$2 tag=$3 mac=$4 ipp=$5 n
    [ -f "$(vmdir "$vm")/vm.env" ] || die "no VM $vm"
    [ ${#name} -le 15 ] || die "container names have at most 15 characters"
    n=$(ns "$vm")
    vm_trunk "$vm"
    vm_vsctl "$vm" add-port br-vm "$name" tag="$tag" -- set Interface "$name" type=internal \
        mac="\"$mac\""
    wait_for 10 "the container port $name in $vm" ip -n "$n" link show "$name"
    ip -n "$n" link set "$name" address "$mac" up
    ip -n "$n" addr add "$ipp" dev "$name"
}

container_del() {   # VM NAME
    vm_vsctl "$1" --if-exists del-port br-vm "$2"
}

# ------------------------------------------------------------------ the demo topology
demo() {
    # mgmt 192.168.0.0/24: vm1 vm2 (hv1), vm4 (hv2)
    # net-a 172.16.0.0/24: vm3 (hv1), vm5 (hv2), c1 in vm1 (VLAN 10), c2 in vm4 (VLAN 10)
    local two=""
    [ "$LAB_CHASSIS" -ge 2 ] && two=yes
    nbctl ls-add mgmt -- ls-add net-a
    lsp vm1 mgmt 0a:00:00:00:00:11 192.168.0.11
    lsp vm2 mgmt 0a:00:00:00:00:12 192.168.0.12
    lsp vm3 net-a 0a:00:00:00:00:13 172.16.0.30
    lsp c1 net-a 0a:00:00:00:01:10 172.16.0.10 vm1 10
    if [ -n "$two" ]; then
        lsp vm4 mgmt 0a:00:00:00:00:14 192.168.0.14
        lsp vm5 net-a 0a:00:00:00:00:15 172.16.0.50
        lsp c2 net-a 0a:00:00:00:01:20 172.16.0.20 vm4 10
    fi
    vm_add vm1 hv1 0a:00:00:00:00:11 192.168.0.11/24
    vm_add vm2 hv1 0a:00:00:00:00:12 192.168.0.12/24
    vm_add vm3 hv1 0a:00:00:00:00:13 172.16.0.30/24
    container_add vm1 c1 10 0a:00:00:00:01:10 172.16.0.10/24
    if [ -n "$two" ]; then
        vm_add vm4 hv2 0a:00:00:00:00:14 192.168.0.14/24
        vm_add vm5 hv2 0a:00:00:00:00:15 172.16.0.50/24
        container_add vm4 c2 10 0a:00:00:00:01:20 172.16.0.20/24
    fi
    local p
    for p in vm1 vm2 vm3 c1 ${two:+vm4 vm5 c2}; do
        nbctl --timeout=30 wait-until Logical_Switch_Port "$p" up=true \
            || die "logical port $p did not come up"
    done
    say "demo topology up: try  scripts/lab.sh exec vm1 ping -c3 192.168.0.12"
}

lsp() {   # name switch mac ip [parent tag] : a logical port with port security
    if [ $# -ge 6 ]; then nbctl lsp-add "$2" "$1" "$5" "$6"; else nbctl lsp-add "$2" "$1"; fi
    nbctl lsp-set-addresses "$1" "$3 $4" -- lsp-set-port-security "$1" "$3 $4"
}

# ------------------------------------------------------------------ up / down / status
up_failed() {
    [ "${LAB_KEEP:-}" = 1 ] && { say "up failed; LAB_KEEP=1: left as it is"; return; }
    say "up failed; cleaning up (LAB_KEEP=1 keeps a failed lab for a look)"
    down >/dev/null 2>&1 || true
}

up() {
    need_root
    [ -f "$STATE" ] && die "a lab is already up in $LAB_DIR (scripts/lab.sh down first)"
    case $LAB_IMPL in pyovn | ovn) ;; *) die "LAB_IMPL is pyovn or ovn, not '$LAB_IMPL'" ;; esac
    case $LAB_ENCAP in geneve | vxlan) ;; *) die "LAB_ENCAP is geneve or vxlan" ;; esac
    [ "$LAB_ENCAP" = vxlan ] && [ "$LAB_IMPL" = pyovn ] \
        && die "pyovn's controller tunnels with Geneve only (LAB_ENCAP=vxlan needs LAB_IMPL=ovn)"
    [ "$LAB_CHASSIS" -ge 1 ] 2>/dev/null || die "LAB_CHASSIS must be a number >= 1"
    command -v ovs-vswitchd >/dev/null || die "ovs-vswitchd is not installed"
    mkdir -p "$LAB_DIR"
    save_settings
    trap 'up_failed' EXIT
    say "underlay: namespace $(ns ul), bridge br-ul, $LAB_NET.0/24"
    add_netns ul
    ip -n "$(ns ul)" link add br-ul type bridge
    ip -n "$(ns ul)" link set br-ul up
    say "central: NB, SB, northd ($LAB_IMPL) in $C"
    start_central
    local i
    for ((i = 1; i <= LAB_CHASSIS; i++)); do
        say "chassis hv$i: namespace $(ns "hv$i"), encap $LAB_ENCAP $(chassis_ip "hv$i")"
        start_chassis "hv$i"
    done
    [ "$LAB_TOPO" = demo ] && demo
    trap - EXIT
    say "up ($LAB_DIR)"
}

down() {
    need_root
    [ -d "$LAB_DIR" ] || { say "nothing to do"; return 0; }
    local d f
    for f in "$LAB_DIR"/hv*/controller.pid; do [ -f "$f" ] && stop_pidfile "$f"; done
    stop_pidfile "$C/northd.pid"
    for d in "$LAB_DIR"/vm/* "$LAB_DIR"/hv*; do [ -d "$d" ] && stop_vswitchd "$d"; done
    for f in "$LAB_DIR"/*/*.pid "$LAB_DIR"/vm/*/*.pid; do [ -f "$f" ] && stop_pidfile "$f"; done
    if [ -f "$LAB_DIR/netns" ]; then
        for d in $(sort -u "$LAB_DIR/netns"); do ip netns del "$d" 2>/dev/null || true; done
    fi
    rm -rf "$LAB_DIR"
    say "down"
}

status() {
    need_up
    local f p name
    echo "lab: $LAB_DIR  impl=$LAB_IMPL encap=$LAB_ENCAP chassis=$LAB_CHASSIS prefix=$LAB_PREFIX"
    echo "daemons:"
    for f in "$LAB_DIR"/*/*.pid "$LAB_DIR"/vm/*/*.pid; do
        [ -f "$f" ] || continue
        p=$(cat "$f"); name=${f#"$LAB_DIR"/}
        if ours "$p"; then echo "  ${name%.pid} pid $p"; else echo "  ${name%.pid} NOT RUNNING"; fi
    done
    echo "namespaces: $(sort -u "$LAB_DIR/netns" | tr '\n' ' ')"
    echo "chassis and bindings:"
    sbctl show | sed 's/^/  /'
    echo "ports up: $(nbctl --bare --columns=name,up find Logical_Switch_Port up=true | tr -s '\n' ' ')"
    for f in "$LAB_DIR"/hv*; do
        p=${f##*/}
        echo "$p: $(ofctl "$p" dump-flows br-int 2>/dev/null | grep -c actions) flows on br-int," \
            "tunnels: $(vsctl "$p" --bare --columns=name find Interface type="$LAB_ENCAP" | tr -s '\n' ' ')"
    done
}

# ------------------------------------------------------------------ main
load_settings
cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
    up) up ;;
    down) down ;;
    status) status ;;
    vm-add) need_root; need_up; vm_add "$@" ;;
    vm-del) need_root; need_up; [ $# -eq 1 ] || die "usage: vm-del VM"; vm_del "$1" ;;
    container-add) need_root; need_up; container_add "$@" ;;
    container-del) need_up; [ $# -eq 2 ] || die "usage: container-del VM NAME"; container_del "$@" ;;
    restart-controller)
        need_up; chassis_ok "${1:-}"
        stop_pidfile "$(hdir "$1")/controller.pid"
        start_controller "$1" ;;
    restart-vswitchd)
        need_up; chassis_ok "${1:-}"
        stop_pidfile "$(hdir "$1")/vswitchd.pid"   # no --cleanup: like a crash, flows are lost
        start_vswitchd "$(hdir "$1")" "$(ns "$1")" ;;
    exec) need_up; [ $# -ge 2 ] || die "usage: exec NS CMD..."; in_ns "$@" ;;
    nbctl) need_up; nbctl "$@" ;;
    sbctl) need_up; sbctl "$@" ;;
    vsctl | ofctl | appctl) need_up; chassis_ok "${1:-}"; "$cmd" "$@" ;;
    vm-vsctl) need_up; [ $# -ge 1 ] || die "usage: vm-vsctl VM ARGS"; vm_vsctl "$@" ;;
    *) sed -n '2,/^set -eu/{/^#/p}' "$0" >&2; exit 2 ;;
esac
