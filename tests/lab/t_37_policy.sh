# The input defects of the policy branch on the real igb, CLI
# and daemon (tests/unit/test_policy.c has them on a fake tree):
# --pci without the PCI domain (00:12.2) names the same VF as 0000:00:12.2;
# a socket request with a key given twice is refused with exit 2.
. tests/lab/lib.sh
. tests/lab/journal.sh
lab_setup policy || exit 0
S="$PWD/tests/lab/sock_tool" sock=/run/vfagent-policy.sock log=$out/daemon.log
lab_conf net1 3
printf '[serve]\nsocket = %s\n' "$sock" >>"$conf"
va() { "$V" -c "$conf" -s "$st" --persist-dir '' "$@"; }
echo 0 >$dev/sriov_numvfs
rm -rf "$st" "$sock"; : >"$log"
va --direct setup >"$out/setup.out" 2>&1; check policy.setup "$(cat $out/setup.out)" [ $? = 0 ]
vf1=$(basename "$(readlink -f $dev/virtfn1)") vf2=$(basename "$(readlink -f $dev/virtfn2)")
short1=${vf1#0000:} short2=${vf2#0000:}

# 1. --pci without the domain, CLI direct.
va --direct --json alloc --pool net1 --pci "$short1" --mac 02:00:00:00:37:01 >"$out/a1.json" 2>"$out/a1.err"; rc=$?
check policy.short_pci.alloc "rc=$rc $(cat $out/a1.err)" sh -c "[ $rc = 0 ] && [ \"\$(jq -r .pci $out/a1.json)\" = $vf1 ]"
va --direct alloc --pool net1 --pci "$short1" >/dev/null 2>"$out/a1b.err"; rc=$?
check policy.short_pci.leased_exit3 "rc=$rc $(cat $out/a1b.err)" [ $rc = 3 ]
va --direct release --pci "$short1" >"$out/r1.out" 2>&1; rc=$?
left=$(jleases "$st" | grep -c "\"$vf1\"")	# a shell function: not inside sh -c
check policy.short_pci.release "rc=$rc left=$left $(cat $out/r1.out)" sh -c "[ $rc = 0 ] && [ $left = 0 ]"
check policy.short_pci.scrubbed "$(ip -d link show $pf | grep 'vf 1 ')" sh -c \
	"ip -d link show $pf | grep 'vf 1 ' | grep -q 'link/ether 00:00:00:00:00:00'"

# 2. Through the daemon: duplicate keys refused, a short --pci normalised.
# "$V" itself, not the va function: $! must be the daemon, not a subshell.
"$V" -c "$conf" -s "$st" --persist-dir '' serve >>"$log" 2>&1 &
dpid=$!
for i in $(seq 1 100); do grep -q 'serving on' "$log" && break; sleep 0.1; done
"$S" "$sock" '{"op":"status","op":"setup"}\n' >"$out/s.dup" 2>&1
check policy.dup_key.socket "$(head -c 300 $out/s.dup)" sh -c \
	"jq -e '.exit == 2 and .ok == false and (.error | contains(\"more than once\"))' $out/s.dup >/dev/null"
"$S" "$sock" '{"op":"alloc","pool":"net1","pci":"'"$short1"'"}\n' >"$out/s.alloc" 2>&1
"$S" "$sock" '{"op":"release","pci":"'"$short1"'"}\n' >"$out/s.release" 2>&1
check policy.short_pci.socket "$(head -c 200 $out/s.alloc) / $(head -c 200 $out/s.release)" sh -c \
	"jq -e '.exit == 0 and .result.pci == \"$vf1\"' $out/s.alloc >/dev/null && jq -e '.exit == 0 and (.result.released | length) == 1' $out/s.release >/dev/null"
kill -TERM $dpid; wait $dpid; rc=$?
check policy.daemon_exit "daemon exit $rc: $(tail -n2 $log)" [ $rc = 0 ]
check policy.cleanup "leases left: $(ls $st/leases 2>/dev/null)" [ -z "$(ls $st/leases 2>/dev/null)" ]
ip link set "$pf" down
echo 0 >$dev/sriov_numvfs
