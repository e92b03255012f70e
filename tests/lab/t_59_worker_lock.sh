# A daemon worker holds none of the daemon's open file descriptions
# (flock locks belong to them). The bug: a worker forked while the daemon
# had its journal open kept a copy; the daemon compacted the journal under
# its lock and closed its copy, but the lock stayed (the worker's copy held
# it), so the worker's own next save waited on it forever: the release
# never replied and every later alloc waited for the state lock.
# Here: a release of a VF attached to l2 waits in libvirt's unacked detach
# (~5 s) while another client's churn makes the daemon compact (at its
# sweep, every 500 ms here: the daemon compacts between requests); the
# release must reply, and an alloc after it too. `timeout` only turns a
# hang into a FAIL. VFAGENT=PATH runs another build (the parent's of the
# fix fails wlock.release_replied).
. tests/lab/lib.sh
. tests/lab/libvirt.sh
. tests/lab/journal.sh
lab_setup wlock || exit 0
lab_conf net1 7 libvirt owner
log=$out/daemon.log
dpid=
trap 'kill $dpid 2>/dev/null; virsh -q destroy l2 >/dev/null 2>&1' EXIT
pgrep -x libvirtd >/dev/null || lab_libvirt_start || { fail "wlock.libvirtd: did not start"; exit 0; }
virsh -q dominfo l2 >/dev/null 2>&1 || lab_l2_define
virsh -q destroy l2 >/dev/null 2>&1
rm -rf "$st"; : >"$log"
va setup >/dev/null 2>&1; check wlock.setup "setup failed" [ $? = 0 ]
VFAGENT_SWEEP_MS=500 lab_serve "$log" || { fail "wlock.serve: did not start"; exit 0; }
virsh -q start l2 >/dev/null 2>&1
a=$(va --json alloc --pool net1 --domain l2 --live 2>&1)
check wlock.attach "$a" sh -c "echo '$a' | jq -e '.attached == true' >/dev/null"
cycle() { cy=$(va --json alloc --pool net1 | jq -r .id) && va release --lease "$cy" >/dev/null 2>&1; }
jsize() { stat -c %s "$st/journal"; }
jino() { stat -c %i "$st/journal"; }
# Close below the compaction bound (8 KiB + 1 KiB per lease held,
# agent/journal.c), so that a few cycles during the detach take it past,
# and the next sweep compacts.
for i in $(seq 1 60); do [ "$(jsize)" -gt 7000 ] && break; cycle; done
i0=$(jino)
rm -f "$out/rel.rc"
( timeout 60 "$V" -c "$conf" -s "$st" --json release --domain l2 >"$out/rel.json" 2>"$out/rel.err"
  echo $? >"$out/rel.rc" ) &
rpid=$!
for i in $(seq 1 200); do jleases "$st" | grep -qs '"state":"releasing"' && break; sleep 0.02; done
n=0
while [ "$(jino)" = "$i0" ] && [ $n -lt 40 ]; do cycle; n=$((n + 1)); done
if [ "$(jino)" = "$i0" ] || [ -s "$out/rel.rc" ]; then
	skip "wlock.release_replied: the journal was not compacted while the detach was pending ($n cycles, size $(jsize)): nothing tested"
	wait $rpid
else
	wait $rpid
	check wlock.release_replied "compacted after $n cycles during the detach; release: rc $(cat "$out/rel.rc") $(cat "$out/rel.err")" \
		grep -qE '^(0|4)$' "$out/rel.rc"
fi
b=$(timeout 30 "$V" -c "$conf" -s "$st" --json alloc --pool net1 2>&1)
check wlock.alloc_after "$b" sh -c "echo '$b' | jq -e .pci >/dev/null"
id=$(echo "$b" | jq -r .id 2>/dev/null)
[ -n "$id" ] && timeout 60 "$V" -c "$conf" -s "$st" release --lease "$id" >/dev/null 2>&1
virsh -q destroy l2 >/dev/null 2>&1
lab_serve_stop; dpid=
