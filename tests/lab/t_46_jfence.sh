# A damaged lease-journal record on the real igb: the VF it still names is
# fenced, not free. The journal is rewritten as a compaction leaves it (one
# record per lease) with one byte of VF 0's record changed: alloc --pci of
# it is refused (exit 3), a pool alloc never picks it, status shows it
# fenced, and the admin's release --pci scrubs it back into the pool.
# VFAGENT=PATH runs another build.
. tests/lab/lib.sh
. tests/lab/journal.sh
lab_setup jfence || exit 0
lab_conf net1 3
va() { "$V" -c "$conf" -s "$st" --persist-dir '' "$@"; }
echo 0 >$dev/sriov_numvfs
rm -rf "$st"
va --direct setup >"$out/setup.out" 2>&1; check jfence.setup "$(cat $out/setup.out)" [ $? = 0 ]
vf0=$(basename "$(readlink -f $dev/virtfn0)") vf1=$(basename "$(readlink -f $dev/virtfn1)")
vf2=$(basename "$(readlink -f $dev/virtfn2)")
va --direct alloc --pool net1 --pci $vf0 --vlan 461 >/dev/null 2>"$out/a0.err"
va --direct alloc --pool net1 --pci $vf1 --vlan 462 >/dev/null 2>"$out/a1.err"
# The snapshot: VF 0's record first, the first digit of its CRC changed.
jleases "$st" >"$out/leases.txt"
{ grep "\"$vf0\"" "$out/leases.txt"; grep -v "\"$vf0\"" "$out/leases.txt"; } |
	while read -r j; do jrec "$j"; done |
	awk 'NR == 1 { c = substr($0, 1, 1) == "0" ? "1" : "0"; $0 = c substr($0, 2) } { print }' >"$out/journal"
flock "$st/journal" sh -c "cat '$out/journal' >'$st/journal'"
first=$(head -n1 "$st/journal")
check jfence.journal_damaged "$(cut -c1-60 $st/journal)" \
	eval '[ "$(wc -l <"$st/journal")" = 2 ] && [ "${first%% *}" != "$(jcrc "${first#* }")" ] && echo "$first" | grep -q "\"$vf0\""'

va --direct alloc --pool net1 --pci $vf0 >"$out/p0.out" 2>&1; rc=$?
check jfence.alloc_pci_refused "rc=$rc $(cat $out/p0.out)" [ $rc = 3 ]
va --direct --json alloc --pool net1 >"$out/p.json" 2>"$out/p.err"; rc=$?
va --direct alloc --pool net1 >/dev/null 2>"$out/p2.err"; rc2=$?
check jfence.alloc_pool_skips "rc=$rc,$rc2 got $(jq -r .pci $out/p.json 2>/dev/null) $(cat $out/p.err $out/p2.err)" \
	sh -c "[ $rc = 0 ] && [ \"\$(jq -r .pci $out/p.json)\" = $vf2 ] && [ $rc2 = 3 ]"
va --direct --json status >"$out/st.json" 2>/dev/null
check jfence.status_fenced "$(jq -c '[.pools[0].leases[] | {pci, state}]' $out/st.json 2>/dev/null)" \
	sh -c "jq -e --arg p $vf0 '[.pools[0].leases[] | select(.pci == \$p and .state == \"fenced\")] | length == 1' $out/st.json >/dev/null"

va --direct release --pci $vf0 >"$out/r0.out" 2>&1; rc=$?
line=$(ip -d link show "$pf" | grep '^ *vf 0 ')
check jfence.release_scrubs "rc=$rc $(cat $out/r0.out) / $line" \
	eval '[ $rc = 0 ] && echo "$line" | grep -q "link/ether 00:00:00:00:00:00" && ! echo "$line" | grep -q "vlan "'
left=$(jleases "$st" | grep -c "\"$vf0\"")
va --direct alloc --pool net1 --pci $vf0 >/dev/null 2>"$out/again.err"; rc=$?
check jfence.free_after_release "left=$left rc=$rc $(cat $out/again.err)" sh -c "[ $left = 0 ] && [ $rc = 0 ]"
for v in $vf0 $vf1 $vf2; do va --direct release --pci $v >/dev/null 2>&1; done
rm -rf "$st"
ip link set "$pf" down
echo 0 >$dev/sriov_numvfs
