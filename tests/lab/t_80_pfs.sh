# Several PFs (tests/lab/run.sh --pfs 4): four igb PFs, 7 VFs each, 28 VFs
# in all, each VF in its own IOMMU group.  In the default one-PF lab: SKIP.
. tests/lab/lib.sh
pfs=
for d in /sys/class/net/*/device/sriov_totalvfs; do
	[ -f "$d" ] || continue
	p=${d%/device/sriov_totalvfs}; pfs="${pfs:+$pfs }${p##*/}"
done
set -- $pfs
if [ $# -lt 4 ]; then skip "pfs.four: $# SR-IOV PF(s) here; boot with tests/lab/run.sh --pfs 4"; exit 0; fi
pass "pfs.four: $pfs ($(for p in $pfs; do basename "$(readlink -f /sys/class/net/$p/device)"; done | tr '\n' ' '))"
t0=$(now_ms)
for p in $pfs; do
	dev=/sys/class/net/$p/device
	echo 0 >$dev/sriov_drivers_autoprobe
	echo 0 >$dev/sriov_numvfs
	echo 7 >$dev/sriov_numvfs || fail "pfs.create: $p refused 7 VFs"
done
t=$(( $(now_ms) - t0 ))
n=0 groups=
for p in $pfs; do
	for v in /sys/class/net/$p/device/virtfn*; do
		[ -e "$v" ] || continue
		n=$((n + 1)); groups="$groups $(basename "$(readlink $v/iommu_group)")"
	done
done
check pfs.vfs_28 "$n VFs, expected 28" [ "$n" = 28 ]
g=$(echo $groups | tr ' ' '\n' | sort -u | grep -c .)
check pfs.vf_groups "28 VFs share IOMMU groups ($g distinct)" [ "$g" = 28 ]
echo "pfs: 28 VFs created in $t ms (autoprobe off)"
for p in $pfs; do
	dev=/sys/class/net/$p/device
	echo 0 >$dev/sriov_numvfs
	echo 1 >$dev/sriov_drivers_autoprobe
done
n=$(for p in $pfs; do ls -d /sys/class/net/$p/device/virtfn* 2>/dev/null; done | wc -l)
check pfs.vf_remove "$n VFs left after sriov_numvfs=0" [ "$n" = 0 ]
