# agent/ with libvirt: alloc --domain attaches through the C API; a detach
# the guest never acks keeps the VF leased; after virsh destroy the VF is
# scrubbed and returned; a failed attach returns the VF to the pool.
. tests/lab/lib.sh
. tests/lab/libvirt.sh
lab_setup virt || exit 0
lab_conf net1 2 libvirt owner
if ! lab_libvirt_start; then fail "virt.libvirtd: libvirtd did not start"; exit 0; fi
pass "virt.libvirtd: $(libvirtd --version)"
lab_l2_define
t0=$(now_ms); virsh -q start l2 >/dev/null; echo "TIME l2_start_ms=$(( $(now_ms) - t0 ))"
check virt.l2_running "l2 not running" sh -c "virsh domstate l2 | grep -q running"
rm -rf "$st"; echo 0 >$dev/sriov_numvfs
va setup >"$out/setup.txt" 2>&1; check virt.setup "$(cat $out/setup.txt)" [ $? = 0 ]

# Refused before anything changes.
va alloc --pool net1 --domain nosuch --live 2>"$out/e.err"; rc=$?
check virt.unknown_domain "rc=$rc $(cat $out/e.err)" sh -c "[ $rc = 1 ] && grep -q 'unknown domain \"nosuch\"' $out/e.err"
check virt.unknown_domain_nothing_leased "$(va --json status | jq .pools[0].leased)" [ "$(va --json status | jq .pools[0].leased)" = 0 ]

t0=$(now_ms)
va --json alloc --pool net1 --mac 02:00:00:00:01:01 --domain l2 --live >"$out/a1.json" 2>"$out/a1.err"; rc=$?
echo "TIME alloc_attach_ms=$(( $(now_ms) - t0 ))"
check virt.alloc_attach "rc=$rc $(cat $out/a1.err)" [ $rc = 0 ]
p1=$(jq -r .pci $out/a1.json); n1=$(jq -r .vfio_node $out/a1.json)
slot=$(printf '0x%s' "$(echo $p1 | cut -d: -f3 | cut -d. -f1)")
check virt.live_xml "hostdev $p1 not in live XML" sh -c "virsh dumpxml l2 | grep -q \"bus='0x00' slot='$slot' function='0x$(echo $p1 | cut -d. -f2)'\""
qpid=$(pgrep -f 'guest=l2' | head -n1)
check virt.qemu_opened_node "QEMU ($qpid) has no fd on $n1" sh -c "ls -l /proc/$qpid/fd 2>/dev/null | grep -q '$n1\$'"

# Detach returns 0 but the OS-less guest never lets go: pending, still leased.
t0=$(now_ms)
va --json release --domain l2 >"$out/r1.json" 2>"$out/r1.err"; rc=$?
echo "TIME release_detach_ms=$(( $(now_ms) - t0 ))"
check virt.release_pending "rc=$rc $(cat $out/r1.err) $(jq -c '.pending|length' $out/r1.json 2>/dev/null)" \
	[ $rc = 4 -a "$(jq '.pending|length' $out/r1.json 2>/dev/null)" = 1 ]
check virt.pending_still_leased "$(va --json status | jq -c '.pools[0].leases[0].state')" \
	[ "$(va --json status | jq -r '.pools[0].leases[0].state')" = detaching ]
va --json alloc --pool net1 >"$out/a2.json" 2>&1
check virt.pending_not_reused "second alloc got $(jq -r .pci $out/a2.json)" \
	[ "$(jq -r .pci $out/a2.json)" != "$p1" -a "$(jq -r .pci $out/a2.json)" != null ]
va release --lease "$(jq -r .id $out/a2.json)" >/dev/null 2>&1

# A second device cannot be attached now (the detached one still holds its
# port): refused before anything changes, as vfagent counts the free
# hot-plug slots first, and no lease is left behind.
va alloc --pool net1 --domain l2 --live >"$out/a3.out" 2>"$out/a3.err"; rc=$?
check virt.attach_fails_cleanly "rc=$rc $(cat $out/a3.err)" sh -c "[ $rc = 1 ] && grep -q 'no free hot-plug slot' $out/a3.err"
grep -q 'PCI slots' "$out/a3.err" && check virt.attach_hint "no hint" grep -q 'pcie-root-port' "$out/a3.err"
check virt.attach_fail_no_lease "$(va --json status | jq -c .pools[0].leased)" [ "$(va --json status | jq .pools[0].leased)" = 1 ]

# The domain stops: libvirt resets the node to root 0600; release scrubs
# the VF and the next alloc finds the node owned as configured again.
virsh -q destroy l2 >/dev/null
va --json release --domain l2 >"$out/r2.json" 2>"$out/r2.err"; rc=$?
check virt.release_after_destroy "rc=$rc $(cat $out/r2.err)" [ $rc = 0 -a "$(jq '.released|length' $out/r2.json)" = 1 ]
check virt.scrubbed "$(ip -d link show $pf | grep 'vf 0 ')" sh -c "! ip -d link show $pf | grep -q '02:00:00:00:01:01'"
# kill -9 right after the attach: the next command must not free a VF the
# domain holds; it detaches (pending here) and keeps the lease.
virsh -q start l2 >/dev/null
VFAGENT_CRASH_AT=attached va alloc --pool net1 --mac 02:00:00:00:01:09 --domain l2 --live >/dev/null 2>&1; rc=$?
va --json status >"$out/crash.json" 2>&1
check virt.crash_after_attach_kept "rc=$rc $(jq -c '[.pools[0].leased, .pools[0].leases[0].state, .reconcile]' $out/crash.json)" \
	[ $rc = 137 -a "$(jq -r '.pools[0].leases[0].state' $out/crash.json)" = detaching ]
virsh -q destroy l2 >/dev/null
va release --domain l2 >/dev/null 2>&1
check virt.crash_after_attach_freed "$(va --json status | jq -c .pools[0].leased)" [ "$(va --json status | jq .pools[0].leased)" = 0 ]
check virt.crash_after_attach_scrubbed "$(ip -d link show $pf | grep 02:00:00:00:01:09)" sh -c "! ip -d link show $pf | grep -q 02:00:00:00:01:09"

# A persistent attach leaves the domain's saved config on release.
va --json alloc --pool net1 --domain l2 --persistent >"$out/p.json" 2>&1
pp=$(jq -r .pci $out/p.json); pslot=$(printf '0x%s' "$(echo $pp | cut -d: -f3 | cut -d. -f1)")
check virt.persistent_in_config "$(cat $out/p.json)" sh -c "virsh dumpxml --inactive l2 | grep -q \"slot='$pslot' function='0x$(echo $pp | cut -d. -f2)'\""
va release --domain l2 >"$out/p-rel.txt" 2>&1
check virt.persistent_released_from_config "$(cat $out/p-rel.txt)" sh -c "! virsh dumpxml --inactive l2 | grep -q '<hostdev'"

va --json alloc --pool net1 >"$out/a4.json" 2>&1
n4=$(jq -r .vfio_node $out/a4.json)
check virt.node_owned_again "$(stat -c '%U:%G %a' $n4 2>&1)" [ "$(stat -c '%U:%G %a' $n4)" = "libvirt-qemu:kvm 660" ]
va release --lease "$(jq -r .id $out/a4.json)" >/dev/null 2>&1
virsh -q undefine l2 >/dev/null 2>&1
ip link set "$pf" down
echo 0 >$dev/sriov_numvfs
