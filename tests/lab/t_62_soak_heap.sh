# The daemon's own memory through alloc + release cycles (issue 10's soak,
# shortened): the plain build serves 2,000 cycles over one connection
# (bench/serve_bench soak) with bench/memprobe.so preloaded into it, which
# reports the heap in use (mallinfo2, tcache off so the count is exact).
# What a list that only grows would show: the heap in use after 2,000
# cycles above the heap after 400 by more than 16 KiB (a leak of 6 B a
# cycle). The ASan soak of make bench found the live heap flat to the byte
# (bench/README.md, "Issue 10 figures"); RSS is not asserted on: it is the
# allocator's business, not the daemon's. Counts, never timings.
. tests/lab/lib.sh
lab_setup soakh || exit 0
S=$PWD/bench/serve_bench P=$PWD/bench/memprobe.so
[ -x "$S" ] && [ -f "$P" ] || { skip "soakh: $S or $P missing (make all)"; exit 0; }
lab_conf soakh 7
printf '[serve]\ncdi-dir =\nmetrics-file =\n' >>"$conf"
rm -rf "$st"
va setup >/dev/null 2>&1 || { fail "soakh.setup: $(va setup 2>&1 | head -n 3)"; exit 0; }
# A sanitizer build (VFAGENT=...-asan) accepts the preload with
# verify_asan_link_order=0; its figure is then ASan's count of live bytes.
BENCH_MEMPROBE=$P GLIBC_TUNABLES=glibc.malloc.tcache_count=0 \
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	"$S" soak "$V" "$conf" "$st" soakh "$out" 2000 100 lab >"$out/soak.txt" 2>&1
rc=$?
csv=$out/soak-rss-lab.csv
check soakh.cycles "rc=$rc: $(tail -n 5 "$out/soak.txt" | tr '\n' ' ')" [ $rc = 0 ]
# cycles,fds,rss_kb,hwm_kb,anon_kb,heap_used,heap_total; rows at every 200.
h400=$(awk -F, '$1 == 400 { print $6 }' "$csv" 2>/dev/null)
h2000=$(awk -F, '$1 == 2000 { print $6 }' "$csv" 2>/dev/null)
f400=$(awk -F, '$1 == 400 { print $2 }' "$csv" 2>/dev/null)
f2000=$(awk -F, '$1 == 2000 { print $2 }' "$csv" 2>/dev/null)
echo "INFO soakh: heap in use ${h400:-?} B at 400 cycles, ${h2000:-?} B at 2000; fds ${f400:-?} -> ${f2000:-?}"
if [ -z "$h400" ] || [ -z "$h2000" ] || [ "$h400" -lt 0 ] || [ "$h2000" -lt 0 ]; then
	fail "soakh.heap: no heap figure from the memprobe: $(cat "$csv" 2>/dev/null | tr '\n' ' ')"
else
	check soakh.heap "heap in use grew $((h2000 - h400)) B over 1,600 cycles (bound 16384)" \
		[ $((h2000 - h400)) -le 16384 ]
fi
check soakh.fds "fds $f400 -> $f2000" [ "${f400:-none}" = "${f2000:-missing}" ]
