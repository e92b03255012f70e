# Syscalls of `vfagent serve` per request, as its users call it: the
# daemon runs under strace -f while bench/serve_bench cycles (one client,
# its own persistent connection) allocs and releases from pool POOL.
# Counts what the daemon does from reading an alloc (release) request to
# writing its reply, per request, by syscall; and the loop's work between
# a reply and the next request. strace slows every syscall: read counts,
# not times. Runs in the lab guest (or as root on a host) after setup.
# Usage: sh bench/syscalls.sh VFAGENT CONF STATE POOL OUT [SECONDS]
# Prints the table; leaves OUT/strace-serve-<n>.txt.
set -u
v=$1 conf=$2 st=$3 pool=$4 out=$5 secs=${6:-4}
command -v strace >/dev/null || { echo "syscalls: SKIP: no strace here" >&2; exit 0; }
n=$(ls "$out"/strace-serve-*.txt 2>/dev/null | wc -l)
trace=$out/strace-serve-$n.txt
wrap=$(mktemp /tmp/vfagent-sysc.XXXXXX)
# serve_bench stops its daemon with SIGTERM: hand that to the daemon (the
# tracee), not to strace, which would detach and leave the daemon running.
cat >"$wrap" <<W
#!/bin/sh
strace -f -o '$trace' '$v' "\$@" & p=\$!
trap 'kill -TERM \$(pgrep -P \$p) 2>/dev/null' TERM
wait \$p; wait \$p
W
chmod 755 "$wrap"
# serve_bench's own files go to a subdir: never over the cycles mode's.
mkdir -p "$out/syscalls"
bench/serve_bench cycles "$wrap" "$conf" "$st" "$pool" "$out/syscalls" "$secs" 1 >/dev/null || echo "syscalls: serve_bench failed" >&2
rm -f "$wrap"
echo "syscalls of $v per request ($(date -u '+%Y-%m-%d %H:%M UTC'), strace -f, 1 client, ${secs} s):"
awk '
NR == 1 { main = $1 }
$1 != main { next }
function op(s) { return s ~ /"op\\":\\"alloc/ ? "alloc" : s ~ /"op\\":\\"release/ ? "release" : "" }
# a request read from a client connection: recvfrom(fd, "{\"op\":...
/recvfrom\([0-9]+, "\{\\"op/ { cur = op($0); n = 0; split("", c); gap_on = 0 }
{ split($2, x, "("); name = x[1] }
cur != "" { n++; c[name]++ }
gap_on { g++; gc[name]++ }
/sendto\([0-9]+, "\{\\"v\\":1/ && cur != "" {
	req[cur]++; tot[cur] += n
	for (k in c) by[cur, k] += c[k]
	cur = ""; gap_on = 1; gaps++
}
END {
	for (o in req) {
		printf "  %-8s n=%d  %.1f syscalls per request\n", o, req[o], tot[o] / req[o]
		line = ""
		for (key in by) { split(key, p, SUBSEP); if (p[1] == o) printf "    %-16s %5.1f\n", p[2], by[key] / req[o] | "sort -k2 -rn"; }
		close("sort -k2 -rn")
	}
	if (gaps) printf "  between a reply and the next request: %.1f syscalls (the loop, timers, publishing)\n", g / gaps
}' "$trace"
