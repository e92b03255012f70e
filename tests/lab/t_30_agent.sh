# agent/ end to end, the field report without libvirt: setup from a down PF
# with no VFs, 7 concurrent allocs, exhaustion, release, kill -9 mid-alloc.
. tests/lab/lib.sh
V="${VFAGENT:-$PWD/vfagent}"
set -- $(lab_pf) || { fail "agent.pf: no SR-IOV PF"; exit 0; }
pf=$1 dev=/sys/class/net/$1/device
out=${VFAGENT_LAB_OUT:-/tmp}/agent
mkdir -p "$out"
conf=$out/vfagent.conf
st=/run/vfagent-lab
cat >"$conf" <<CONF
[pool net1]
pf = $pf
vfs = 7
spoofchk = on
owner = libvirt-qemu:kvm
mode = 0660
CONF
va() { "$V" -c "$conf" -s "$st" "$@"; }

# The field report's starting point: PF down after reboot, no VFs.
echo 0 >$dev/sriov_numvfs
ip link set "$pf" down
rm -rf "$st"

t0=$(now_ms)
va --json setup >"$out/setup1.json" 2>"$out/setup1.err"; rc=$?
echo "TIME setup_ms=$(( $(now_ms) - t0 ))"
check agent.setup "rc=$rc $(cat $out/setup1.err)" [ $rc = 0 ]
check agent.setup_pf_up "PF not up" sh -c "ip link show $pf | grep -q '[<,]UP[,>]'"
check agent.setup_no_addr "PF has addresses: $(ip -o addr show dev $pf)" [ -z "$(ip -o addr show dev $pf)" ]
check agent.setup_vfs "$(cat $dev/sriov_numvfs) VFs" [ "$(cat $dev/sriov_numvfs)" = 7 ]
check agent.setup_autoprobe_off "autoprobe $(cat $dev/sriov_drivers_autoprobe)" [ "$(cat $dev/sriov_drivers_autoprobe)" = 0 ]
n=0; for v in $dev/virtfn*; do [ "$(basename "$(readlink $v/driver)")" = vfio-pci ] && n=$((n+1)); done
check agent.setup_vfio "$n of 7 VFs on vfio-pci" [ $n = 7 ]
n=$(ls /dev/vfio | grep -c '^[0-9]')
check agent.setup_nodes "$n /dev/vfio nodes" [ $n -ge 7 ]
va --json setup >"$out/setup2.json" 2>&1; rc=$?
check agent.setup_idempotent "second setup: rc=$rc $(jq -c .changes $out/setup2.json 2>/dev/null)" \
	[ $rc = 0 -a "$(jq -r .changed $out/setup2.json)" = false ]
va setup 2>&1 | grep -q 'nothing to change' ; check agent.setup_says_so "no 'nothing to change' line" [ $? = 0 ]

# 7 concurrent allocs -> 7 distinct VFs with their MAC/VLAN and owned nodes.
t0=$(now_ms)
for i in 1 2 3 4 5 6 7; do
	va --json alloc --pool net1 --mac 02:00:00:00:00:0$i --vlan $((100 + i)):$((i % 8)) \
		>"$out/alloc$i.json" 2>"$out/alloc$i.err" &
done
wait
echo "TIME 7_concurrent_allocs_ms=$(( $(now_ms) - t0 ))"
ok=0; for i in 1 2 3 4 5 6 7; do [ "$(jq -r .state $out/alloc$i.json 2>/dev/null)" = ready ] && ok=$((ok+1)); done
check agent.alloc_concurrent "$ok of 7 allocs succeeded: $(cat $out/alloc*.err)" [ $ok = 7 ]
n=$(for i in 1 2 3 4 5 6 7; do jq -r .pci $out/alloc$i.json; done | sort -u | grep -c .)
check agent.alloc_distinct "$n distinct VFs" [ $n = 7 ]
bad=""
for i in 1 2 3 4 5 6 7; do
	vf=$(jq -r .vf $out/alloc$i.json); node=$(jq -r .vfio_node $out/alloc$i.json)
	ip -d link show "$pf" | grep -q "vf $vf .*link/ether 02:00:00:00:00:0$i.*vlan $((100 + i)), qos $((i % 8))" ||
		bad="$bad vf$vf-mac/vlan"
	[ "$(stat -c '%U:%G %a' "$node")" = "libvirt-qemu:kvm 660" ] || bad="$bad $node=$(stat -c '%U:%G_%a' $node)"
done
check agent.alloc_applied "wrong:$bad" [ -z "$bad" ]

va alloc --pool net1 >"$out/alloc8.out" 2>"$out/alloc8.err"; rc=$?
check agent.alloc_exhausted "rc=$rc: $(cat $out/alloc8.err)" \
	sh -c "[ $rc = 3 ] && grep -q 'pool net1 is exhausted: all 7 VFs are leased' $out/alloc8.err"
check agent.alloc_exhausted_one_line "$(wc -l <$out/alloc8.err) lines" [ "$(wc -l <$out/alloc8.err)" = 1 ]
va alloc --pool nope 2>"$out/e.err"; rc=$?
check agent.alloc_unknown_pool "rc=$rc $(cat $out/e.err)" sh -c "[ $rc != 0 ] && grep -q 'unknown pool \"nope\"' $out/e.err"
va alloc --pool net1 --vlan 4095 2>"$out/e.err"; rc=$?
check agent.alloc_vlan_4095 "rc=$rc $(cat $out/e.err)" sh -c "[ $rc = 2 ] && grep -q '4095 is reserved' $out/e.err"

# Release one, a new alloc gets it back, scrubbed then re-set.
p3=$(jq -r .pci $out/alloc3.json); v3=$(jq -r .vf $out/alloc3.json); n3=$(jq -r .vfio_node $out/alloc3.json)
t0=$(now_ms)
va --json release --pci "$p3" >"$out/rel3.json" 2>&1; rc=$?
echo "TIME release_ms=$(( $(now_ms) - t0 ))"
check agent.release "rc=$rc $(cat $out/rel3.json)" [ $rc = 0 ]
check agent.release_scrubbed "vf $v3: $(ip -d link show $pf | grep "vf $v3 ")" \
	sh -c "ip -d link show $pf | grep 'vf $v3 ' | grep -q 'link/ether 00:00:00:00:00:00' && ! ip -d link show $pf | grep 'vf $v3 ' | grep -q vlan"
check agent.release_node_root "$(stat -c '%U:%G %a' $n3)" [ "$(stat -c '%U:%G %a' $n3)" = "root:root 600" ]
t0=$(now_ms)
va --json alloc --pool net1 --mac 02:00:00:00:00:33 >"$out/alloc9.json" 2>&1; rc=$?
echo "TIME warm_alloc_ms=$(( $(now_ms) - t0 ))"
check agent.realloc "rc=$rc pci $(jq -r .pci $out/alloc9.json 2>/dev/null)" \
	[ $rc = 0 -a "$(jq -r .pci $out/alloc9.json 2>/dev/null)" = "$p3" ]
va --json status >"$out/status.json"
check agent.status "$(jq -c '.pools[0] | {vfs,free,leased}' $out/status.json)" \
	[ "$(jq -c '.pools[0] | [.vfs,.free,.leased]' $out/status.json)" = "[7,0,7]" ]

# kill -9 in the middle of an alloc, at several points: nothing lost or doubled.
va release --pci "$p3" >/dev/null 2>&1
for point in journaled netlink owned; do
	VFAGENT_CRASH_AT=$point va alloc --pool net1 --mac 02:00:00:00:00:44 --vlan 444 >/dev/null 2>&1; rc=$?
	va --json status >"$out/st-$point.json" 2>&1
	leased=$(jq '.pools[0].leased' $out/st-$point.json)
	rolled=$(jq -r '.reconcile[]' $out/st-$point.json | grep -c 'interrupted alloc rolled back')
	check "agent.kill9.$point" "rc=$rc leased=$leased rolled=$rolled: $(jq -c .reconcile $out/st-$point.json)" \
		[ $rc = 137 -a "$leased" = 6 -a "$rolled" = 1 ]
	check "agent.kill9.$point.scrubbed" "$(ip -d link show $pf | grep "vf $v3 ")" \
		sh -c "ip -d link show $pf | grep 'vf $v3 ' | grep -q 'link/ether 00:00:00:00:00:00' && ! ip -d link show $pf | grep 'vf $v3 ' | grep -q 'vlan 444'"
done
va --json alloc --pool net1 >"$out/alloc10.json" 2>&1; rc=$?
check agent.alloc_after_crashes "rc=$rc $(cat $out/alloc10.json)" [ $rc = 0 -a "$(jq -r .pci $out/alloc10.json)" = "$p3" ]
# Invariant: every leased VF carries its lease's MAC, every VF is leased once.
va --json list >"$out/list.json" 2>&1
n=$(jq '[.pfs[0].vfs[] | select(.lease != null and .mac == .lease.mac)] | length' $out/list.json)
check agent.list_macs_match "$n of 7" [ "$n" = 7 ]
check agent.list_fields "list lacks fields" sh -c "jq -e '.pfs[0].vfs[0] | .pci and .driver and .iommu_group and .vfio_node and .node_owner and .spoofchk != null' $out/list.json >/dev/null"
va list >"$out/list.txt" 2>&1
cat "$out/list.txt"
# The text says what the JSON says: each VF's group ("-" without one) and
# the VLAN:QoS igb reported ("0:0" for VLAN 0, as the VF of alloc10 has;
# "-" only when none was reported), never -1 (render.c; the columns as
# print_vf pads them).
want=$(jq -r '.pfs[0].vfs[] | "\(.vf) \(.iommu_group // "-") \(if .vlan == null then "-" else "\(.vlan):\(.qos)" end)"' "$out/list.json" | tr '\n' ' ')
got=$(awk '/^  [0-9]/ { g = substr($0, 40, 5); q = substr($0, 95, 8); gsub(/ /, "", g); gsub(/ /, "", q); print $1, g, q }' "$out/list.txt" | tr '\n' ' ')
check agent.list_text_group_vlan "text: $got json: $want" \
	sh -c "[ '$got' = '$want' ] && case '$want' in *' 0:0 '*) true ;; *) false ;; esac"

# Churn: clients allocating and releasing at once never take or drop each
# other's lease (a reconcile acting on a stale lease list once did).
for f in $out/alloc[0-9]*.json; do va release --lease "$(jq -r .id $f)" >/dev/null 2>&1; done
churn() {
	for k in $(seq 1 15); do
		va --json alloc --pool net1 >"$out/churn$1.json" 2>"$out/churn$1.err" || { echo "alloc: $(cat $out/churn$1.err)"; continue; }
		va release --lease "$(jq -r .id $out/churn$1.json)" >/dev/null 2>"$out/churn$1.err" || echo "release: $(cat $out/churn$1.err)"
	done
}
pids=""
for c in 1 2 3 4; do churn $c >"$out/churn$c.log" 2>&1 & pids="$pids $!"; done
wait $pids
errs=$(cat $out/churn[1-4].log)
check agent.churn_no_lost_lease "$errs" [ -z "$errs" ]
check agent.churn_all_free "$(va --json status | jq -c '.pools[0]|[.free,.leased]')" \
	[ "$(va --json status | jq -c '.pools[0]|[.free,.leased]')" = "[7,0]" ]

# PF down: alloc says to run setup.
ip link set "$pf" down
va alloc --pool net1 2>"$out/e.err"; rc=$?
check agent.alloc_pf_down "rc=$rc $(cat $out/e.err)" sh -c "[ $rc = 1 ] && grep -q 'is down: run vfagent setup' $out/e.err"
va setup >/dev/null 2>&1
check agent.setup_brings_up "PF still down" sh -c "ip link show $pf | grep -q '[<,]UP[,>]'"
va --json status >"$out/status-end.json"
check agent.all_released "$(jq -c '.pools[0] | [.free,.leased]' $out/status-end.json)" \
	[ "$(jq -c '.pools[0] | [.free,.leased]' $out/status-end.json)" = "[7,0]" ]
# The same PF in two pools under two names (netdev, PCI address).
pfpci=$(basename "$(readlink -f $dev)")
printf '[pool a]\npf = %s\nvfs = 1\n[pool b]\npf = %s\nvfs = 1\n' "$pf" "$pfpci" >"$out/two.conf"
"$V" -c "$out/two.conf" -s "$out/two-state" setup 2>"$out/two.err"; rc=$?
check agent.pf_two_names "rc=$rc $(cat $out/two.err)" sh -c "[ $rc = 2 ] && grep -q 'is in pools a and b' $out/two.err"
ip link set "$pf" down
echo 0 >$dev/sriov_numvfs
