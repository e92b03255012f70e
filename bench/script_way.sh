#!/bin/sh
# The field report's procedure for handing one VF to a VM, as an experienced
# admin would script it (timed by bench/alloc_bench as "script"):
#   set MAC/VLAN/spoofchk over ip(8), move the VF to vfio-pci with
#   driver_override + unbind + drivers_probe (skipped when it is already
#   there), wait for /dev/vfio/N, chown/chmod it for the VM's user.
# usage: bench/script_way.sh PF VF MAC VLAN OWNER MODE
# Written to be kind to the script: shell builtins wherever they do the job
# (${x##*/} instead of basename), one ip call for all VF settings.
set -eu
[ $# = 6 ] || { echo "usage: $0 PF VF MAC VLAN OWNER MODE" >&2; exit 2; }
pf=$1 vf=$2 mac=$3 vlan=$4 owner=$5 mode=$6

d=$(readlink -f "/sys/class/net/$pf/device/virtfn$vf")
pci=${d##*/}
ip link set "$pf" vf "$vf" mac "$mac" vlan "$vlan" spoofchk on

drv=$(readlink "$d/driver" 2>/dev/null || true)
if [ "${drv##*/}" != vfio-pci ]; then
	echo vfio-pci >"$d/driver_override"
	[ -e "$d/driver" ] && echo "$pci" >"$d/driver/unbind"
	echo "$pci" >/sys/bus/pci/drivers_probe
fi

g=$(readlink "$d/iommu_group")
g=${g##*/}
# udev (devtmpfs here) creates the node asynchronously after the bind.
i=0
while [ ! -e "/dev/vfio/$g" ]; do
	i=$((i + 1))
	[ $i -le 200 ] || { echo "/dev/vfio/$g did not appear" >&2; exit 1; }
	sleep 0.01
done
chown "$owner" "/dev/vfio/$g"
chmod "$mode" "/dev/vfio/$g"
