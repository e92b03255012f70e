#!/bin/sh
# Runs inside the lab guest booted with four PFs (run.sh --pfs 4): every
# tests/lab/m_[0-9]*.sh in order (or those whose names contain one of the
# arguments); results to stdout and to $VFAGENT_LAB_OUT/results.
cd "$(dirname "$0")/../.."
. tests/lab/lib.sh
res=${VFAGENT_LAB_OUT:-/tmp}/results
lab_each "tests/lab/m_[0-9]*.sh" "$res" "$@"
grep -q '^FAIL ' "$res" && exit 1
exit 0
