# The daemon trusts its model of each VF's binding (agent/model.c) with no
# sysfs or /dev look per alloc, kept true by kernel uevents
# (vfio/uevent.c). VFAGENT=PATH runs another build.
#  - a VF unbound from vfio-pci behind the daemon's back (driver/unbind),
#    then at once an alloc of it through the daemon: the VF is on vfio-pci
#    again and its node is the pool owner's (without the uevent, the
#    daemon would skip the bind and fail on the missing node);
#  - the same after an unbind and a rebind to vfio-pci by hand (the node
#    recreated root-owned): the alloc hands the node to the pool owner;
#  - a leased VF removed with sriov_numvfs behind the daemon's back: the
#    release drops the lease (nothing left to scrub), no error.
# The sweep, which checks the model every 5 s, is set to an hour here, so
# only the uevents can have done it.
. tests/lab/lib.sh
lab_setup uevent || exit 0
printf '[pool net1]\npf = %s\nvfs = 7\nowner = nobody:nogroup\nmode = 0660\n' "$pf" >"$conf"
log=$out/daemon.log
dpid=
trap 'kill $dpid 2>/dev/null' EXIT
rm -rf "$st"; : >"$log"
va setup >"$out/setup.txt" 2>&1; check uevent.setup "$(cat "$out/setup.txt")" [ $? = 0 ]
export VFAGENT_SWEEP_MS=3600000
lab_serve "$log"; check uevent.serve "$(tail -n 3 "$log")" [ $? = 0 ]
unset VFAGENT_SWEEP_MS
check uevent.socket_open "$(grep 'kernel uevents' "$log")" sh -c "! grep -q 'kernel uevents' '$log'"
vf0=$(basename "$(readlink -f "$dev/virtfn0")")
node_ok() {	# $1 = alloc's JSON: on vfio-pci, node there and nobody's
	no_g=$(echo "$1" | jq -r '.iommu_group' 2>/dev/null)
	no_d=$(basename "$(readlink -f "/sys/bus/pci/devices/$vf0/driver")")
	[ "$no_d" = vfio-pci ] && [ -c "/dev/vfio/$no_g" ] && [ "$(stat -c %U "/dev/vfio/$no_g")" = nobody ]
}

# The model learns VF 0 (on vfio-pci, its group) through the daemon.
a=$(va --json alloc --pool net1 --pci "$vf0" 2>&1)
check uevent.warm_alloc "$a" node_ok "$a"
va release --pci "$vf0" >/dev/null 2>&1

# 1. Unbound behind its back, then at once an alloc of it.
echo "$vf0" >"/sys/bus/pci/devices/$vf0/driver/unbind"
gone=$(ls /dev/vfio)
a=$(va --json alloc --pool net1 --pci "$vf0" 2>&1); rc=$?
check uevent.unbind_seen "rc=$rc /dev/vfio after the unbind: $gone; now $(ls /dev/vfio); $a" [ $rc = 0 ]
check uevent.unbind_rebound "$a" node_ok "$a"
va release --pci "$vf0" >/dev/null 2>&1

# 2. Unbound and bound again to vfio-pci by hand: a new, root-owned node.
echo "$vf0" >"/sys/bus/pci/devices/$vf0/driver/unbind"
echo vfio-pci >"/sys/bus/pci/devices/$vf0/driver_override"
echo "$vf0" >/sys/bus/pci/drivers_probe
a=$(va --json alloc --pool net1 --pci "$vf0" 2>&1); rc=$?
check uevent.rebind_alloc "rc=$rc $a" [ $rc = 0 ]
check uevent.rebind_node_owned "$a" node_ok "$a"

# 3. Its VFs removed while VF 0 is leased: the release drops the lease.
echo 0 >"$dev/sriov_numvfs"
r=$(va --json release --pci "$vf0" 2>&1); rc=$?
n=$(va --json status 2>/dev/null | jq '.pools[0].leased')
check uevent.release_gone_vf "rc=$rc leased=$n; $r" sh -c "[ $rc = 0 ] && [ '$n' = 0 ]"
lab_serve_stop; dpid=
va setup >/dev/null 2>&1
