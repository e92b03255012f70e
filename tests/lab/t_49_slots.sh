# Hot-plug slots (the field report's "No more available PCI slots"): live
# attaches fill the q35 L2's free pcie-root-ports; the next alloc --live is
# refused by vfagent before any lease or VF change; `vfagent ports l2 --add
# 2` plus a restart of l2 gives room, and the live attach works again.
# The L2 has no OS, so a detach is never acked: destroy/start between rounds.
. tests/lab/lib.sh
. tests/lab/journal.sh
. tests/lab/libvirt.sh
lab_setup slots || exit 0
lab_conf net1 7 libvirt owner
pgrep -x libvirtd >/dev/null || lab_libvirt_start || { fail "slots.libvirtd: libvirtd did not start"; exit 0; }
lab_l2_define
virsh -q start l2 >/dev/null
rm -rf "$st"; echo 0 >$dev/sriov_numvfs
va setup >"$out/setup.txt" 2>&1; check slots.setup "$(cat $out/setup.txt)" [ $? = 0 ]
virsh dumpxml l2 >"$out/l2-live-0.xml"

va --json ports l2 >"$out/ports0.json" 2>"$out/ports0.err"; rc=$?
free0=$(jq -r .live.free "$out/ports0.json" 2>/dev/null)
check slots.ports_reads "rc=$rc $(cat $out/ports0.err) $(cat $out/ports0.json)" \
	sh -c "[ $rc = 0 ] && [ '$(jq -r .live.machine $out/ports0.json 2>/dev/null)' = q35 ]"
# The count must match what libvirt sees: empty pcie-root-ports in the XML.
ports=$(grep -c "model='pcie-root-port'" "$out/l2-live-0.xml")
echo "INFO l2: $ports pcie-root-ports, $free0 free"

# Fill every free port with a live attach.
n=0
while [ "$n" -lt "${free0:-0}" ] && [ "$n" -lt 7 ]; do
	va --json alloc --pool net1 --domain l2 --live >"$out/fill$n.json" 2>"$out/fill$n.err" || break
	n=$((n+1))
done
check slots.filled "attached $n of $free0: $(cat $out/fill$n.err 2>/dev/null)" [ "$n" = "$free0" ]
virsh dumpxml l2 >"$out/l2-live-full.xml"

# No free port: refused by vfagent, not by libvirt, and nothing changed.
jleases "$st" >"$out/journal-before"; ip -d link show "$pf" >"$out/link-before"
va alloc --pool net1 --domain l2 --live >"$out/refused.out" 2>"$out/refused.err"; rc=$?
jleases "$st" >"$out/journal-after"; ip -d link show "$pf" >"$out/link-after"
check slots.refused "rc=$rc $(cat $out/refused.err)" \
	sh -c "[ $rc = 1 ] && grep -q 'no free hot-plug slot' $out/refused.err && grep -q 'vfagent ports l2 --add' $out/refused.err"
check slots.refused_not_libvirt "$(cat $out/refused.err)" sh -c "! grep -q 'libvirt could not attach' $out/refused.err"
check slots.refused_journal_same "$(diff $out/journal-before $out/journal-after)" cmp -s "$out/journal-before" "$out/journal-after"
check slots.refused_link_same "$(diff $out/link-before $out/link-after)" cmp -s "$out/link-before" "$out/link-after"
# A persistent-only attach needs no free slot now: not refused.
va --json alloc --pool net1 --domain l2 --persistent >"$out/pers.json" 2>"$out/pers.err"; rc=$?
check slots.persistent_not_refused "rc=$rc $(cat $out/pers.err)" [ $rc = 0 ]
va release --lease "$(jq -r .id $out/pers.json)" >/dev/null 2>&1

# Add two ports to the saved config: the running domain is unchanged.
va --json ports l2 --add 2 >"$out/ports-add.json" 2>"$out/ports-add.err"; rc=$?
check slots.ports_add "rc=$rc $(cat $out/ports-add.err)" \
	sh -c "[ $rc = 0 ] && [ $(jq -r .live.free $out/ports-add.json) = 0 ] && [ $(jq -r .config.free $out/ports-add.json) -ge 2 ]"
check slots.ports_in_config "$(virsh dumpxml --inactive l2 | grep -c pcie-root-port) ports in the config" \
	[ "$(virsh dumpxml --inactive l2 | grep -c "model='pcie-root-port'")" -ge $((ports + 2)) ]
va ports l2 --add 0 >/dev/null 2>&1; rc=$?
check slots.ports_add_zero_usage "rc=$rc" [ $rc = 2 ]

# Restart: the ports exist, and a live attach works.
virsh -q destroy l2 >/dev/null
va release --domain l2 >/dev/null 2>&1
virsh -q start l2 >/dev/null
va --json ports l2 >"$out/ports1.json" 2>&1
check slots.ports_after_restart "$(cat $out/ports1.json)" [ "$(jq -r .live.free $out/ports1.json)" -ge $((free0 + 2)) ]
va --json alloc --pool net1 --domain l2 --live >"$out/after.json" 2>"$out/after.err"; rc=$?
p=$(jq -r .pci "$out/after.json" 2>/dev/null)
check slots.attach_after_ports "rc=$rc $(cat $out/after.err)" \
	sh -c "[ $rc = 0 ] && virsh dumpxml l2 | grep -q \"slot='0x$(echo $p | cut -d: -f3 | cut -d. -f1)' function='0x$(echo $p | cut -d. -f2)'\""

virsh -q destroy l2 >/dev/null 2>&1
va release --domain l2 >/dev/null 2>&1
virsh -q undefine l2 >/dev/null 2>&1
ip link set "$pf" down
echo 0 >$dev/sriov_numvfs
