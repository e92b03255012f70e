#!/bin/sh
# make bench: boot the SR-IOV lab once, run bench/lab.sh in it, keep the
# results in bench/results/ and draw bench/results/latency.png.
#   sh bench/run.sh [--here] [--kvm]
# --here runs on this machine instead (a real SR-IOV host, as root; needs
# BENCH_PF=netdev, whose VFs are recreated and removed).  Knobs (env):
# BENCH_REPS (200 rounds), BENCH_BUDGET (540 s for the rounds), BENCH_CLIENTS
# (4), BENCH_CHURN_S (30), BENCH_COLD_EVERY (3), BENCH_DOMAIN_REPS (10), BENCH_OUT (/tmp/vfagent-bench);
# bench/serve_bench: BENCH_FLOOR_N (2000 rounds of the quiet comparison),
# BENCH_SERVE_S (2.5 s per slice of the client sweep), BENCH_SERVE_CLIENTS
# (1,2,4,8,8,4,2,1 twice: the slices in that order), BENCH_HOL_REPS (3),
# BENCH_HOL_N (50), BENCH_SOAK (10000 cycles; 0 skips); BENCH_MODES
# (classic,floor,cycles,syscalls,hol,soak) picks what runs.
set -eu
cd "$(dirname "$0")/.."
here=0 kvm=
for a in "$@"; do
	case $a in
	--here) here=1 ;;
	--kvm) kvm=--kvm ;;
	*) echo "usage: bench/run.sh [--here] [--kvm]" >&2; exit 2 ;;
	esac
done
out=${BENCH_OUT:-/tmp/vfagent-bench}
args="${BENCH_REPS:-200} ${BENCH_BUDGET:-540} ${BENCH_CLIENTS:-4} ${BENCH_CHURN_S:-30} ${BENCH_COLD_EVERY:-3} ${BENCH_DOMAIN_REPS:-10}"
args="$args ${BENCH_SERVE_S:-2.5} ${BENCH_SERVE_CLIENTS:-1,2,4,8,8,4,2,1,1,2,4,8,8,4,2,1} ${BENCH_HOL_REPS:-3} ${BENCH_HOL_N:-50} ${BENCH_SOAK:-10000}"
args="$args ${BENCH_MODES:-classic,floor,cycles,syscalls,hol,soak} ${BENCH_FLOOR_N:-2000}"
rm -rf "$out"
mkdir -p "$out" bench/results
[ -x vfagent ] && [ -x bench/alloc_bench ] || make WERROR=1 all
case ,${BENCH_MODES:-soak}, in *,soak,*) [ -x bench/vfagent-asan ] && [ -f bench/memprobe.so ] || make WERROR=1 bench/vfagent-asan bench/memprobe.so ;; esac
set +e
if [ $here = 1 ]; then
	[ -n "${BENCH_PF:-}" ] || { echo "bench: --here needs BENCH_PF=<SR-IOV PF netdev> (its VFs are recreated)" >&2; exit 2; }
	[ "$(id -u)" = 0 ] || { echo "bench: --here needs root" >&2; exit 2; }
	BENCH_OUT=$out sh bench/lab.sh $args
else
	sh tests/lab/run.sh $kvm --timeout 2400 --out "$out" sh bench/lab.sh $args
fi
rc=$?
set -e
for f in meta.txt table.txt summary.csv domain-summary.csv netpool-summary.csv netpool-error.txt ratios.csv samples.csv churn.csv churn-summary.csv churn-stderr.txt cycles.csv cycles-summary.csv cycles-median.csv floor-summary.csv floor-samples.csv serve-floor.log hol-summary.csv soak.csv soak-rss.csv soak-plain.csv soak-rss-plain.csv serve-soak-plain.log serve-cycles.log serve-hol.log serve-soak.log cdf.dat daemon.log strace-alloc.txt strace-alloc-summary.txt; do
	[ -f "$out/$f" ] && cp "$out/$f" bench/results/
done
for f in "$out"/asan/*; do
	[ -s "$f" ] && mkdir -p bench/results/asan && cp "$f" bench/results/asan/
done
if [ -s "$out/cdf.dat" ] && command -v gnuplot >/dev/null; then
	n=$(grep -c '^[a-z]' "$out/cdf.dat")
	gnuplot -e "data='$out/cdf.dat'; png='bench/results/latency.png'; n=$n" bench/plot.gp &&
		echo "bench: plot in bench/results/latency.png"
else
	echo "bench: no plot (gnuplot missing or no samples)"
fi
echo "bench: results in bench/results/ (raw: $out), status $rc"
exit $rc
