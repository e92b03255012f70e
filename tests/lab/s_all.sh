#!/bin/sh
# Runs inside the lab guest booted with systemd as PID 1 (run.sh --systemd
# --prep tests/lab/s_prep.sh): every tests/lab/s_[0-9]*.sh in order (or those
# whose names contain one of the arguments); results to stdout and to
# $VFAGENT_LAB_OUT/results, the boot's journal to $VFAGENT_LAB_OUT/journal.txt
# (its timestamps give the boot timing; systemd-analyze blame, run here,
# took 1m44s of a loaded TCG guest before power-off).
cd "$(dirname "$0")/../.."
. tests/lab/lib.sh
o=${VFAGENT_LAB_OUT:-/tmp}
res=$o/results
lab_each "tests/lab/s_[0-9]*.sh" "$res" "$@"
journalctl -b --no-pager >"$o/journal.txt" 2>&1
grep -q '^FAIL ' "$res" && exit 1
exit 0
