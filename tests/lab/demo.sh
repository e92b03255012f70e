#!/bin/sh
# make demo, inside the lab guest.
cd "$(dirname "$0")/../.."
. tests/lab/lib.sh
set -- $(lab_pf) || { echo "demo: no SR-IOV PF in the guest"; exit 1; }
pf=$1 pfpci=$2 dev=/sys/class/net/$1/device
echo "== the PF"
echo "$pf  $pfpci  $(cat $dev/vendor):$(cat $dev/device)  driver $(basename "$(readlink $dev/driver)")  totalvfs $(cat $dev/sriov_totalvfs)"
echo 7 >$dev/sriov_numvfs
echo "== its VFs"
for v in $dev/virtfn*; do
	a=$(basename "$(readlink -f $v)")
	printf '%-8s %s  %s:%s  iommu_group %s  driver %s\n' "${v##*/}" "$a" \
		"$(cat $v/vendor)" "$(cat $v/device)" \
		"$(basename "$(readlink $v/iommu_group)")" \
		"$(basename "$(readlink $v/driver 2>/dev/null)" 2>/dev/null)"
done | sort -V
ip link show "$pf"
