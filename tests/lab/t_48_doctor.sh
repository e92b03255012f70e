# vfagent doctor in the lab: the field report's three host problems at once
# (PF down, no AppArmor rule for /dev/vfio/N, a domain holding a lease with
# no free hot-plug slot) are each found with their fix; after vfagent setup
# and those fixes, doctor finds nothing (exit 0).
# AppArmor: the profile files live in the overlay's /etc; if the guest
# kernel has AppArmor off, --apparmor-param points the enabled check at a
# file saying Y (README: vfagent doctor).
. tests/lab/lib.sh
. tests/lab/libvirt.sh
lab_setup doctor || exit 0
lab_conf net1 7 libvirt owner
aa=/sys/module/apparmor/parameters/enabled
if [ "$(cat $aa 2>/dev/null)" != Y ]; then
	echo Y >"$out/aa-enabled"; aa=$out/aa-enabled
fi
doc() { va doctor --apparmor-param "$aa" "$@"; }
# status of one check in a doctor JSON file: "fail", "ok", ...
st_of() { jq -r --arg c "$2" '[.findings[] | select(.check == $c) | .status] | first // "none"' "$1"; }
pgrep -x libvirtd >/dev/null || lab_libvirt_start || { fail "doctor.libvirtd: libvirtd did not start"; exit 0; }
lab_l2_define
virsh -q start l2 >/dev/null
rm -rf "$st"; echo 0 >$dev/sriov_numvfs

# The profile as Debian ships it (/dev/vfio/vfio only); the fixture's
# copy of its shape if libvirt's package did not install it.
rm -f /etc/apparmor.d/local/abstractions/libvirt-qemu
if [ ! -f /etc/apparmor.d/abstractions/libvirt-qemu ]; then
	mkdir -p /etc/apparmor.d/abstractions
	cp tests/fixtures/doctor/libvirt-qemu-abstraction /etc/apparmor.d/abstractions/libvirt-qemu
fi
check doctor.apparmor_no_rule_yet "the abstraction already allows /dev/vfio/N" \
	sh -c "! grep -q '^[[:space:]]*/dev/vfio/\*' /etc/apparmor.d/abstractions/libvirt-qemu"

# A domain holding leases with every hot-plug port taken.
va setup >"$out/setup0.txt" 2>&1; check doctor.setup0 "$(cat $out/setup0.txt)" [ $? = 0 ]
free=$(va --json ports l2 | jq -r .live.free)
n=0
while [ "$n" -lt "${free:-0}" ] && [ "$n" -lt 7 ]; do
	va alloc --pool net1 --domain l2 --live >/dev/null 2>"$out/fill.err" || break
	n=$((n+1))
done
check doctor.filled "attached $n of $free: $(cat $out/fill.err)" [ "$n" = "$free" ]
# The field report's reboot: the PF comes up down.
ip link set "$pf" down

doc --json >"$out/bad.json" 2>"$out/bad.err"; rc=$?
doc >"$out/bad.txt" 2>&1
cat "$out/bad.txt"
check doctor.bad_exit "rc=$rc $(cat $out/bad.err)" [ $rc = 1 ]
check doctor.finds_pf_down "pf.up: $(st_of $out/bad.json pf.up)" [ "$(st_of $out/bad.json pf.up)" = fail ]
check doctor.finds_apparmor "libvirt.apparmor: $(st_of $out/bad.json libvirt.apparmor)" [ "$(st_of $out/bad.json libvirt.apparmor)" = fail ]
check doctor.finds_no_slot "domain.slots: $(st_of $out/bad.json domain.slots)" [ "$(st_of $out/bad.json domain.slots)" = fail ]
check doctor.names_fixes "$(grep -c 'fix:' $out/bad.txt) fixes" sh -c \
	"grep -q 'fix: run vfagent setup' $out/bad.txt && grep -q \"/dev/vfio/\\* rw,\" $out/bad.txt && grep -q 'vfagent ports l2 --add' $out/bad.txt"

# The fixes: setup, the AppArmor rule, spare ports and a restart of l2.
va setup >"$out/setup1.txt" 2>&1; check doctor.setup "$(cat $out/setup1.txt)" [ $? = 0 ]
mkdir -p /etc/apparmor.d/local/abstractions
echo '/dev/vfio/* rw,' >>/etc/apparmor.d/local/abstractions/libvirt-qemu
va ports l2 --add 2 >"$out/ports.txt" 2>&1; check doctor.ports_add "$(cat $out/ports.txt)" [ $? = 0 ]
virsh -q destroy l2 >/dev/null
va release --domain l2 >/dev/null 2>&1
virsh -q start l2 >/dev/null
# l2 holds a lease again, now with room to spare.
va alloc --pool net1 --domain l2 --live >"$out/again.txt" 2>&1; check doctor.alloc_again "$(cat $out/again.txt)" [ $? = 0 ]

doc --json >"$out/good.json" 2>"$out/good.err"; rc=$?
doc >"$out/good.txt" 2>&1
cat "$out/good.txt"
check doctor.good_exit "rc=$rc: $(jq -c '[.findings[] | select(.status == "fail" or .status == "warn")]' $out/good.json)" [ $rc = 0 ]
check doctor.good_slots "domain.slots: $(st_of $out/good.json domain.slots)" [ "$(st_of $out/good.json domain.slots)" = ok ]
check doctor.good_apparmor "libvirt.apparmor: $(st_of $out/good.json libvirt.apparmor)" [ "$(st_of $out/good.json libvirt.apparmor)" = ok ]
check doctor.good_intremap "iommu.intremap: $(st_of $out/good.json iommu.intremap)" [ "$(st_of $out/good.json iommu.intremap)" = ok ]
cp /proc/interrupts "$out/interrupts.txt" 2>/dev/null

virsh -q destroy l2 >/dev/null 2>&1
va release --domain l2 >/dev/null 2>&1
virsh -q undefine l2 >/dev/null 2>&1
rm -f /etc/apparmor.d/local/abstractions/libvirt-qemu
ip link set "$pf" down
echo 0 >$dev/sriov_numvfs
