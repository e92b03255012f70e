#!/bin/sh
# Runs inside the lab guest: every tests/lab/t_*.sh in order (or those whose
# names contain one of the arguments), results to stdout and to
# $VFAGENT_LAB_OUT/results.
cd "$(dirname "$0")/../.."
res=${VFAGENT_LAB_OUT:-/tmp}/results
: >"$res"
for t in tests/lab/t_*.sh; do
	if [ $# -gt 0 ]; then
		m=0; for a in "$@"; do case $t in *"$a"*) m=1 ;; esac; done
		[ $m = 1 ] || continue
	fi
	echo "-- $t"
	start=$(date +%s%3N)
	sh "$t" 2>&1 | tee -a "$res"
	echo "-- $t: $(( $(date +%s%3N) - start )) ms"
done
dmesg >"${VFAGENT_LAB_OUT:-/tmp}/dmesg.txt" 2>/dev/null
grep -q '^FAIL ' "$res" && exit 1
exit 0
