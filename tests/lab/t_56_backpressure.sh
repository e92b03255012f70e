# Backpressure with real VFs (issue 10 item 3): a client that pipelines
# requests without reading its replies is stopped at the output cap (the
# daemon's memory stays bounded) while other clients' allocs and
# releases of real VFs are answered; the daemon is fine once it goes.
. tests/lab/lib.sh
lab_setup bp || exit 0
T="$PWD/tests/lab/serve_tool" log=$out/daemon.log sock=$st/vfagent.sock
lab_conf net1 7
printf '[serve]\ncdi-dir =\nmetrics-file =\n' >>"$conf"
rss() { awk '/^VmRSS/ { print $2 }' /proc/$dpid/status; }
rm -rf "$st"; : >"$log"
va setup >/dev/null 2>&1 || { fail "bp.setup: $(va setup 2>&1)"; exit 0; }
fl=
trap 'kill $fl $dpid 2>/dev/null' EXIT
lab_serve "$log" || { fail "bp.daemon: not serving: $(cat $log)"; exit 0; }

r0=$(rss)
"$T" "$sock" flood:3000000 sleep:30000 >"$out/flood" 2>&1 &
fl=$!
lab_wait_log "$out/flood" '^flood:'
ok=0
for i in 1 2 3 4 5; do
	pci=$(va --json alloc --pool net1 2>>"$out/alloc.err" | jq -r .pci)
	[ -n "$pci" ] && [ "$pci" != null ] && va release --pci "$pci" >/dev/null 2>>"$out/alloc.err" && ok=$((ok + 1))
done
r1=$(rss)
echo "INFO bp: daemon RSS $r0 -> $r1 kB while flooded; $(cat $out/flood)"
check bp.flood_stopped "$(cat $out/flood)" sh -c "grep -q '^flood:' $out/flood && ! grep -q 'sent 3000000 bytes' $out/flood"
check bp.memory_bounded "RSS $r0 -> $r1 kB" [ $((r1 - r0)) -lt 8192 ]
check bp.others_served "$ok of 5 alloc+release through the daemon: $(cat $out/alloc.err)" \
	sh -c "[ $ok = 5 ] && [ \$(grep -c 'alloc done' $log) -ge 5 ]"
kill $fl 2>/dev/null; wait $fl 2>/dev/null; fl=
free=$(va --json status 2>&1 | jq '.pools[0].free')
check bp.after "free=$free after the flooder went" [ "$free" = 7 ]
lab_serve_stop
check bp.sigterm "rc=$?" [ $? = 0 ]
