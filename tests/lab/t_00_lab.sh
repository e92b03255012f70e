# The lab is real: an SR-IOV PF with 7 VFs, IOMMU groups, iproute2 sees "vf N".
. tests/lab/lib.sh
set -- $(lab_pf) || true
pf=${1:-} pfpci=${2:-}
if [ -z "$pf" ]; then fail "lab.pf: no SR-IOV capable netdev in the guest"; exit 0; fi
pass "lab.pf: $pf at $pfpci"
dev=/sys/class/net/$pf/device
total=$(cat $dev/sriov_totalvfs)
check "lab.totalvfs" "sriov_totalvfs is $total, expected 7" [ "$total" = 7 ]
check "lab.iommu" "no IOMMU groups" [ -e $dev/iommu_group ]
echo 0 >$dev/sriov_numvfs
echo 7 >$dev/sriov_numvfs
n=$(ls -d $dev/virtfn* 2>/dev/null | wc -l)
check "lab.vf_functions" "$n virtfn links, expected 7" [ "$n" = 7 ]
n=$(for v in $dev/virtfn*; do cat $v/vendor $v/device; done | paste - - | grep -c '0x8086.0x10ca')
check "lab.vf_ids" "$n VFs are 8086:10ca, expected 7" [ "$n" = 7 ]
n=$(ip link show "$pf" | grep -c '^ *vf [0-9]')
check "lab.ip_vf_entries" "ip link shows $n vf entries, expected 7" [ "$n" = 7 ]
g=$(for v in $dev/virtfn*; do basename "$(readlink $v/iommu_group)"; done | sort -u | wc -l)
check "lab.vf_groups" "VFs share IOMMU groups ($g distinct)" [ "$g" = 7 ]
echo 0 >$dev/sriov_numvfs
n=$(ls -d $dev/virtfn* 2>/dev/null | wc -l)
check "lab.vf_remove" "$n VFs left after sriov_numvfs=0" [ "$n" = 0 ]
