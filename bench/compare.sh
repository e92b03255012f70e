# Two vfagent binaries side by side in one boot (the lab guest, or a real
# SR-IOV host as root): ROUNDS rounds, each runs bench/serve_bench cycles
# with 1 and with 4 clients for SECONDS against OLD's daemon, then NEW's
# (the order alternates between rounds), then bench/syscalls.sh on each,
# and bench/instr.sh (instructions per request under callgrind; skip it with
# COMPARE_INSTR=0, its run length COMPARE_INSTR_SECS, default 20).
# Under TCG absolute times swing between boots: read NEW against OLD.
# Usage (from the tree root): sh bench/compare.sh OLD NEW [ROUNDS] [SECONDS]
# Results: $VFAGENT_LAB_OUT (or /tmp/vfagent-compare)/compare.txt.
. tests/lab/lib.sh
old=$1 new=$2 rounds=${3:-3} secs=${4:-6}
out=${VFAGENT_LAB_OUT:-/tmp/vfagent-compare}
mkdir -p "$out"
export BENCH_LOGS=/run/vfagent-compare-logs
mkdir -p "$BENCH_LOGS"
set -- $(lab_pf) || true
[ $# -ge 2 ] || { echo "compare: no SR-IOV PF here" >&2; exit 1; }
pf=$1
conf=$out/vfagent.conf st=/run/vfagent-compare
lab_conf bench 7 owner
echo "spoofchk = on" >>"$conf"
echo 0 >/sys/class/net/$pf/device/sriov_numvfs
rm -rf "$st"
"$new" -c "$conf" -s "$st" setup >/dev/null || { echo "compare: setup failed" >&2; exit 1; }
res=$out/compare.txt
echo "compare $(date -u '+%Y-%m-%d %H:%M UTC'): old $old, new $new, $rounds rounds x ${secs} s" | tee "$res"
run() {	# run NAME BIN: one cycles run, 1 and 4 clients
	bench/serve_bench cycles "$2" "$conf" "$st" bench "$out" "$secs" 1 4 >"$out/c.txt" 2>&1 ||
		{ cat "$out/c.txt" >&2; return 1; }
	awk -v n="$1" 'NR > 2 && $1 ~ /^[0-9]+$/ { printf "%s clients=%s cycles_per_s=%s alloc_p50_ms=%s alloc_p99_ms=%s release_p50_ms=%s\n", n, $1, $3, $6, $7, $8 }' "$out/c.txt" | tee -a "$res"
}
for i in $(seq 1 "$rounds"); do
	if [ $((i % 2)) = 1 ]; then run old "$old"; run new "$new"; else run new "$new"; run old "$old"; fi
done
for w in old new; do
	b=$old; [ $w = new ] && b=$new
	echo "$w:" | tee -a "$res"
	sh bench/syscalls.sh "$b" "$conf" "$st" bench "$out" 3 | tee -a "$res"
	[ "${COMPARE_INSTR:-1}" = 0 ] || sh bench/instr.sh "$b" "$conf" "$st" bench "$out/$w" "${COMPARE_INSTR_SECS:-20}" | tee -a "$res"
done
med() {	# med WHO CLIENTS FIELD: the median of FIELD over the rounds
	grep "^$1 clients=$2 " "$res" | tr ' ' '\n' | sed -n "s/^$3=//p" | sort -n |
		awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'
}
echo "medians of the rounds:" | tee -a "$res"
for w in old new; do for c in 1 4; do
	echo "  $w $c clients: cycles/s $(med $w $c cycles_per_s)  alloc p50 $(med $w $c alloc_p50_ms) ms  p99 $(med $w $c alloc_p99_ms) ms  release p50 $(med $w $c release_p50_ms) ms"
done; done | tee -a "$res"
echo 0 >/sys/class/net/$pf/device/sriov_numvfs
