# vfagent serve with real VFs: per-pool rules and lease ownership through
# the socket (the owner survives a daemon restart), revocation on SIGHUP
# of an open connection, a half-closed alloc that gets its reply.
# VFAGENT_BIN=PATH runs another build; VFAGENT_OLD=1 leaves the rule keys
# out of the config (for the parent commit's build, which must fail).
. tests/lab/lib.sh
V=${VFAGENT_BIN:-$PWD/vfagent} T="$PWD/tests/lab/serve_tool"
rule() { [ -n "${VFAGENT_OLD:-}" ] || echo "$1"; }
set -- $(lab_pf) || { fail "flow.pf: no SR-IOV PF"; exit 0; }
pf=$1
out=${VFAGENT_LAB_OUT:-/tmp}/flow
mkdir -p "$out"
conf=$out/vfagent.conf st=/run/vfagent-flow log=$out/daemon.log sock=/run/vfagent-flow/vfagent.sock
nob=$(id -g nobody)
{
	printf '[libvirt]\nuri = qemu:///system\n[pool net1]\npf = %s\nvfs = 7\n' "$pf"
	rule "allow-users = daemon bin"
	rule "allow-vlans = 100-199"
	printf '[serve]\nallow-users = daemon bin nobody\n'
} >"$conf"
va() { "$V" -c "$conf" -s "$st" "$@"; }
as() { who=$1; shift; setpriv --reuid "$who" --regid "$nob" --clear-groups "$@"; }
leased() { va --json status | jq '.pools[0].leased'; }
start_daemon() {
	"$V" -c "$conf" -s "$st" serve >>"$log" 2>&1 &
	dpid=$!
	for i in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
	chmod 755 "$st"
	[ -S "$sock" ]
}
rm -rf "$st"; : >"$log"
va setup >/dev/null 2>&1; check flow.setup "setup failed" [ $? = 0 ]
start_daemon; check flow.daemon_starts "$(cat $log)" [ $? = 0 ]

# Per-pool VLAN rule on a real VF: 150 is set, 300 is refused (exit 5)
# and touches nothing.
as daemon "$V" -c "$conf" -s "$st" --json alloc --pool net1 --vlan 150 >"$out/a1.json" 2>&1; rc=$?
id1=$(jq -r .id "$out/a1.json" 2>/dev/null) pci1=$(jq -r .pci "$out/a1.json" 2>/dev/null)
check flow.alloc_vlan_allowed "rc=$rc $(cat $out/a1.json)" sh -c "[ $rc = 0 ] && ip -d link show $pf | grep -q 'vlan 150'"
before=$(ip -d link show "$pf" | grep ' vf ')
as daemon "$V" -c "$conf" -s "$st" alloc --pool net1 --vlan 300 >"$out/a2.out" 2>&1; rc=$?
n=$(leased) after=$(ip -d link show "$pf" | grep ' vf ')
check flow.alloc_vlan_denied "rc=$rc n=$n $(cat $out/a2.out)" sh -c "[ $rc = 5 ] && grep -q 'allow-vlans' $out/a2.out && [ $n = 1 ] && [ '$after' = '$before' ]"
as nobody "$V" -c "$conf" -s "$st" alloc --pool net1 >"$out/a3.out" 2>&1; rc=$?
n=$(leased)
check flow.alloc_user_denied "rc=$rc n=$n $(cat $out/a3.out)" sh -c "[ $rc = 5 ] && grep -q 'in \[pool net1\]' $out/a3.out && [ $n = 1 ]"

# Another user's lease: refused, also after a daemon restart; the owner
# releases it.
as bin "$V" -c "$conf" -s "$st" release --lease "$id1" >"$out/r1.out" 2>&1; rc=$?
n=$(leased)
check flow.release_other_denied "rc=$rc n=$n $(cat $out/r1.out)" sh -c "[ $rc = 5 ] && grep -q 'belongs to uid 1' $out/r1.out && [ $n = 1 ]"
kill $dpid; wait $dpid 2>/dev/null
start_daemon
as bin "$V" -c "$conf" -s "$st" release --pci "$pci1" >"$out/r2.out" 2>&1; rc=$?
n=$(leased)
check flow.owner_survives_restart "rc=$rc n=$n $(cat $out/r2.out)" sh -c "[ $rc = 5 ] && [ $n = 1 ]"
as daemon "$V" -c "$conf" -s "$st" release --lease "$id1" >"$out/r3.out" 2>&1; rc=$?
n=$(leased)
check flow.release_own "rc=$rc n=$n $(cat $out/r3.out)" sh -c "[ $rc = 0 ] && [ $n = 0 ]"

# An alloc sent with a half-close (nc -N, socat): the reply comes.
"$T" "$sock" 'send:{"op":"alloc","pool":"net1"}\n' shutwr eof >"$out/h.out" 2>&1
id2=$(head -n1 "$out/h.out" | jq -r .result.id 2>/dev/null)
n=$(leased)
check flow.half_close_alloc "n=$n $(cat $out/h.out)" sh -c "head -n1 $out/h.out | jq -e .ok >/dev/null && grep -qx eof $out/h.out && [ $n = 1 ]"
va release --lease "$id2" >/dev/null 2>&1

# SIGHUP that removes a user: its open connection may no longer release.
as daemon "$T" "$sock" 'send:{"op":"alloc","pool":"net1"}\n' read:1 sleep:2000 \
	'send:{"op":"release","pci":"PCI"}\n' read:1 >"$out/hup.out" 2>&1 &
h=$!
sleep 1
sed -i "s/^allow-users = daemon bin nobody$/allow-users = bin nobody/" "$conf"
kill -HUP $dpid
wait $h
n=$(leased)
check flow.sighup_revokes "n=$n $(cat $out/hup.out)" sh -c "head -n1 $out/hup.out | jq -e .ok >/dev/null && tail -n1 $out/hup.out | grep -q 'permission denied' && [ $n = 1 ]"
va release --pci "$(head -n1 $out/hup.out | jq -r .result.pci)" >/dev/null 2>&1
check flow.root_releases_any "$(leased) leased" [ "$(leased)" = 0 ]

# release --domain UUID: vfa_release matches the domain by UUID, and so
# must the ownership rule (bin allocates, nobody may not release it).
. tests/lab/libvirt.sh
if pgrep -x libvirtd >/dev/null || lab_libvirt_start; then
	virsh -q dominfo l2 >/dev/null 2>&1 || lab_l2_define
	virsh -q start l2 >/dev/null 2>&1
	as bin "$V" -c "$conf" -s "$st" --json alloc --pool net1 --domain l2 --live >"$out/d.json" 2>&1; rc=$?
	check flow.alloc_domain "rc=$rc $(cat $out/d.json)" [ "$(jq -r .attached $out/d.json 2>/dev/null)" = true ]
	uuid=$(virsh domuuid l2 | head -n1)
	as nobody "$V" -c "$conf" -s "$st" release --domain "$uuid" >"$out/u.out" 2>&1; rc=$?
	n=$(leased)
	check flow.release_by_uuid_denied "rc=$rc n=$n uuid=$uuid $(cat $out/u.out)" sh -c "[ $rc = 5 ] && [ $n = 1 ]"
	va release --domain l2 >/dev/null 2>&1
	virsh -q destroy l2 >/dev/null 2>&1
	# A renamed domain: vfa_release finds the lease by the new name's UUID.
	va release --domain l2 >/dev/null 2>&1
	n0=$(leased)
	as bin "$V" -c "$conf" -s "$st" --json alloc --pool net1 --domain l2 --persistent >"$out/p.json" 2>&1; rc=$?
	if [ $rc = 0 ] && virsh -q domrename l2 l2r >/dev/null 2>&1; then
		as nobody "$V" -c "$conf" -s "$st" release --domain l2r >"$out/n.out" 2>&1; rc=$?
		n=$(leased)
		check flow.release_renamed_denied "rc=$rc n=$n (before $n0) $(cat $out/n.out)" sh -c "[ $rc = 5 ] && [ $n = $((n0 + 1)) ]"
		virsh -q domrename l2r l2 >/dev/null 2>&1
	else
		skip "flow.release_renamed_denied: alloc --persistent or domrename failed: rc=$rc $(cat $out/p.json)"
	fi
	va release --domain l2 >/dev/null 2>&1
else
	skip "flow.release_by_uuid_denied: libvirtd did not start"
fi
kill -TERM $dpid; wait $dpid
tail -n 30 "$log"
