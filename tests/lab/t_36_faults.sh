# The fault matrix (tests/README.md): the journal's file system full
# mid-alloc and mid-release; sysfs writes that fail (driver_override,
# unbind, sriov_numvfs: a read-only file bind-mounted over the attribute);
# the PF's VFs removed (sriov_numvfs 0) under leases; libvirtd killed
# mid-attach. Each: one clear message, journal and hardware consistent,
# the next command repairs or reports.
. tests/lab/lib.sh
. tests/lab/journal.sh
lab_setup faults || exit 0
lab_conf net1 3 libvirt
nleases() { jleases "$st" | grep -c .; }
lstate() { jleases "$st" | jq -r "select(.pci == \"$1\") | .state"; }
has_mac() { ip -d link show "$pf" | grep -q "link/ether $1"; }
vfpci() { basename "$(readlink "$dev/virtfn$1")"; }
# A read-only file over a sysfs attribute: writes fail with EROFS.
ro_over() {
	cat "$1" >"/tmp/ro.$2" 2>/dev/null || : >"/tmp/ro.$2"
	mount --bind "/tmp/ro.$2" "$1" && mount -o remount,bind,ro "$1"
}

umount "$st" 2>/dev/null
rm -rf "$st"
echo 0 >$dev/sriov_numvfs
va setup >"$out/setup.txt" 2>&1; rc=$?
check faults.setup "rc=$rc $(cat $out/setup.txt)" [ $rc = 0 ]

# ---- The journal's file system full (a 64 KiB tmpfs on the state dir).
mkdir -p "$st"
mount -t tmpfs -o size=64k,mode=0755 vfa-faults "$st"
va status >/dev/null 2>&1
fill() {
	i=0
	while head -c 4096 /dev/zero >"$st/fill$i" 2>/dev/null; do i=$((i + 1)); done
	rm -f "$st/fill$i"
}
fill
va alloc --pool net1 --mac 02:00:00:00:36:01 >"$out/full1.out" 2>"$out/full1.err"; rc=$?
check faults.full_alloc_refused "rc=$rc $(cat $out/full1.err)" \
	sh -c "[ $rc = 1 ] && grep -q 'No space left on device (free space' $out/full1.err && [ \$(wc -l <$out/full1.err) = 1 ]"
check faults.full_alloc_nothing_changed "$(nleases) leases; MAC set: $(has_mac 02:00:00:00:36:01 && echo yes)" \
	sh -c "[ $(nleases) = 0 ] && ! ip -d link show $pf | grep -q 02:00:00:00:36:01"
# Room for the first journal write only: the alloc fails after the VF
# was set up, and must undo it. A save needs its record plus 4 KiB free
# (the room it keeps for the drops of a rollback): two pages free let the
# first save through and take them both.
rm -f "$st/fill0" "$st/fill1"
va alloc --pool net1 --mac 02:00:00:00:36:02 >"$out/full2.out" 2>"$out/full2.err"; rc=$?
check faults.mid_alloc_refused "rc=$rc $(cat $out/full2.err)" \
	sh -c "[ $rc = 1 ] && grep -q 'No space left on device' $out/full2.err && [ \$(wc -l <$out/full2.err) = 1 ]"
check faults.mid_alloc_rolled_back "$(nleases) leases; MAC left: $(has_mac 02:00:00:00:36:02 && echo yes)" \
	sh -c "[ $(nleases) = 0 ] && ! ip -d link show $pf | grep -q 02:00:00:00:36:02"
rm -f "$st"/fill*
va --json alloc --pool net1 --mac 02:00:00:00:36:03 >"$out/full3.json" 2>"$out/full3.err"; rc=$?
check faults.full_freed_alloc_ok "rc=$rc $(cat $out/full3.err)" [ $rc = 0 ]
p3=$(jq -r .pci "$out/full3.json")
fill
va release --pci "$p3" >"$out/full4.out" 2>"$out/full4.err"; rc=$?
check faults.mid_release_refused "rc=$rc $(cat $out/full4.err)" \
	sh -c "[ $rc = 1 ] && grep -q 'No space left on device' $out/full4.err && [ \$(wc -l <$out/full4.err) = 1 ]"
check faults.mid_release_kept "lease $(lstate $p3); MAC set: $(has_mac 02:00:00:00:36:03 && echo yes)" \
	sh -c "[ \"$(lstate $p3)\" = ready ] && ip -d link show $pf | grep -q 02:00:00:00:36:03"
rm -f "$st"/fill*
va release --pci "$p3" >"$out/full5.out" 2>"$out/full5.err"; rc=$?
check faults.full_freed_release_ok "rc=$rc $(cat $out/full5.err)" \
	sh -c "[ $rc = 0 ] && [ $(nleases) = 0 ] && ! ip -d link show $pf | grep -q 02:00:00:00:36:03"
umount "$st"

# ---- sysfs writes that fail.
# driver_override: VF 0 off vfio-pci, its override read-only; alloc takes VF 0.
p0=$(vfpci 0)
echo "$p0" >/sys/bus/pci/drivers/vfio-pci/unbind
ro_over /sys/bus/pci/devices/$p0/driver_override ovr
va alloc --pool net1 --mac 02:00:00:00:36:04 >"$out/ovr.out" 2>"$out/ovr.err"; rc=$?
check faults.override_ro_refused "rc=$rc $(cat $out/ovr.err)" \
	sh -c "[ $rc = 1 ] && grep -q 'driver_override: Read-only file system' $out/ovr.err && [ \$(wc -l <$out/ovr.err) = 1 ]"
check faults.override_ro_rolled_back "$(nleases) leases; MAC left: $(has_mac 02:00:00:00:36:04 && echo yes)" \
	sh -c "[ $(nleases) = 0 ] && ! ip -d link show $pf | grep -q 02:00:00:00:36:04"
umount /sys/bus/pci/devices/$p0/driver_override
va setup >"$out/ovr2.out" 2>&1; rc=$?
check faults.override_next_setup_repairs "rc=$rc $(cat $out/ovr2.out); driver $(basename "$(readlink /sys/bus/pci/devices/$p0/driver)")" \
	sh -c "[ $rc = 0 ] && [ \"\$(basename \$(readlink /sys/bus/pci/devices/$p0/driver))\" = vfio-pci ]"

# unbind: VF 1 on the host driver (igbvf), whose unbind is read-only.
p1=$(vfpci 1)
echo igbvf >/sys/bus/pci/devices/$p1/driver_override
echo "$p1" >/sys/bus/pci/drivers/vfio-pci/unbind
echo "$p1" >/sys/bus/pci/drivers_probe
d1=$(basename "$(readlink /sys/bus/pci/devices/$p1/driver)")
if [ "$d1" != igbvf ]; then
	skip "faults.unbind_ro: VF $p1 did not bind to igbvf (driver \"$d1\")"
else
	ro_over /sys/bus/pci/drivers/igbvf/unbind unb
	va setup >"$out/unb.out" 2>"$out/unb.err"; rc=$?
	check faults.unbind_ro_refused "rc=$rc $(cat $out/unb.err)" \
		sh -c "[ $rc = 1 ] && grep -q 'cannot unbind $p1 from igbvf: Read-only file system' $out/unb.err && [ \$(wc -l <$out/unb.err) = 1 ]"
	check faults.unbind_ro_nothing_leased "$(nleases) leases" [ "$(nleases)" = 0 ]
	umount /sys/bus/pci/drivers/igbvf/unbind
fi
va setup >"$out/unb2.out" 2>&1; rc=$?
check faults.unbind_next_setup_repairs "rc=$rc $(cat $out/unb2.out); driver $(basename "$(readlink /sys/bus/pci/devices/$p1/driver)")" \
	sh -c "[ $rc = 0 ] && [ \"\$(basename \$(readlink /sys/bus/pci/devices/$p1/driver))\" = vfio-pci ]"

# sriov_numvfs: no VFs, the attribute read-only; setup cannot create them.
echo 0 >$dev/sriov_numvfs
ro_over $dev/sriov_numvfs nvf
va setup >"$out/nvf.out" 2>"$out/nvf.err"; rc=$?
check faults.numvfs_ro_refused "rc=$rc $(cat $out/nvf.err)" \
	sh -c "[ $rc = 1 ] && grep -q 'creating 3 VFs: cannot write 3 to .*sriov_numvfs: Read-only file system' $out/nvf.err && [ \$(wc -l <$out/nvf.err) = 1 ]"
umount $dev/sriov_numvfs
va alloc --pool net1 >"$out/nvf2.out" 2>"$out/nvf2.err"; rc=$?
check faults.numvfs_next_alloc_reports "rc=$rc $(cat $out/nvf2.err)" \
	sh -c "[ $rc = 1 ] && grep -q 'run vfagent setup' $out/nvf2.err"
va setup >"$out/nvf3.out" 2>&1; rc=$?
check faults.numvfs_next_setup_repairs "rc=$rc $(cat $out/nvf3.out)" \
	sh -c "[ $rc = 0 ] && [ \$(cat $dev/sriov_numvfs) = 3 ]"

# ---- The PF's VFs removed under two leases.
va --json alloc --pool net1 --mac 02:00:00:00:36:05 >"$out/g1.json" 2>&1
va --json alloc --pool net1 --mac 02:00:00:00:36:06 >"$out/g2.json" 2>&1
g1=$(jq -r .pci "$out/g1.json") g2=$(jq -r .id "$out/g2.json")
check faults.gone_leased "$(nleases) leases: $(cat $out/g1.json $out/g2.json)" [ "$(nleases)" = 2 ]
echo 0 >$dev/sriov_numvfs
va --json status >"$out/g3.json" 2>"$out/g3.err"; rc=$?
check faults.gone_status_reports "rc=$rc $(jq -c .reconcile $out/g3.json 2>/dev/null) $(cat $out/g3.err)" \
	sh -c "[ $rc = 0 ] && jq -r '.reconcile[]' $out/g3.json | grep -q '$g1 .*the VF is gone'"
va setup >"$out/g4.out" 2>"$out/g4.err"; rc=$?
# setup recreates the VFs under their leases (as after a reboot) and puts
# the leases' MACs back on them.
check faults.gone_setup_recreates "rc=$rc $(cat $out/g4.err)" \
	sh -c "[ $rc = 0 ] && [ \$(cat $dev/sriov_numvfs) = 3 ] && ip -d link show $pf | grep -q 02:00:00:00:36:05 && ip -d link show $pf | grep -q 02:00:00:00:36:06"
va release --pci "$g1" >"$out/g5.out" 2>"$out/g5.err"; rc=$?
check faults.gone_release_pci "rc=$rc $(cat $out/g5.err)" sh -c "[ $rc = 0 ] && [ $(nleases) = 1 ]"
va release --lease "$g2" >"$out/g6.out" 2>"$out/g6.err"; rc=$?
check faults.gone_release_lease "rc=$rc $(cat $out/g6.err)" sh -c "[ $rc = 0 ] && [ $(nleases) = 0 ]"
va setup >"$out/g7.out" 2>"$out/g7.err"; rc=$?
check faults.gone_setup_after "rc=$rc $(cat $out/g7.err)" \
	sh -c "[ $rc = 0 ] && [ \$(cat $dev/sriov_numvfs) = 3 ] && ! ip -d link show $pf | grep -q 02:00:00:00:36:0"

# ---- libvirtd killed while alloc --domain attaches.
. tests/lab/libvirt.sh
if ! command -v libvirtd >/dev/null; then
	skip "faults.libvirtd_killed: libvirtd not installed"
	exit 0
fi
# An earlier test in the same boot may have left libvirtd running.
if ! virsh -c qemu:///system version >/dev/null 2>&1 && ! lab_libvirt_start; then
	fail "faults.libvirtd: libvirtd did not start"
	exit 0
fi
virsh -q destroy l2 >/dev/null 2>&1
lab_l2_define
virsh -q start l2 >/dev/null 2>&1
va alloc --pool net1 --mac 02:00:00:00:36:07 --domain l2 --live >"$out/k1.out" 2>"$out/k1.err" &
apid=$!
# The lease is journaled as attached just before the attach call.
i=0
while [ $i -lt 3000 ] && ! jleases "$st" | grep -qs '"attached":true'; do i=$((i + 1)); done
kill -9 $(pidof libvirtd)
wait $apid; rc=$?
echo "# alloc during the kill: rc=$rc $(cat $out/k1.err)"
check faults.libvirtd_killed_one_line "rc=$rc, $(wc -l <$out/k1.err) lines: $(cat $out/k1.err)" \
	sh -c "[ $rc = 0 ] || [ \$(wc -l <$out/k1.err) = 1 ]"
libvirtd -d
for i in $(seq 1 100); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.1; done
va --json status >"$out/k2.json" 2>"$out/k2.err"; rc=$?
kp=$(jleases "$st" | jq -r .pci | head -n1)
held=no
[ -n "$kp" ] && virsh dumpxml l2 | grep -q "bus='0x$(echo $kp | cut -d: -f2)' slot='0x$(echo $kp | cut -d: -f3 | cut -d. -f1)' function='0x$(echo $kp | cut -d. -f2)'" && held=yes
echo "# after libvirtd restart: $(nleases) leases ($kp), domain holds it: $held; $(jq -c .reconcile $out/k2.json 2>/dev/null)"
# The message says only what is known: with libvirt gone mid-attach,
# nobody can tell whether the domain took the VF.
check faults.libvirtd_killed_message_true "domain holds: $held; alloc said: $(cat $out/k1.err)" \
	sh -c "[ $held = yes ] || ! grep -q 'still holds' $out/k1.err"
# Consistent: a lease exactly when the domain holds its VF.
check faults.libvirtd_killed_consistent "$(nleases) leases, domain holds: $held" \
	sh -c "{ [ $(nleases) = 1 ] && [ $held = yes ]; } || { [ $(nleases) = 0 ] && [ $held = no ] && ! ip -d link show $pf | grep -q 02:00:00:00:36:07; }"
# The domain stops; a release (or the daemon) gives the VF back.
virsh -q destroy l2 >/dev/null 2>&1
rc=0
[ -n "$kp" ] && { va release --pci "$kp" >"$out/k3.json" 2>&1; rc=$?; }
check faults.libvirtd_killed_next_repairs "rc=$rc $(nleases) leases $(cat $out/k3.json 2>/dev/null)" \
	sh -c "[ $rc = 0 ] && [ $(nleases) = 0 ] && ! ip -d link show $pf | grep -q 02:00:00:00:36:07"
kill $(pidof libvirtd) $(pidof virtlogd) 2>/dev/null
for i in $(seq 1 50); do pidof libvirtd virtlogd >/dev/null || break; sleep 0.1; done
