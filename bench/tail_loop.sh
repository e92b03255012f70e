# How long the daemon's sweep and its metrics/CDI publish hold the loop
# (a request that arrives meanwhile waits them out), old vs new binary in
# one boot, with 7 VFs (one PF) and 28 VFs (four PFs, one pool), under
# bench/serve_bench cycles with one client and the default sweep (5 s)
# and publish (at most every FLEET_MS, agent/serve_priv.h).
# Inside the lab: sh tests/lab/run.sh --pfs 4 --out DIR --timeout 900
#   sh bench/tail_loop.sh OLD NEW [SECONDS] [ROUNDS]
# Both binaries must log "loop time:" lines under VFAGENT_LOOP_TIMES=1
# (agent/serve.c; for a tree without the hook, build it with the hook
# added). Results: $VFAGENT_LAB_OUT/tail-loop.txt. Nothing asserted.
. tests/lab/lib.sh
old=$1 new=$2 secs=${3:-21} rounds=${4:-2}
out=${VFAGENT_LAB_OUT:-/tmp/vfagent-tail-loop}
mkdir -p "$out"
export BENCH_LOGS=/run/vfagent-tail-logs VFAGENT_LOOP_TIMES=1
mkdir -p "$BENCH_LOGS"
pfs=
for d in /sys/class/net/*/device/sriov_totalvfs; do
	[ -f "$d" ] || continue
	p=${d%/device/sriov_totalvfs}; pfs="${pfs:+$pfs }${p##*/}"
done
set -- $pfs
[ $# -ge 1 ] || { echo "tail_loop: no SR-IOV PF here" >&2; exit 1; }
first=$1
res=$out/tail-loop.txt
echo "tail_loop $(date -u '+%Y-%m-%d %H:%M UTC'): old $old, new $new, PFs $pfs, $rounds rounds x $secs s" | tee "$res"

# one LABEL BIN PF...: setup, cycles with one client, the loop times.
one() {
	label=$1 bin=$2; shift 2
	conf=$out/loop.conf st=/run/vfagent-tail-loop log=$BENCH_LOGS/serve-cycles.log
	printf '[pool bench]\npf = %s\nvfs = 7\nspoofchk = on\nowner = libvirt-qemu:kvm\nmode = 0660\n' "$*" >"$conf"
	for p in $pfs; do echo 0 >/sys/class/net/$p/device/sriov_numvfs; done
	rm -rf "$st" "$log"
	"$bin" -c "$conf" -s "$st" --direct setup >"$out/setup.txt" 2>&1 || { cat "$out/setup.txt"; return 1; }
	bench/serve_bench cycles "$bin" "$conf" "$st" bench "$out" "$secs" 1 >"$out/c.txt" 2>&1 ||
		{ cat "$out/c.txt" >&2; return 1; }
	awk -v n="$label" 'NR > 2 && $1 ~ /^[0-9]+$/ { printf "%s cycles clients=%s cycles_per_s=%s alloc_p50_ms=%s alloc_p99_ms=%s\n", n, $1, $3, $6, $7 }' "$out/c.txt" | tee -a "$res"
	for w in sweep publish; do
		sed -n "s/.*loop time: $w \([0-9]*\) us$/\1/p" "$log" | sort -n |
			awk -v l="$label" -v w="$w" '{ v[NR] = $1 } END { printf "%s %s n=%d p50_us=%s max_us=%s\n", l, w, NR, NR ? v[int((NR + 1) / 2)] : "-", NR ? v[NR] : "-" }'
	done | tee -a "$res"
}
for i in $(seq 1 "$rounds"); do
	for cfg in 1pf 4pf; do
		set -- "$first"
		[ $cfg = 4pf ] && set -- $pfs
		[ $cfg = 4pf ] && [ $# -lt 4 ] && continue
		if [ $((i % 2)) = 1 ]; then
			one "old-$cfg" "$old" "$@"; one "new-$cfg" "$new" "$@"
		else
			one "new-$cfg" "$new" "$@"; one "old-$cfg" "$old" "$@"
		fi
	done
done
exit 0
