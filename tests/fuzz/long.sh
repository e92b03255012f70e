#!/bin/sh
# make fuzz-long: each libFuzzer harness for at least RUNS executions
# (default 1000000) from the fixtures; one line each: harness, execs,
# crashes, seconds. Exit 1 if any harness crashed.
cd "$(dirname "$0")/../.."
runs=${VFAGENT_FUZZ_RUNS:-1000000}
bad=0
for f in tests/fuzz/fuzz_*; do
	case $f in *.c) continue ;; esac
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corp=$(mktemp -d)
	log=/tmp/vfagent-long-$name.log
	t0=$(date +%s)
	"$f" -runs="$runs" -rss_limit_mb=2048 -artifact_prefix=/tmp/vfagent-long-$name- \
		"$corp" tests/fixtures >"$log" 2>&1
	rc=$?
	execs=$(grep -o 'Done [0-9]* runs' "$log" | tail -n1 | grep -o '[0-9]*')
	crashes=0
	[ $rc = 0 ] || { crashes=1; bad=1; }
	echo "$name: execs ${execs:-?} (asked $runs), crashes $crashes, $(( $(date +%s) - t0 )) s, log $log"
	rm -rf "$corp"
done
exit $bad
