# The daemon's publish and sweep without per-VF rereads (agent/fleet.c,
# agent/model.c), on the real kernel:
#  - once warm, neither a publish nor a sweep reads a VF's virtfn or
#    iommu_group link and none sends a link dump, though the pool names
#    its PF by PCI address (strace of the daemon, sweep every 300 ms);
#  - the model is checked in place: sriov_numvfs lowered, then raised,
#    behind the daemon's back shows in the metrics and in the CDI spec
#    (VF names and IOMMU groups as sysfs has them).
. tests/lab/lib.sh
lab_setup tail || exit 0
if ! command -v strace >/dev/null; then
	skip "tail: strace not installed"
	exit 0
fi
tf=/run/vfagent-tail-tf cdi=/run/vfagent-tail-cdi log=$out/daemon.log tr=$out/strace.txt
spec=$cdi/vfagent.io-vf.json m=$tf/vfagent.prom
mkdir -p "$tf"
rm -rf "$st" "$cdi" "$tr"
: >"$log"
# The PF by its PCI address: found by a link dump once, then by ifindex.
printf '[pool net1]\npf = %s\nvfs = 7\n' "$(basename "$(readlink -f "$dev")")" >"$conf"
printf '[serve]\ncdi-dir = %s\nmetrics-file = %s\n' "$cdi" "$m" >>"$conf"
va setup >"$out/setup.log" 2>&1; check tail.setup "$(tail -n1 "$out/setup.log")" [ $? = 0 ]
VFAGENT_SWEEP_MS=300 strace -f -qq -o "$tr" -e trace=readlink,readlinkat,sendto \
	"$V" -c "$conf" -s "$st" serve >>"$log" 2>&1 &
spid=$!
lab_wait_log "$log" "serving on" 300
dpid=$(pgrep -P "$spid" | head -n1)	# strace's child: the daemon
trap 'kill $dpid 2>/dev/null' EXIT
check tail.serve "$(tail -n3 "$log")" [ -n "$dpid" ]
wait_for() {
	for i in $(seq 1 100); do sh -c "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# Warm: one alloc and release through the daemon, a publish after them.
a=$(va --json alloc --pool net1 2>&1)
pci=$(echo "$a" | jq -r .pci 2>/dev/null)
check tail.alloc "$a" [ -n "$pci" -a "$pci" != null ]
va release --pci "$pci" >/dev/null 2>&1
wait_for "grep -qx 'vfagent_releases_total{pool=\"net1\"} 1' $m"
sleep 1
n0=$(wc -l <"$tr")
sleep 3		# ~10 sweeps and publishes
tail -n +"$((n0 + 1))" "$tr" >"$out/strace-warm.txt"
sweeps=$(grep -cE 'nlmsg_type=(RTM_GETLINK|0x12 )' "$out/strace-warm.txt")
dump='nlmsg_flags=[^,]*(DUMP|ROOT|MATCH|0x[37]00)'
check tail.warm_no_sysfs_walk "$(grep -E 'virtfn|iommu_group' "$out/strace-warm.txt" | head -n3)" \
	sh -c "! grep -qE 'virtfn|iommu_group' '$out/strace-warm.txt'"
check tail.warm_no_link_dump "$(grep -E "$dump" "$out/strace-warm.txt" | head -n2)" \
	sh -c "! grep -qE '$dump' '$out/strace-warm.txt'"
check tail.warm_sweeps_ran "no GETLINK in 3 s: the sweep did not run" [ "$sweeps" -gt 0 ]
echo "INFO tail: $sweeps GETLINKs in 3 s of sweeps (one per PF per sweep)"

# sriov_numvfs behind the daemon's back: 3, then 7 again.
specvfs() { jq -r '.devices[] | .name + " " + .containerEdits.deviceNodes[0].path' "$spec" 2>/dev/null | sort; }
sysvfs() {
	for v in "$dev"/virtfn*; do
		echo "$(basename "$(readlink -f "$v")") /dev/vfio/$(basename "$(readlink -f "$v/iommu_group")")"
	done | sort
}
echo 0 >"$dev/sriov_numvfs"
echo 3 >"$dev/sriov_numvfs"
wait_for "grep -qx 'vfagent_pool_vfs{pool=\"net1\"} 3' $m && [ \$(jq '.devices | length' $spec) = 3 ]"
check tail.numvfs_lowered_seen "$(grep -E '^vfagent_pool_vfs\{' "$m"); spec: $(specvfs | tr '\n' ' ')" \
	sh -c "grep -qx 'vfagent_pool_vfs{pool=\"net1\"} 3' $m"
check tail.numvfs_lowered_spec "spec: $(specvfs | tr '\n' ' '); sysfs: $(sysvfs | tr '\n' ' ')" \
	[ "$(specvfs)" = "$(sysvfs)" ]
echo 0 >"$dev/sriov_numvfs"
echo 7 >"$dev/sriov_numvfs"
wait_for "grep -qx 'vfagent_pool_vfs{pool=\"net1\"} 7' $m && [ \$(jq '.devices | length' $spec) = 7 ]"
check tail.numvfs_raised_spec "spec: $(specvfs | tr '\n' ' '); sysfs: $(sysvfs | tr '\n' ' ')" \
	[ "$(specvfs)" = "$(sysvfs)" ]
kill "$dpid" 2>/dev/null
wait "$spid" 2>/dev/null
va setup >/dev/null 2>&1	# the VFs back on vfio-pci for the tests after
exit 0
