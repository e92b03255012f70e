# The daemon compacts its lease journal between requests (at its sweep),
# not inside the request whose record crossed the bound: a compaction's
# temp file, fsync, rename and directory fsync land in no reply
# (agent/journal_priv.h, VFA_JOURNAL_DEFER_BOUND).
#  - 20 alloc+release cycles through a daemon with no sweep (an hour) take
#    the journal past the 8 KiB bound: it is the same file (no compaction
#    inside a request) and past 9 KiB;
#  - a daemon with a 300 ms sweep compacts it then: a new file, small,
#    and the lease held through it all is still there, same id and MAC.
# VFAGENT=PATH runs another build (16fa4c7's compacts inside the 20
# cycles: compact.none_inline FAILs).
. tests/lab/lib.sh
lab_setup compact || exit 0
lab_conf net1 7
log=$out/daemon.log
dpid=
trap 'kill $dpid 2>/dev/null' EXIT
rm -rf "$st"; : >"$log"
va setup >/dev/null 2>&1; check compact.setup "setup failed" [ $? = 0 ]
VFAGENT_SWEEP_MS=3600000 lab_serve "$log" || { fail "compact.serve: did not start"; exit 0; }
held=$(va --json alloc --pool net1 2>&1)
hpci=$(echo "$held" | jq -r .pci 2>/dev/null)
check compact.held "$held" sh -c "[ -n '$hpci' ] && [ '$hpci' != null ]"
ino0=$(stat -c %i "$st/journal")
bad=0
for i in $(seq 1 20); do
	p=$(va --json alloc --pool net1 2>/dev/null | jq -r .pci 2>/dev/null)
	{ [ -n "$p" ] && [ "$p" != null ] && va release --pci "$p" >/dev/null 2>&1; } || bad=$((bad + 1))
done
ino1=$(stat -c %i "$st/journal") size1=$(stat -c %s "$st/journal")
check compact.cycles "$bad of 20 cycles failed" [ $bad = 0 ]
check compact.none_inline "journal inode $ino0 -> $ino1, $size1 bytes (want the same file, past 9216)" \
	sh -c "[ '$ino0' = '$ino1' ] && [ $size1 -gt 9216 ]"
lab_serve_stop
VFAGENT_SWEEP_MS=300 lab_serve "$log" || { fail "compact.serve_sweep: did not start"; exit 0; }
for i in $(seq 1 50); do
	[ "$(stat -c %i "$st/journal")" != "$ino1" ] && break
	sleep 0.1
done
ino2=$(stat -c %i "$st/journal") size2=$(stat -c %s "$st/journal")
check compact.at_sweep "journal inode $ino1 -> $ino2, $size2 bytes (want a new file under 2048)" \
	sh -c "[ '$ino1' != '$ino2' ] && [ $size2 -lt 2048 ]"
now=$(va --json list 2>/dev/null | jq -c --arg p "$hpci" '.pfs[].vfs[] | select(.pci == $p) | .lease | [.id, .mac]')
want=$(echo "$held" | jq -c '[.id, .mac]')
check compact.lease_kept "held $want, after compaction $now" [ "$now" = "$want" ]
grep -q "compaction" "$log" && fail "compact.log: $(grep compaction "$log" | head -n1)" || pass compact.log
lab_serve_stop
