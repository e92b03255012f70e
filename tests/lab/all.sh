#!/bin/sh
# Runs inside the lab guest: every tests/lab/t_*.sh in order (or those whose
# names contain one of the arguments), results to stdout and to
# $VFAGENT_LAB_OUT/results.
cd "$(dirname "$0")/../.."
. tests/lab/lib.sh
res=${VFAGENT_LAB_OUT:-/tmp}/results
lab_each "tests/lab/t_*.sh" "$res" "$@"
dmesg >"${VFAGENT_LAB_OUT:-/tmp}/dmesg.txt" 2>/dev/null
grep -q '^FAIL ' "$res" && exit 1
exit 0
