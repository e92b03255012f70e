#!/bin/sh
# Runs inside the lab guest booted with systemd as PID 1 (run.sh --systemd
# --prep tests/lab/s_prep.sh): every tests/lab/s_[0-9]*.sh in order (or those
# whose names contain one of the arguments); results to stdout and to
# $VFAGENT_LAB_OUT/results, the boot's journal to $VFAGENT_LAB_OUT/journal.txt
# (its timestamps give the boot timing; systemd-analyze blame, run here,
# took 1m44s of a loaded TCG guest before power-off).
cd "$(dirname "$0")/../.."
o=${VFAGENT_LAB_OUT:-/tmp}
res=$o/results
: >"$res"
for t in tests/lab/s_[0-9]*.sh; do
	if [ $# -gt 0 ]; then
		m=0; for a in "$@"; do case $t in *"$a"*) m=1 ;; esac; done
		[ $m = 1 ] || continue
	fi
	echo "-- $t"
	start=$(date +%s%3N)
	sh "$t" 2>&1 | tee -a "$res"
	echo "-- $t: $(( $(date +%s%3N) - start )) ms"
done
journalctl -b --no-pager >"$o/journal.txt" 2>&1
grep -q '^FAIL ' "$res" && exit 1
exit 0
