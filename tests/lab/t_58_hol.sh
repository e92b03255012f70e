# No head-of-line blocking in the daemon (issue 10 item 2): while one
# client's release of a VF attached to l2 is pending (the OS-less guest
# never acks the unplug: libvirt waits ~5 s), another client's alloc is
# answered first. An ordering check, not a timing threshold.
# VFAGENT=PATH runs another build (the parent's must fail hol.order).
. tests/lab/lib.sh
. tests/lab/libvirt.sh
. tests/lab/journal.sh
V="${VFAGENT:-$PWD/vfagent}"
set -- $(lab_pf) || { fail "hol.pf: no SR-IOV PF"; exit 0; }
pf=$1
out=${VFAGENT_LAB_OUT:-/tmp}/hol
mkdir -p "$out"
conf=$out/vfagent.conf st=/run/vfagent-hol log=$out/daemon.log
printf '[libvirt]\nuri = qemu:///system\n[pool net1]\npf = %s\nvfs = 7\nowner = libvirt-qemu:kvm\nmode = 0660\n' "$pf" >"$conf"
va() { "$V" -c "$conf" -s "$st" "$@"; }
dpid=
trap 'kill $dpid 2>/dev/null; virsh -q destroy l2 >/dev/null 2>&1' EXIT
pgrep -x libvirtd >/dev/null || lab_libvirt_start || { fail "hol.libvirtd: did not start"; exit 0; }
virsh -q dominfo l2 >/dev/null 2>&1 || lab_l2_define
rm -rf "$st"; : >"$log"
va setup >/dev/null 2>&1; check hol.setup "setup failed" [ $? = 0 ]
"$V" -c "$conf" -s "$st" serve >>"$log" 2>&1 &
dpid=$!
for i in $(seq 1 100); do [ -S "$st/vfagent.sock" ] && break; sleep 0.1; done
virsh -q start l2 >/dev/null 2>&1
a=$(va --json alloc --pool net1 --domain l2 --live 2>&1)
check hol.attach "$a" sh -c "echo '$a' | jq -e '.attached == true' >/dev/null"
: >"$out/order"
( va --json release --domain l2 >"$out/rel.json" 2>"$out/rel.err"; echo "release $?" >>"$out/order" ) &
rpid=$!
# The release is in the detach (journaled "releasing" before it, in any
# build): then another client allocs.
for i in $(seq 1 200); do jleases "$st" | grep -qs '"state":"releasing"' && break; sleep 0.02; done
check hol.release_in_flight "$(jleases $st | jq -c .state)" sh -c ". tests/lab/journal.sh; jleases '$st' | grep -qs '\"state\":\"releasing\"'"
( va --json alloc --pool net1 >"$out/alloc.json" 2>"$out/alloc.err"; echo "alloc $?" >>"$out/order" ) &
apid=$!
wait $apid $rpid
check hol.order "$(tr '\n' ' ' <"$out/order") $(grep -h 'done in' $log | tail -n 3 | tr '\n' ' ')" \
	sh -c "head -n1 '$out/order' | grep -q '^alloc 0$'"
check hol.release_pending "$(cat $out/order) $(cat $out/rel.err)" grep -q '^release [04]$' "$out/order"
check hol.alloc_ok "$(cat $out/alloc.json $out/alloc.err)" jq -e '.pci' "$out/alloc.json"
virsh -q destroy l2 >/dev/null 2>&1
for i in $(seq 1 50); do [ "$(va --json status | jq '.pools[0].leased')" = 1 ] && break; sleep 0.2; done
va release --lease "$(jq -r .id "$out/alloc.json")" >/dev/null 2>&1
kill -TERM $dpid; wait $dpid; dpid=
