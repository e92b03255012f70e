# Userspace instructions (valgrind callgrind's Ir) of `vfagent serve` per
# request, and of the client library per request, as bench/syscalls.sh
# counts syscalls: bench/serve_bench cycles (one client, its own persistent
# connection) allocs and releases from pool POOL, the daemon under callgrind
# and serve_bench (its forked client) under callgrind too. Ir does not swing
# with TCG or load: it is the stable figure next to the syscall counts.
# Also the daemon's utime/stime (/proc/PID/stat) over the run, natively.
# Runs in the lab guest (or as root on a host) after setup.
# Usage: sh bench/instr.sh VFAGENT CONF STATE POOL OUT [SECONDS]
# Prints the figures and the top functions; leaves OUT/instr/callgrind.*.
set -u
v=$1 conf=$2 st=$3 pool=$4 out=$5 secs=${6:-20}
command -v valgrind >/dev/null || { echo "instr: SKIP: no valgrind here" >&2; exit 0; }
d=$out/instr
rm -rf "$d"
mkdir -p "$d/cg" "$d/cpu"
wrap=$(mktemp /tmp/vfagent-instr.XXXXXX)
cg="valgrind --tool=callgrind --compress-strings=no --compress-pos=no"
# The daemon under callgrind (exec: serve_bench's SIGTERM reaches it).
cat >"$wrap" <<W
#!/bin/sh
exec $cg --callgrind-out-file='$d/callgrind.serve.%p' --toggle-collect=client_io '$v' "\$@"
W
chmod 755 "$wrap"
$cg --callgrind-out-file="$d/callgrind.bench.%p" --toggle-collect=vfa_client_request \
	bench/serve_bench cycles "$wrap" "$conf" "$st" "$pool" "$d/cg" "$secs" 1 >"$d/bench.txt" 2>&1 ||
	{ echo "instr: serve_bench under callgrind failed:" >&2; cat "$d/bench.txt" >&2; }
# The daemon natively: its user and system CPU (clock ticks, at SIGTERM,
# idle since the last reply) over a 2 s and an 8 s run; the difference
# over the difference in requests is per request, start-up excluded.
cat >"$wrap" <<W
#!/bin/sh
'$v' "\$@" & p=\$!
stop() {
	set -- \$(sed 's/.*) //' /proc/\$p/stat 2>/dev/null) ''
	echo "\${12:-?} \${13:-?}" >'$d/cpu.txt'
	kill -TERM \$p
}
trap stop TERM
wait \$p
wait \$p
W
chmod 755 "$wrap"
for t in 2 8; do
	mkdir -p "$d/cpu$t"
	bench/serve_bench cycles "$wrap" "$conf" "$st" "$pool" "$d/cpu$t" $t 1 >"$d/cpu$t/out.txt" 2>&1 ||
		echo "instr: native serve_bench failed" >&2
	echo "$(cat "$d/cpu.txt" 2>/dev/null) $(awk -F, 'NR == 2 { print $3 * 2 }' "$d/cpu$t/cycles-summary.csv" 2>/dev/null)" >"$d/cpu$t.txt"
	rm -f "$d/cpu.txt"
done
rm -f "$wrap"

# incl FILE FN: FN's inclusive Ir and its calls in a callgrind file.
incl() {
	awk -v fn="$2" '
	/^fn=/ { cur = substr($0, 4) }
	/^cfn=/ { callee = substr($0, 5) }
	/^calls=/ { split($1, a, "="); n = a[2]; want = (callee == fn && cur != fn); next_is_cost = 1; next }
	next_is_cost { if (want) { calls += n; ir += $2 } next_is_cost = 0 }
	END { printf "%.0f %d\n", ir, calls }' "$1"
}
# top FILE INCLUSIVE N: the N costliest functions (inclusive: yes/no;
# those at the collected total, the frames above it, left out), Ir and
# share of the total; read from the file (callgrind_annotate printed
# nothing in the lab guest).
top() {
	awk -v inc="$2" '
	/^fn=/ { cur = substr($0, 4); next }
	/^calls=/ { nc = 1; next }
	/^[0-9]/ { if (!nc) self[cur] += $2; all[cur] += $2; nc = 0; next }
	END { for (f in all) printf "%.0f\t%s\n", inc == "yes" ? all[f] : self[f], f }' "$1" |
		awk -F '\t' -v t="$(total "$1")" '$1 < t' | sort -rn | head -n "$3" |
		awk -F '\t' -v t="$(total "$1")" '{ printf "    %12s %5.1f %%  %s\n", $1, t ? 100 * $1 / t : 0, $2 }'
}
total() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }
echo "instructions (Ir, callgrind) per request of $v ($(date -u '+%Y-%m-%d %H:%M UTC'), 1 client, ${secs} s under callgrind):"
sf=$(ls "$d"/callgrind.serve.* 2>/dev/null | head -n 1)
if [ -n "$sf" ]; then
	set -- $(incl "$sf" vfa_alloc); a_ir=$1 a_n=$2
	set -- $(incl "$sf" vfa_release); r_ir=$1 r_n=$2
	c_ir=$(total "$sf")	# collected inside client_io only
	awk -v a="$a_ir" -v an="$a_n" -v r="$r_ir" -v rn="$r_n" -v c="$c_ir" 'BEGIN {
		n = an + rn; if (!an || !rn) { print "  daemon: no alloc or release seen"; exit }
		o = (c - a - r) / n
		printf "  daemon: %d allocs, %d releases; per request (client_io: read, parse, dispatch, reply, logs, send): %.0f\n", an, rn, c / n
		printf "    alloc %.0f (vfa_alloc %.0f + the rest %.0f), release %.0f (vfa_release %.0f + the rest %.0f)\n", a / an + o, a / an, o, r / rn + o, r / rn, o
	}'
	echo "  daemon, inside client_io, top inclusive:"
	top "$sf" yes 24
	echo "  daemon, inside client_io, top self:"
	top "$sf" no 20
else
	echo "  daemon: no callgrind output (see $d/cg/serve-cycles.log)"
fi
bf="" bn=0
for f in "$d"/callgrind.bench.*; do	# the forked client: the most vfa_client_request calls
	[ -f "$f" ] || continue
	set -- $(incl "$f" vfa_client_request)
	[ "$2" -gt "$bn" ] && bf=$f bn=$2
done
if [ -n "$bf" ]; then
	set -- $(incl "$bf" vfa_client_request); q_ir=$1 q_n=$2
	q_ir=$(total "$bf")	# collected inside vfa_client_request only
	awk -v q="$q_ir" -v n="$q_n" 'BEGIN { if (n) printf "  client (bench/serve_bench: the library of this tree, whichever daemon): %d requests; vfa_client_request (send, wait, read, parse) %.0f per request\n", n, q / n }'
	echo "  client, inside vfa_client_request, top self:"
	top "$bf" no 12
else
	echo "  client: no callgrind output"
fi
hz=$(getconf CLK_TCK)
awk -v hz="$hz" '
FILENAME ~ /cpu2/ { u0 = $1; s0 = $2; n0 = $3 }
FILENAME ~ /cpu8/ { u1 = $1; s1 = $2; n1 = $3 }
END {
	if (u0 !~ /^[0-9]+$/ || u1 !~ /^[0-9]+$/ || n1 <= n0) { print "  daemon CPU: not measured"; exit }
	du = (u1 - u0) / hz; ds = (s1 - s0) / hz; n = n1 - n0
	printf "  daemon CPU, native (8 s run minus 2 s run: %d requests): user %.3f s, system %.3f s (%.0f %% user); per request user %.3f ms, system %.3f ms\n",
		n, du, ds, (du + ds > 0 ? 100 * du / (du + ds) : 0), 1000 * du / n, 1000 * ds / n }' "$d/cpu2.txt" "$d/cpu8.txt"
