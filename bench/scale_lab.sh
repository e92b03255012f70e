#!/bin/sh
# make bench-scale: per-request cost against host size (issue 10, "Measure").
#   sh bench/scale_lab.sh [REPS [ORDER]]  on the host: boots the lab with
#                                      tests/lab/run.sh --pfs 4, runs itself
#                                      inside, copies results to bench/results/
# Inside the guest (VFAGENT_LAB set) it runs, with `vfagent serve` up and
# bench/scale_bench on one persistent connection, REPS rounds (default 50)
# of alloc, status, reconcile, release:
#   1pf  pool of eth0's 7 VFs        (1 lease, then 7 leases held)
#   4pf  one pool of 4 PFs x 7 VFs   (1 lease, then 28 leases held)
#   1of4 1pf's pool with every PF up and its 7 VFs made (the control: the
#        host as busy as in 4pf, the pool as small as in 1pf)
# ORDER alternate (the default) runs 1pf, 1of4, 4pf four times with REPS/4
# rounds each and pools the samples (scale-pooled.txt), so drift hits both
# configurations alike; 1pf-first and 4pf-first run each once, REPS rounds.
# BENCH_SCALE_OLD=DIR (a second build tree: DIR/vfagent, DIR/bench/scale_bench,
# e.g. the parent commit built there) runs each configuration with DIR's
# binaries too, right after this tree's, labelled 1pf-old and 4pf-old: old
# and new side by side in one boot.
# Results: OUT/scale-table.txt, scale-summary.csv, scale-samples.csv,
# scale-pooled.txt, scale-meta.txt.  Nothing asserts on timings; exit 1 if an operation failed.
set -u
cd "$(dirname "$0")/.."
reps=${1:-${BENCH_SCALE_REPS:-50}} order=${2:-alternate}
case $order in 1pf-first|4pf-first|alternate) ;; *) echo "usage: bench/scale_lab.sh [REPS [1pf-first|4pf-first|alternate]]" >&2; exit 2 ;; esac
if [ -z "${VFAGENT_LAB:-}" ]; then
	out=${BENCH_OUT:-/tmp/vfagent-bench-scale}
	rm -rf "$out"
	mkdir -p "$out" bench/results
	[ -x vfagent ] && [ -x bench/scale_bench ] || make WERROR=1 all || exit 1
	if [ -n "${BENCH_SCALE_OLD:-}" ]; then
		[ -x "$BENCH_SCALE_OLD/vfagent" ] && [ -x "$BENCH_SCALE_OLD/bench/scale_bench" ] || {
			echo "bench-scale: BENCH_SCALE_OLD=$BENCH_SCALE_OLD has no vfagent and bench/scale_bench: run make there" >&2
			exit 2
		}
	fi
	sh tests/lab/run.sh --pfs 4 --timeout 900 --out "$out" sh bench/scale_lab.sh "$reps" "$order"
	rc=$?
	for f in scale-meta.txt scale-table.txt scale-summary.csv scale-samples.csv scale-pooled.txt; do
		[ -f "$out/$f" ] && cp "$out/$f" bench/results/
	done
	echo "bench-scale: results in bench/results/scale-* (raw: $out), status $rc"
	exit $rc
fi

. tests/lab/lib.sh
out=$VFAGENT_LAB_OUT
# The daemon's log to a tmpfs, not the 9p results share (bench/lab.sh).
BENCH_LOGS=/run/vfagent-bench-logs
mkdir -p "$BENCH_LOGS"
pfs=$(lab_pfs)
set -- $pfs
[ $# -ge 1 ] || { echo "bench-scale: no SR-IOV PF in the guest" >&2; exit 1; }
first=$1 npf=$#
rm -f "$out/scale-summary.csv" "$out/scale-samples.csv"
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "tree: $(git -C . rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C . diff --quiet HEAD 2>/dev/null || echo ' + local changes')"
	echo "kernel: $(uname -r)"
	echo "cpus: $(nproc)"
	echo "pfs: $pfs"
	echo "rounds per phase: $reps, $order"
	[ -n "${BENCH_SCALE_OLD:-}" ] &&
		echo "old: $BENCH_SCALE_OLD, tree $(git -C "$BENCH_SCALE_OLD" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$out/scale-meta.txt"

# pool_conf FILE PF...: the bench's pool, 7 VFs on each PF.
pool_conf() {
	f=$1; shift
	cat >"$f" <<CONF
[pool scale]
pf = $*
vfs = 7
spoofchk = on
owner = libvirt-qemu:kvm
mode = 0660
CONF
}

# One configuration: VFs off on every PF, setup, serve, scale_bench, stop.
# With busy=1, every PF is set up first (up, 7 VFs on vfio-pci) while the
# pool keeps the PFs named: the host as busy as in 4pf, the pool as small.
# The binaries are $tree's (this tree, or BENCH_SCALE_OLD's with -old).
scale_one() {
	label=$1$sfx; shift
	conf=$out/scale-$label.conf st=/run/vfagent-scale-$label
	pool_conf "$conf" "$@"
	for p in $pfs; do echo 0 >/sys/class/net/$p/device/sriov_numvfs; done
	rm -rf "$st" /run/vfagent-scale-host
	# PFs out of the pool down (an earlier 4pf left them up), unless busy.
	for p in $pfs; do
		case " $* " in *" $p "*) ;; *) [ "${busy:-0}" = 1 ] || ip link set "$p" down ;; esac
	done
	if [ "${busy:-0}" = 1 ]; then
		pool_conf "$out/scale-host.conf" $pfs
		"$tree/vfagent" -c "$out/scale-host.conf" -s /run/vfagent-scale-host --direct setup \
			>"$out/scale-setup-host.txt" 2>&1 || { cat "$out/scale-setup-host.txt"; return 1; }
	fi
	"$tree/vfagent" -c "$conf" -s "$st" --direct setup >"$out/scale-setup-$label.txt" 2>&1 ||
		{ cat "$out/scale-setup-$label.txt"; return 1; }
	"$tree/vfagent" -c "$conf" -s "$st" serve 2>"${BENCH_LOGS:-$out}/scale-daemon-$label.log" &
	dpid=$!
	"$tree/bench/scale_bench" "$conf" "$st" scale "$out" "$label" "${reps_one:-$reps}"
	brc=$?
	kill "$dpid"
	wait "$dpid"
	return $brc
}

rc=0 tree=. sfx=
: >"$out/scale-table.txt"
four() {
	if [ "$npf" -ge 4 ]; then
		scale_one 4pf $pfs
	else
		echo "SKIP 4pf: $npf PF(s) here; boot with tests/lab/run.sh --pfs 4"
	fi
}
# The control: 1pf's pool on a host as busy as 4pf's (every PF up with
# its VFs). What 4pf adds over 1of4 is the pool's size; what 1of4 adds
# over 1pf is the emulated hardware's, not vfagent's.
one_of_four() {
	[ "$npf" -ge 4 ] || return 0
	busy=1
	scale_one 1of4 "$first"
	busy=0
}
# Into the table and the console; the status survives the pipe.
tee_rc() {
	{ "$@"; echo $? >"$out/.scale-rc"; } | tee -a "$out/scale-table.txt"
	[ "$(cat "$out/.scale-rc")" = 0 ]
}
# p50/p99 (nearest rank) per host, leases, op over every sample so far.
pooled() {
	echo "pooled over every run of each configuration:"
	printf '%-7s %4s %6s  %-14s %5s %10s %10s\n' host vfs leases op n "p50 ms" "p99 ms"
	sort -t, -k1,1 -k3,3n -k4,4 -k6,6g "$out/scale-samples.csv" | awk -F, '
	function flush() { if (n) printf "%-7s %4d %6d  %-14s %5d %10.3f %10.3f\n", h, vf, l, o, n,
		v[int(0.5 * n + 0.999999)] / 1e3, v[int(0.99 * n + 0.999999)] / 1e3; n = 0 }
	{ k = $1 "," $3 "," $4; if (k != key) { flush(); key = k; h = $1; vf = $2; l = $3; o = $4 }
	  v[++n] = $6 }
	END { flush() }'
}
# CMD... with this tree's binaries, then (BENCH_SCALE_OLD) with the old.
both() {
	tree=. sfx=
	tee_rc "$@" || rc=1
	[ -n "${BENCH_SCALE_OLD:-}" ] || return 0
	tree=$BENCH_SCALE_OLD sfx=-old
	tee_rc "$@" || rc=1
	tree=. sfx=
}
case $order in
4pf-first)
	both four
	both one_of_four
	both scale_one 1pf "$first" ;;
1pf-first)
	both scale_one 1pf "$first"
	both one_of_four
	both four ;;
alternate)
	reps_one=$(( (reps + 3) / 4 ))
	for i in 1 2 3 4; do
		both scale_one 1pf "$first"
		both one_of_four
		both four
	done
	pooled | tee "$out/scale-pooled.txt" ;;
esac
for p in $pfs; do
	ip link set "$p" down 2>/dev/null
	echo 0 >/sys/class/net/$p/device/sriov_numvfs
done
cp "$BENCH_LOGS"/*.log "$out"/ 2>/dev/null
exit $rc
