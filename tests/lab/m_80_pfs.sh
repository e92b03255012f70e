# Several PFs (tests/lab/run.sh --pfs 4, make check's third boot, m_all.sh):
# four igb PFs, 7 VFs each, 28 VFs in all, each VF in its own IOMMU group;
# then vfagent serving one pool over the four. With fewer PFs: SKIP.
. tests/lab/lib.sh
pfs=$(lab_pfs)
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

# vfagent on the four PFs: one pool of 4 PFs x 7 VFs, served by the
# daemon; every VF leased once, spread over the PFs; the 29th alloc says
# exhausted; list, status, the CDI spec and the metrics count 28; all
# released.
V=${VFAGENT:-./vfagent}
out=${VFAGENT_LAB_OUT:-/tmp}/pfs
rm -rf "$out"; mkdir -p "$out/cdi" "$out/tf"
conf=$out/vfagent.conf st=/run/vfagent-pfs
cat >"$conf" <<CONF
[serve]
cdi-dir = $out/cdi
metrics-file = $out/tf/vfagent.prom
[pool four]
pf = $pfs
vfs = 7
owner = libvirt-qemu:kvm
mode = 0660
CONF
rm -rf "$st"
va --direct setup >"$out/setup.txt" 2>&1; rc=$?
check pfs.agent_setup "rc=$rc $(tail -n 3 $out/setup.txt)" [ $rc = 0 ]
lab_serve "$out/serve.log" || fail "pfs.agent_serve: the daemon did not start: $(tail -n 3 $out/serve.log)"
: >"$out/pcis"
bad=
for i in $(seq 1 28); do
	va --json alloc --pool four >"$out/a.json" 2>"$out/a.err" || { bad="alloc $i: $(cat $out/a.err)"; break; }
	jq -r .pci "$out/a.json" >>"$out/pcis"
done
check pfs.agent_alloc_28 "$bad" [ -z "$bad" ]
n=$(sort -u "$out/pcis" | grep -c .)
check pfs.agent_distinct "$n distinct VFs of 28 allocs" [ "$n" = 28 ]
va alloc --pool four >/dev/null 2>"$out/e.err"; rc=$?
check pfs.agent_exhausted "rc=$rc $(cat $out/e.err)" [ $rc = 3 ]
va --json list >"$out/list.json" 2>&1
n=$(jq '[.pfs[].vfs[] | select(.lease != null and .mac == .lease.mac)] | length' "$out/list.json")
np=$(jq '[.pfs[] | select([.vfs[] | select(.lease != null)] | length == 7)] | length' "$out/list.json")
check pfs.agent_list "$n leased VFs carry their lease's MAC, $np PFs with 7 leases" [ "$n" = 28 -a "$np" = 4 ]
st_json=$(va --json status | jq -c '.pools[0] | [.free, .leased]')
check pfs.agent_status "$st_json" [ "$st_json" = "[0,28]" ]
m=$out/tf/vfagent.prom spec=$out/cdi/vfagent.io-vf.json
for i in $(seq 1 50); do grep -qx 'vfagent_pool_vfs_leased{pool="four"} 28' "$m" 2>/dev/null && break; sleep 0.1; done
check pfs.agent_metrics "$(grep -E '^vfagent_pool_vfs' $m 2>&1)" sh -c \
	"grep -qx 'vfagent_pool_vfs{pool=\"four\"} 28' $m && grep -qx 'vfagent_pool_vfs_leased{pool=\"four\"} 28' $m && [ \$(grep -c '^vfagent_pf_up{pool=\"four\",pf=\"[^\"]*\"} 1\$' $m) = 4 ]"
n=$(jq '.devices | length' "$spec" 2>/dev/null)
check pfs.agent_cdi "$n CDI devices" [ "$n" = 28 ]
bad=
while read -r p; do va release --pci "$p" >/dev/null 2>"$out/r.err" || bad="$bad $p: $(cat $out/r.err)"; done <"$out/pcis"
st_json=$(va --json status | jq -c '.pools[0] | [.free, .leased]')
check pfs.agent_released "$bad $st_json" [ -z "$bad" -a "$st_json" = "[28,0]" ]
lab_serve_stop
for p in $pfs; do echo 0 >/sys/class/net/$p/device/sriov_numvfs; done
