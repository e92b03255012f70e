# Syscalls of `vfagent serve` in the first request after a worker's job
# (alloc/release --domain, serve_job.c) against the same request after a
# plain one: what the daemon rereads when a job ends (model.c, "a
# worker's job"). The daemon runs under strace -f; counts are of its main
# process from reading the request to writing its reply. Runs in the lab
# guest after setup, with libvirt up and DOMAIN a stopped domain (config
# attaches). strace slows every syscall: read counts, not times.
# Usage: sh bench/job_syscalls.sh VFAGENT CONF STATE POOL DOMAIN OUT [ROUNDS]
set -u
v=$1 conf=$2 st=$3 pool=$4 dom=$5 out=$6 rounds=${7:-3}
command -v strace >/dev/null || { echo "job_syscalls: SKIP: no strace here" >&2; exit 0; }
mkdir -p "$out"
n=$(ls -d "$out"/strace-job-* 2>/dev/null | wc -l)
trace=$out/strace-job-$n
va() { "$v" -c "$conf" -s "$st" "$@"; }
mkdir -p "$trace"
VFAGENT_SWEEP_MS=3600000 strace -ff -s 200 -o "$trace/t" "$v" -c "$conf" -s "$st" serve >"$out/serve-$n.log" 2>&1 &
sp=$!
for i in $(seq 1 100); do [ -S "$st/vfagent.sock" ] && va --json list >/dev/null 2>&1 && break; sleep 0.1; done
# Warm: the model built, the spare worker forked.
id=$(va --json alloc --pool "$pool" | jq -r .id); va release --lease "$id" >/dev/null
for r in $(seq 1 "$rounds"); do
	va alloc --pool "$pool" --domain "$dom" --persistent >/dev/null	# a job
	id=$(va --json alloc --pool "$pool" --vlan 77 | jq -r .id)	# after a job
	va release --lease "$id" >/dev/null
	id=$(va --json alloc --pool "$pool" --vlan 78 | jq -r .id)	# after a plain one
	va release --lease "$id" >/dev/null
	va release --domain "$dom" >/dev/null				# a job
	va status >/dev/null						# after a job
	va status >/dev/null						# after a status
done
kill -TERM $(pgrep -P $sp) 2>/dev/null; wait $sp
main=$(ls "$trace" | sort -t. -k2 -n | head -1)
echo "syscalls of $v per request ($(date -u '+%Y-%m-%d %H:%M UTC'), strace -f, $rounds rounds):"
awk '
/recvfrom\([0-9]+, "\{\\"op/ {
	cur = ""
	if ($0 ~ /\\"vlan\\":77/) cur = "alloc after a job"
	else if ($0 ~ /\\"vlan\\":78/) cur = "alloc after an alloc"
	else if ($0 ~ /\\"op\\":\\"status\\"/) cur = (nst++ % 2) ? "status after a status" : "status after a job"
	k = 0; split("", c)
}
{ split($1, x, "("); name = x[1] }
cur != "" { k++; c[name]++ }
/sendto\([0-9]+, "\{\\"v\\":1/ && cur != "" {
	req[cur]++; tot[cur] += k
	for (s in c) by[cur, s] += c[s]
	cur = ""
}
END {
	for (o in req) {
		printf "  %-22s n=%d  %.1f syscalls\n", o, req[o], tot[o] / req[o]
		for (key in by) { split(key, p, SUBSEP); if (p[1] == o) printf "    %-16s %5.1f\n", p[2], by[key] / req[o] | "sort -k2 -rn"; }
		close("sort -k2 -rn")
	}
}' "$trace/$main"
