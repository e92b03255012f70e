# nl/ against the real igb driver: batched VF sets read back by our parser
# and by iproute2, bad values refused by the kernel with nothing changed, the
# PF brought up with no IPv6 address and no Tx hang.  Also records the raw
# GETLINK replies used as unit-test fixtures into $VFAGENT_LAB_OUT/nl/
# (see tests/fixtures/nl/README).
. tests/lab/lib.sh
T=tests/lab/nl_tool
set -- $(lab_pf) || true
pf=${1:-} pfpci=${2:-}
if [ -z "$pf" ]; then fail "nl.pf: no SR-IOV capable netdev in the guest"; exit 0; fi
if [ ! -x $T ]; then fail "nl.tool: $T not built (make)"; exit 0; fi
dev=/sys/class/net/$pf/device
out=${VFAGENT_LAB_OUT:-/tmp}/nl
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'echo 0 >$dev/sriov_numvfs 2>/dev/null; rm -rf "$tmp"' EXIT

# "vf N mac=.. vlan=.. qos=.. spoofchk=.. trust=.." from our parser.
ours() { $T get "$pf" | sed -n 's/^vf \([0-9]*\) has=[^ ]* \(mac=[^ ]*\) \(vlan=[^ ]*\) \(qos=[^ ]*\) proto=[^ ]* \(spoofchk=[^ ]*\) \(trust=[^ ]*\).*/vf \1 \2 \3 \4 \5 \6/p'; }
# The same from `ip -j -d link show`.
if command -v python3 >/dev/null; then
	theirs() {
		ip -j -d link show "$pf" | python3 -c '
import json, sys
l = json.load(sys.stdin)[0]
for v in l.get("vfinfo_list", []):
    vl = (v.get("vlan_list") or [{}])[0]
    print("vf %d mac=%s vlan=%d qos=%d spoofchk=%d trust=%d" % (v["vf"],
        v.get("address", "?"), vl.get("vlan", v.get("vlan", 0)),
        vl.get("qos", v.get("qos", 0)), bool(v.get("spoofchk")), bool(v.get("trust"))))'
	}
elif command -v jq >/dev/null; then
	theirs() {
		ip -j -d link show "$pf" | jq -r '.[0].vfinfo_list[]? |
		  "vf \(.vf) mac=\(.address) vlan=\((.vlan_list[0].vlan // .vlan // 0))" +
		  " qos=\((.vlan_list[0].qos // .qos // 0)) spoofchk=\(if .spoofchk then 1 else 0 end)" +
		  " trust=\(if .trust then 1 else 0 end)"'
	}
else
	theirs() { return 1; }
fi
vfline() { ours | grep "^vf $1 "; }

# -- record fixtures: no VFs, 7 fresh VFs, 7 VFs configured with ip(8)
echo 0 >$dev/sriov_numvfs
$T record "$pf" "$out/igb_0vfs.bin" >/dev/null
echo 7 >$dev/sriov_numvfs
$T record "$pf" "$out/igb_7vfs_fresh.bin" >/dev/null
ip -d link show "$pf" >"$out/igb_7vfs_fresh.txt"
ip link set "$pf" vf 0 mac 52:54:00:aa:bb:cc vlan 100 qos 3 spoofchk on trust on
ip link set "$pf" vf 1 vlan 200 qos 7 spoofchk off
ip link set "$pf" vf 2 mac 02:00:00:00:02:02 trust on
ip link set "$pf" vf 6 vlan 4094
$T record "$pf" "$out/igb_7vfs_set.bin" >"$tmp/rec" 2>&1
check "nl.record" "$(cat "$tmp/rec")" [ -s "$out/igb_7vfs_set.bin" ]
ip -d link show "$pf" >"$out/igb_7vfs_set.txt"
ours >"$out/igb_7vfs_set.ours"
theirs >"$out/igb_7vfs_set.ip" 2>&1
check "nl.parse_ip_set_matches_ip" "ours vs ip differ: $(diff "$out/igb_7vfs_set.ours" "$out/igb_7vfs_set.ip" | tr '\n' ' ')" \
	cmp -s "$out/igb_7vfs_set.ours" "$out/igb_7vfs_set.ip"

# -- fresh VFs for our own sets
echo 0 >$dev/sriov_numvfs
echo 7 >$dev/sriov_numvfs
$T findpci "$pfpci" >"$tmp/find" 2>&1
check "nl.find_pci" "$(head -c 300 "$tmp/find")" \
	grep -q "^link .*name=$pf .*parent_bus=pci parent_dev=$pfpci .*num_vf=7 n_vfs=7 truncated=0" "$tmp/find"
$T get "$pf" >"$tmp/get" 2>&1
check "nl.get_7vfs" "$(head -c 300 "$tmp/get")" \
	grep -q "^link .*num_vf=7 n_vfs=7 truncated=0" "$tmp/get"
n=$(grep -c '^vf .*has=0xff ' "$tmp/get")
# igb sends MAC, VLAN(+list), spoofchk, trust, link state, rates; not RSS query.
check "nl.get_has_bits" "$n of 7 VFs have has=0xff (mac vlan proto spoofchk trust link_state rate tx_rate; no rss): $(grep '^vf 0' "$tmp/get")" [ "$n" = 7 ]

# -- one message, four VFs, every supported setting
$T set "$pf" vf 0 mac 52:54:00:00:00:10 vlan 100 qos 3 spoofchk on trust on \
	vf 1 mac 52:54:00:00:00:11 vlan 101 qos 0 spoofchk off trust on \
	vf 3 mac 52:54:00:00:00:13 vlan 4094 qos 7 spoofchk on trust off \
	vf 5 mac 52:54:00:00:00:15 vlan 200 qos 5 proto 802.1Q spoofchk off trust off >"$tmp/set" 2>&1
check "nl.set_batch" "$(cat "$tmp/set")" grep -qx ok "$tmp/set"
ours >"$tmp/ours"
cat >"$tmp/want" <<EOF
vf 0 mac=52:54:00:00:00:10 vlan=100 qos=3 spoofchk=1 trust=1
vf 1 mac=52:54:00:00:00:11 vlan=101 qos=0 spoofchk=0 trust=1
vf 3 mac=52:54:00:00:00:13 vlan=4094 qos=7 spoofchk=1 trust=0
vf 5 mac=52:54:00:00:00:15 vlan=200 qos=5 spoofchk=0 trust=0
EOF
grep -E '^vf (0|1|3|5) ' "$tmp/ours" >"$tmp/ours4"
check "nl.set_batch_readback_ours" "$(diff "$tmp/want" "$tmp/ours4" | tr '\n' ' ')" cmp -s "$tmp/want" "$tmp/ours4"
if theirs >"$tmp/theirs" 2>/dev/null && [ -s "$tmp/theirs" ]; then
	check "nl.set_batch_readback_ip" "ours vs ip -j -d: $(diff "$tmp/ours" "$tmp/theirs" | tr '\n' ' ')" cmp -s "$tmp/ours" "$tmp/theirs"
else
	skip "nl.set_batch_readback_ip: neither python3 nor jq to read ip -j"
fi
check "nl.set_batch_proto" "vf 5: $(vfline 5)" sh -c "$T get $pf | grep -q '^vf 5 .*proto=0x8100'"

# -- bad values: refused by the kernel, and nothing changed (ours and ip's view)
bad() {
	name=$1 want=$2; shift 2
	$T get "$pf" >"$tmp/before"; ip -d link show "$pf" >"$tmp/ipbefore"
	$T set "$pf" "$@" >"$tmp/err" 2>&1; rc=$?
	$T get "$pf" >"$tmp/after"; ip -d link show "$pf" >"$tmp/ipafter"
	echo "$name: $(cat "$tmp/err")" >>"$out/errors.txt"
	check "nl.bad_$name" "rc=$rc, $(cat "$tmp/err")" \
		sh -c "[ $rc = 1 ] && grep -q '^error $want kernel=[01] msg=.' '$tmp/err'"
	check "nl.bad_${name}_unchanged" "$(diff "$tmp/before" "$tmp/after" | tr '\n' ' ')" \
		sh -c "cmp -s '$tmp/before' '$tmp/after' && cmp -s '$tmp/ipbefore' '$tmp/ipafter'"
}
bad vlan4096 EINVAL vf 2 vlan 4096
bad qos8 EINVAL vf 2 vlan 10 qos 8
bad vf7 EINVAL vf 7 mac 52:54:00:00:00:17
bad mcast_mac EINVAL vf 2 mac 01:00:5e:00:00:01
bad proto_8021ad EPROTONOSUPPORT vf 2 vlan 10 proto 802.1ad

# Extended ack: a request failing the attribute policy gets the kernel's
# text, read by vfnl_parse_error() (recorded for the unit tests too).
for m in cap nocap; do
	$T badreq "$pf" $m "$out/extack_$m.bin" >"$tmp/ea" 2>&1
	check "nl.ext_ack_$m" "$(cat "$tmp/ea")" grep -q '^error E[A-Z]* kernel=1 msg=Attribute failed policy validation' "$tmp/ea"
done

# The kernel applies IFLA_VF_INFO entries in order and stops at the first
# failure (documented at vfnl_set_vfs): VF 4's MAC lands, VF 2's VLAN does not.
$T set "$pf" vf 4 mac 52:54:00:00:00:14 vf 2 vlan 4096 >"$tmp/err" 2>&1
check "nl.partial_apply_in_order" "$(cat "$tmp/err"); $(vfline 4)" \
	sh -c "grep -q '^error EINVAL' '$tmp/err' && $T get $pf | grep -q '^vf 4 .*mac=52:54:00:00:00:14'"

# -- the PF: up with no IPv6 address and no Tx hang; then down
ip link set "$pf" down
dmesg | grep -c 'Tx Unit Hang' >"$tmp/hang0"
$T pfup "$pf" >"$tmp/up" 2>&1
check "nl.pf_up" "$(cat "$tmp/up")" sh -c "grep -qx ok '$tmp/up' && $T get $pf | grep -q '^link .*up=1'"
check "nl.pf_up_addrgenmode" "$(ip -d link show "$pf" | grep -o 'addrgenmode [a-z0-9_]*')" \
	sh -c "ip -d link show $pf | grep -q 'addrgenmode none'"
# The hang shows ~10 s after link up when IPv6 autoconf transmits; watch 12 s.
i=0 hung=0
while [ $i -lt 24 ]; do
	[ "$(dmesg | grep -c 'Tx Unit Hang')" -gt "$(cat "$tmp/hang0")" ] && { hung=1; break; }
	sleep 0.5; i=$((i + 1))
done
check "nl.pf_up_no_tx_hang" "dmesg: $(dmesg | grep -m1 'Tx Unit Hang')" [ $hung = 0 ]
a=$(ip -6 addr show dev "$pf")
check "nl.pf_up_no_ipv6" "after 12 s: $a" [ -z "$a" ]
$T down "$pf" >"$tmp/down" 2>&1
check "nl.pf_down" "$(cat "$tmp/down")" sh -c "$T get $pf | grep -q '^link .*up=0'"

echo 0 >$dev/sriov_numvfs
n=$(ls -d $dev/virtfn* 2>/dev/null | wc -l)
check "nl.vfs_removed" "$n VFs left" [ "$n" = 0 ]
