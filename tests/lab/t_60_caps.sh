# The daemon unit's capability set is the real minimum: the whole flow works
# with CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_CHOWN only (no CAP_FOWNER: the
# node's mode is set while root owns it), and
# without any one of them a step fails, with a clear error, nothing leased.
. tests/lab/lib.sh
lab_setup caps || exit 0
lab_conf net1 3 owner
all="net_admin sys_admin chown"
caps() {	# caps "CAP CAP ..." CMD...: run with only those capabilities
	set_=$(for c in $1; do printf ',+%s' "$c"; done); shift
	setpriv --inh-caps=-all --bounding-set="-all$set_" "$@"
}
va() { "$V" -c "$conf" -s "$st" --direct "$@"; }
ip link set "$pf" down; echo 0 >$dev/sriov_numvfs; rm -rf "$st"
caps "$all" "$V" -c "$conf" -s "$st" setup >"$out/setup.txt" 2>&1
check caps.setup_minimal "$(cat $out/setup.txt)" [ $? = 0 ]
caps "$all" "$V" -c "$conf" -s "$st" --json alloc --pool net1 >"$out/a.json" 2>"$out/a.err"
check caps.alloc_minimal "$(cat $out/a.err)" [ "$(jq -r .state $out/a.json 2>/dev/null)" = ready ]
node=$(jq -r .vfio_node $out/a.json)
check caps.node_owned "$(stat -c '%U:%G %a' $node)" [ "$(stat -c '%U:%G %a' $node)" = "libvirt-qemu:kvm 660" ]
caps "$all" "$V" -c "$conf" -s "$st" release --lease "$(jq -r .id $out/a.json)" >"$out/r.txt" 2>&1
check caps.release_minimal "$(cat $out/r.txt)" [ $? = 0 ]
check caps.node_back "$(stat -c '%U:%G %a' $node)" [ "$(stat -c '%U:%G %a' $node)" = "root:root 600" ]
# Each capability against the command that needs it: config space is read
# by setup (and list), not by the warm alloc.
for drop in $all; do
	keep=$(echo $all | tr ' ' '\n' | grep -vx "$drop" | tr '\n' ' ')
	cmd=alloc; [ $drop = sys_admin ] && cmd=setup
	caps "$keep" "$V" -c "$conf" -s "$st" $cmd $([ $cmd = alloc ] && echo --pool net1) >/dev/null 2>"$out/no-$drop.err"; rc=$?
	leased=$(va --json status | jq .pools[0].leased)
	check "caps.needs_$drop" "$cmd: rc=$rc leased=$leased: $(cat $out/no-$drop.err)" [ $rc != 0 -a "$leased" = 0 ]
	echo "  without $drop, $cmd: $(cat $out/no-$drop.err)"
done
ip link set "$pf" down; echo 0 >$dev/sriov_numvfs
