# Who holds a VF, across long names, renames, reboots and missing PFs:
# a domain is its UUID, never a (cut) name; a --persistent lease outlives
# the runtime journal (persistent dir, then the domains' saved XML); a pool
# PF that cannot serve is skipped. VFAGENT_BIN runs another build (used to
# show these checks fail before the fixes).
. tests/lab/lib.sh
. tests/lab/libvirt.sh
V=${VFAGENT_BIN:-$PWD/vfagent}
set -- $(lab_pf) || { fail "id.pf: no SR-IOV PF"; exit 0; }
pf=$1 dev=/sys/class/net/$1/device
out=${VFAGENT_LAB_OUT:-/tmp}/identity
mkdir -p "$out"
conf=$out/vfagent.conf conf2=$out/multi.conf st=/run/vfagent-id pst=/run/vfagent-id-persist
log=$out/daemon.log
cat >"$conf" <<CONF
[libvirt]
uri = qemu:///system
[pool net1]
pf = $pf
vfs = 4
CONF
cat >"$conf2" <<CONF
[pool net1]
pf = nosuch0 $pf
vfs = 4
CONF
pd=""; "$V" --help | grep -q persist-dir && pd="--persist-dir $pst"
va() { "$V" -c "$conf" -s "$st" $pd "$@"; }
vmac() { ip -d link show "$pf" | grep -c "$1"; }
leases() { va --json status | jq -r '.pools[0].leases[] | "\(.pci) \(.domain) \(.state)"'; }
def_dom() {
	sed "s|<name>l2</name>|<name>$1</name>|" /tmp/l2.xml >"$out/dom.xml"
	virsh -q define "$out/dom.xml" >/dev/null
}
start_daemon() {	# up once it watches libvirt's events
	n0=$(grep -c 'watching libvirt domain events' "$log")
	"$V" -c "$conf" -s "$st" $pd serve >>"$log" 2>&1 &
	dpid=$!
	for i in $(seq 1 150); do
		[ "$(grep -c 'watching libvirt domain events' "$log")" -gt "$n0" ] && return 0
		sleep 0.1
	done
	return 1
}
stop_daemon() { kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; }
wait_log() { for i in $(seq 1 100); do grep -q "$1" "$log" && return 0; sleep 0.1; done; return 1; }
fresh() { rm -rf "$st" "$pst"; echo 0 >$dev/sriov_numvfs; va setup >"$out/setup.txt" 2>&1; }
: >"$log"

# -- 4: a pool PF that is missing (or down) is skipped, not fatal.
fresh; check id.setup "$(cat $out/setup.txt)" [ $? = 0 ]
"$V" -c "$conf2" -s "$st" $pd --json alloc --pool net1 >"$out/m1.json" 2>"$out/m1.err"; rc=$?
check id.multipf_skips_missing "rc=$rc $(cat $out/m1.err)" [ $rc = 0 -a "$(jq -r .state $out/m1.json)" = ready ]
check id.multipf_says_why "$(jq -c .reconcile $out/m1.json)" sh -c "jq -r '.reconcile[]' $out/m1.json | grep -q 'nosuch0'"
ip link set "$pf" down
"$V" -c "$conf2" -s "$st" $pd alloc --pool net1 >/dev/null 2>"$out/m2.err"; rc=$?
check id.multipf_none_can_serve "rc=$rc $(cat $out/m2.err)" \
	sh -c "[ $rc = 1 ] && grep -q 'nosuch0' $out/m2.err && grep -q 'is down' $out/m2.err"
va release --lease "$(jq -r .id $out/m1.json)" >/dev/null 2>&1
va setup >/dev/null 2>&1

virsh -c qemu:///system version >/dev/null 2>&1 || lab_libvirt_start ||
	{ fail "id.libvirtd: libvirtd did not start"; exit 0; }
lab_l2_define

# -- H1: a 200-byte domain name. Journaled whole, found by UUID: neither
# release --pci, nor a daemon's domain event, frees the VF it holds.
long=long-$(printf '%0195d' 0)
def_dom "$long"
virsh -q start "$long" >/dev/null 2>"$out/long.err"
check id.long_domain_runs "$(cat $out/long.err)" sh -c "virsh domstate '$long' | grep -q running"
va --json alloc --pool net1 --mac 02:00:00:00:45:01 --domain "$long" --live >"$out/a1.json" 2>"$out/a1.err"; rc=$?
check id.long_alloc "rc=$rc $(cat $out/a1.err)" [ $rc = 0 ]
p1=$(jq -r .pci "$out/a1.json")
check id.long_name_whole "$(jq -r .domain $out/a1.json | wc -c)" [ "$(jq -r .domain "$out/a1.json")" = "$long" ]
start_daemon || fail "id.daemon: $(tail -n3 $log)"
def_dom evt; virsh -q undefine evt >/dev/null
wait_log 'domain evt: undefined'
leases >"$out/l1.txt"
check id.long_event_kept "$(cat $out/l1.txt) / $(grep reconcile $log | tail -n2)" grep -q "^$p1 $long ready" "$out/l1.txt"
check id.long_event_mac_kept "VF MAC scrubbed under the running domain" [ "$(vmac 02:00:00:00:45:01)" = 1 ]
stop_daemon
va --json release --pci "$p1" >"$out/r1.json" 2>"$out/r1.err"; rc=$?
check id.long_release_pci_pending "rc=$rc $(cat $out/r1.err) $(jq -c .released $out/r1.json)" [ $rc = 4 ]
leases >"$out/l2.txt"
check id.long_release_pci_kept "$(cat $out/l2.txt)" grep -q "^$p1 $long detaching" "$out/l2.txt"
check id.long_release_mac_kept "VF MAC scrubbed under the running domain" [ "$(vmac 02:00:00:00:45:01)" = 1 ]
virsh -q destroy "$long" >/dev/null
va release --domain "$long" >/dev/null 2>&1
check id.long_freed_after_stop "$(leases)" [ -z "$(leases)" ]
virsh -q undefine "$long" >/dev/null
toolong=x$(printf '%0300d' 0)
va alloc --pool net1 --domain "$toolong" --persistent >/dev/null 2>"$out/tl.err"; rc=$?
check id.too_long_name_refused "rc=$rc $(cat $out/tl.err)" sh -c "[ $rc = 2 ] && grep -q 'at most 255' $out/tl.err"

# -- Rename: the UNDEFINED event of the old name does not free the VF the
# renamed domain keeps in its config; the lease follows the new name.
def_dom ren1
va --json alloc --pool net1 --mac 02:00:00:00:45:02 --domain ren1 --persistent >"$out/a2.json" 2>"$out/a2.err"; rc=$?
check id.rename_alloc "rc=$rc $(cat $out/a2.err)" [ $rc = 0 ]
p2=$(jq -r .pci "$out/a2.json"); s2=$(printf '0x%s' "$(echo $p2 | cut -d: -f3 | cut -d. -f1)")
start_daemon || fail "id.daemon2: $(tail -n3 $log)"
virsh -q domrename ren1 ren2 >/dev/null
wait_log 'domain ren1: undefined'
leases >"$out/l3.txt"
check id.rename_kept "$(cat $out/l3.txt) / $(grep -i 'ren1\|ren2' $log | tail -n3)" grep -q "^$p2 " "$out/l3.txt"
check id.rename_mac_kept "VF MAC scrubbed" [ "$(vmac 02:00:00:00:45:02)" = 1 ]
check id.rename_in_config "hostdev gone from ren2's config" sh -c "virsh dumpxml --inactive ren2 | grep -q \"slot='$s2'\""
check id.rename_name_followed "$(cat $out/l3.txt)" grep -q "^$p2 ren2 ready" "$out/l3.txt"
stop_daemon
va release --domain ren2 >"$out/r2.txt" 2>&1; rc=$?
check id.rename_release_new_name "rc=$rc $(cat $out/r2.txt)" sh -c "[ $rc = 0 ] && ! virsh dumpxml --inactive ren2 | grep -q '<hostdev'"
virsh -q undefine ren2 >/dev/null 2>&1

# -- A --persistent lease outlives the runtime journal (a reboot inside one
# boot: /run wiped, VFs destroyed, setup again), first from the persistent
# dir, then with that wiped too, from the domain's saved XML alone.
def_dom pers
va --json alloc --pool net1 --mac 02:00:00:00:45:03 --domain pers --persistent >"$out/a3.json" 2>"$out/a3.err"; rc=$?
check id.persist_alloc "rc=$rc $(cat $out/a3.err)" [ $rc = 0 ]
p3=$(jq -r .pci "$out/a3.json")
reboot_check() {	# $1: test name suffix
	ip link set "$pf" down
	rm -rf "$st"; echo 0 >$dev/sriov_numvfs
	va --json setup >"$out/s-$1.json" 2>&1; rc=$?
	check id.reboot_setup_$1 "rc=$rc $(cat $out/s-$1.json)" [ $rc = 0 ]
	leases >"$out/l-$1.txt"
	check id.reboot_held_$1 "leases: $(cat $out/l-$1.txt)" grep -q "^$p3 pers ready" "$out/l-$1.txt"
	got=""
	for i in 1 2 3 4; do
		va --json alloc --pool net1 >"$out/x$i.json" 2>/dev/null && got="$got $(jq -r .pci $out/x$i.json)"
	done
	check id.reboot_not_reused_$1 "allocs got:$got (held: $p3)" sh -c "! echo '$got' | grep -q '$p3' && [ \$(echo $got | wc -w) = 3 ]"
	for i in 1 2 3 4; do va release --lease "$(jq -r .id $out/x$i.json 2>/dev/null)" >/dev/null 2>&1; done
}
reboot_check pdir
# A second domain whose config names the same VF: the rebuild says so.
def_dom other
cat >"$out/hd.xml" <<XML
<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x$(echo $p3 | cut -d: -f2)' slot='0x$(echo $p3 | cut -d: -f3 | cut -d. -f1)' function='0x$(echo $p3 | cut -d. -f2)'/></source></hostdev>
XML
virsh -q attach-device other "$out/hd.xml" --config >/dev/null 2>"$out/o.err"
rm -rf "$st"
va --json status >"$out/o.json" 2>&1
check id.rebuild_conflict_noted "$(cat $out/o.err) $(jq -c .reconcile $out/o.json)" \
	sh -c "jq -r '.reconcile[]' $out/o.json | grep -q 'domain other also names it as hostdev'"
virsh -q undefine other >/dev/null 2>&1
rm -rf "$pst"
reboot_check xml
virsh -q start pers >/dev/null 2>"$out/ps.err"
check id.reboot_domain_starts "$(cat $out/ps.err)" sh -c "virsh domstate pers | grep -q running"
virsh -q destroy pers >/dev/null 2>&1
va release --domain pers >/dev/null 2>&1
check id.persist_released "$(leases)" [ -z "$(leases)" ]
virsh -q undefine pers >/dev/null 2>&1
virsh -q undefine l2 >/dev/null 2>&1
rm -rf "$st" "$pst"
ip link set "$pf" down
echo 0 >$dev/sriov_numvfs
