# A damaged lease-journal record (a CRC that does not match) is skipped,
# but said: vfagent list (text and --json, direct and through the daemon)
# counts it with the fix, and vfagent doctor warns (state.journal) naming
# the fix. On the host without SR-IOV (no pools). VFAGENT_BIN=PATH runs
# another build.
. tests/lab/lib.sh
. tests/lab/journal.sh
V=${VFAGENT_BIN:-$PWD/vfagent}
d=$(mktemp -d /tmp/vfagent-damaged.XXXXXX)
trap 'kill $dpid 2>/dev/null; rm -rf "$d"' EXIT
chmod 755 "$d"
printf '[serve]\ncdi-dir =\nmetrics-file =\n' >"$d/c.conf"
mkdir -m 0755 "$d/st"
jput "$d/st" "$(jlease 0000:00:02.1 00000000000000a1)"
echo 'deadbeef {"id":"00000000000000a2"}' >>"$d/st/journal"
jput "$d/st" "$(jlease 0000:00:02.2 00000000000000a2)"
va() { "$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" "$@"; }

va --direct --json list >"$d/l.json" 2>"$d/l.err"; rc=$?
check damaged.list_json "rc=$rc $(jq -c .journal $d/l.json) $(cat $d/l.err)" \
	sh -c "jq -e '.journal.damaged_records == 1 and (.journal.fix | test(\"vfagent status\"))' $d/l.json >/dev/null"
va --direct list >"$d/l.txt" 2>&1
check damaged.list_text "$(cat $d/l.txt)" grep -q '^journal: 1 damaged records skipped: .*vfagent status' "$d/l.txt"
va doctor --json >"$d/doc.json" 2>/dev/null
check damaged.doctor "$(jq -c '.findings[] | select(.check == "state.journal")' $d/doc.json)" \
	sh -c "jq -e '[.findings[] | select(.check == \"state.journal\" and .status == \"warn\" and (.message | test(\"1 damaged\")) and (.fix | test(\"vfagent status\")))] | length == 1' $d/doc.json >/dev/null"

"$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" serve >"$d/log" 2>&1 &
dpid=$!
for i in $(seq 1 100); do [ -S "$d/st/vfagent.sock" ] && break; sleep 0.05; done
va --json list >"$d/ld.json" 2>"$d/ld.err"; rc=$?
check damaged.list_daemon "rc=$rc $(jq -c .journal $d/ld.json) $(cat $d/ld.err) $(tail -n2 $d/log)" \
	sh -c "grep -q 'list done' $d/log && jq -e '.journal.damaged_records == 1' $d/ld.json >/dev/null"
kill -TERM $dpid; wait $dpid
