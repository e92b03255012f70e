# A persistent journal (--persist-dir) vfagent cannot read at the first
# command of a boot (here: a newer format): the persistent lease it holds
# is not restored, so no VF can be told free. alloc refuses, naming why;
# reconcile notes it with the fix; doctor fails state.journal with the
# fix; the daemon logs it at warning. Once the journal is readable, the
# next command restores the lease. On the host without SR-IOV (the pool's
# PF is missing). VFAGENT_BIN=PATH runs another build.
. tests/lab/lib.sh
. tests/lab/journal.sh
V=${VFAGENT_BIN:-$PWD/vfagent} S="$PWD/tests/lab/sock_tool"
d=$(mktemp -d /tmp/vfagent-punread.XXXXXX)
dpid=
trap '[ -n "$dpid" ] && kill $dpid 2>/dev/null; rm -rf "$d"' EXIT
chmod 755 "$d"
printf '[pool p]\npf = vfa-nosuch0\nvfs = 2\n[serve]\ncdi-dir =\nmetrics-file =\n' >"$d/c.conf"
mkdir -m 0755 "$d/p" "$d/st"
a=0000:00:04.1
plea() { jlease $a 00000000000000c1 | sed 's/"persistent":false/"persistent":true/'; }
jput "$d/p" '{"format":9}'
jput "$d/p" "$(plea)"
va() { "$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/p" "$@"; }
quiet() { "$@" >/dev/null; }
refusal="no VF handed out: persistent leases in $d/p not restored: journal $d/p/journal is format 9"

va --direct alloc --pool p >"$d/a.out" 2>"$d/a.err"; rc=$?
check punread.alloc_refused "rc=$rc $(cat $d/a.err)" \
	eval '[ $rc = 1 ] && grep -qF "$refusal" "$d/a.err"'
va --direct --json status >"$d/s.json" 2>"$d/s.err"; rc=$?
check punread.status_notes "rc=$rc $(jq -c .reconcile $d/s.json) $(cat $d/s.err)" \
	quiet jq -e '[.reconcile[] | select(test("not restored") and test("is format 9") and test("vfagent doctor"))] | length == 1' "$d/s.json"
va doctor --json >"$d/doc.json" 2>/dev/null
check punread.doctor "$(jq -c '[.findings[] | select(.check == "state.journal")]' $d/doc.json)" \
	quiet jq -e --arg p "$d/p" '[.findings[] | select(.check == "state.journal" and .status == "fail" and (.message | startswith("persistent leases (" + $p + ") cannot be read")) and (.message | test("is format 9")) and (.fix | test("upgrade vfagent")))] | length == 1' "$d/doc.json"

"$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/p" serve >"$d/log" 2>&1 &
dpid=$!
for i in $(seq 1 100); do [ -S "$d/st/vfagent.sock" ] && break; sleep 0.05; done
va alloc --pool p >"$d/da.out" 2>"$d/da.err"; rc=$?
check punread.daemon_alloc_refused "rc=$rc $(cat $d/da.err)" \
	eval '[ $rc = 1 ] && grep -qF "$refusal" "$d/da.err"'
"$S" "$d/st/vfagent.sock" '{"op":"alloc","pool":"p"}\n' >"$d/dj.json" 2>&1
check punread.daemon_errno "$(cat $d/dj.json)" \
	quiet jq -e '.exit == 1 and .errno == "EAGAIN" and (.error | test("not restored"))' "$d/dj.json"
va --json status >"$d/ds.json" 2>"$d/ds.err"; rc=$?
check punread.daemon_status_notes "rc=$rc $(jq -c .reconcile $d/ds.json) $(cat $d/ds.err)" \
	quiet jq -e '[.reconcile[] | select(test("not restored") and test("is format 9"))] | length == 1' "$d/ds.json"
check punread.daemon_warns_once "$(grep 'not restored' $d/log | cut -c1-160)" \
	eval 'grep -q "warning: start: persistent leases in $d/p not restored" "$d/log" &&
		[ "$(grep -c "warning: .*persistent leases in $d/p not restored" "$d/log")" = 1 ]'

# Readable again (the admin ran the vfagent that wrote it, which
# rewrote it in its format): the daemon's next alloc restores the lease.
: >"$d/p/journal"
jput "$d/p" "$(plea)"
va alloc --pool p >"$d/fa.out" 2>"$d/fa.err"; rc=$?
check punread.restored_after_fix "rc=$rc $(cat $d/fa.err) leases: $(jleases $d/st | jq -r .pci | tr '\n' ' ')" \
	eval '! grep -q "not restored" "$d/fa.err" && jleases "$d/st" | jq -e --arg a $a "select(.pci == \$a and .id == \"00000000000000c1\" and .persistent)" >/dev/null'
kill -TERM $dpid; wait $dpid; dpid=
