# Runs inside the lab guest (bench/run.sh boots it) or, with BENCH_PF set,
# directly on a real SR-IOV host as root.  Sets up a pool of 7 VFs on the
# PF, starts libvirtd for the nodedev path, runs bench/alloc_bench (the
# interleaved rounds, then the churn) and leaves everything in $OUT.
# alloc_bench starts `vfagent serve` itself for the daemon paths of each
# round and stops it before the direct paths (its log: $OUT/daemon.log);
# every other CLI call passes --direct.
# The PF's VFs are removed at the end.
. tests/lab/lib.sh
. tests/lab/libvirt.sh
out=${VFAGENT_LAB_OUT:-${BENCH_OUT:-/tmp/vfagent-bench}}
# Arguments (the guest sees no host environment):
#   REPS BUDGET_S CLIENTS CHURN_S COLD_EVERY DOMAIN_REPS
#   SERVE_S SERVE_CLIENTS HOL_REPS HOL_N SOAK MODES FLOOR_N
# SERVE_S is one slice of the client sweep: the counts run in the order
# given, each several times (bench/README.md, "The quiet comparison").
reps=${1:-200} budget=${2:-540} clients=${3:-4} churn_s=${4:-30} cold_every=${5:-3}
domain_reps=${6:-10}
serve_s=${7:-2.5} serve_clients=${8:-1,2,4,8,8,4,2,1,1,2,4,8,8,4,2,1} hol_reps=${9:-3} hol_n=${10:-50} soak=${11:-10000}
modes=,${12:-classic,floor,cycles,syscalls,hol,soak}, floor_n=${13:-2000}
want() { case $modes in *,$1,*) return 0 ;; esac; return 1; }
mkdir -p "$out"
# The daemons' logs (a line per request) go to a tmpfs, not to the lab's
# 9p results share, so that no timed request pays a 9p write; copied to
# $out at the end.
export BENCH_LOGS=/run/vfagent-bench-logs
mkdir -p "$BENCH_LOGS"
if [ -n "${BENCH_PF:-}" ]; then
	pf=$BENCH_PF
else
	set -- $(lab_pf) || true
	[ $# -ge 2 ] || { echo "bench: no SR-IOV PF here (no /sys/class/net/*/device/sriov_totalvfs)" >&2; exit 1; }
	pf=$1
fi
dev=/sys/class/net/$pf/device
[ -f "$dev/sriov_totalvfs" ] || { echo "bench: $pf is not an SR-IOV PF" >&2; exit 1; }
nvf=$(cat "$dev/sriov_totalvfs"); [ "$nvf" -gt 7 ] && nvf=7
conf=$out/vfagent.conf st=/run/vfagent-bench
lab_conf bench "$nvf" libvirt owner
echo "spoofchk = on" >>"$conf"
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "kernel: $(uname -r)"
	echo "cpus: $(nproc)"
	echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
	if [ -n "${VFAGENT_LAB:-}" ]; then echo "where: lab guest (tests/lab/run.sh)"; else echo "where: this host, directly"; fi
	echo "pf: $pf ($(basename "$(readlink -f $dev)"), driver $(basename "$(readlink -f $dev/driver)")), $nvf VFs"
	echo "rounds: $reps max, budget ${budget}s, cold paths every $cold_every rounds, churn: $clients clients x ${churn_s}s, domain: $domain_reps reps"
	echo "serve_bench: floor $floor_n rounds, cycles ${serve_s}s slices x clients $serve_clients, hol $hol_reps reps x $hol_n, soak $soak cycles; modes ${modes#,}"
} >"$out/meta.txt"
cat "$out/meta.txt"

echo 0 >"$dev/sriov_numvfs"
rm -rf "$st"
t0=$(now_ms)
./vfagent -c "$conf" -s "$st" setup >"$out/setup.txt" 2>&1 || { cat "$out/setup.txt"; exit 1; }
echo "setup: $(( $(now_ms) - t0 )) ms"
libvirt=0
if [ -n "${VFAGENT_LAB:-}" ]; then
	if lab_libvirt_start; then
		libvirt=1
		echo "libvirtd: $(libvirtd --version)"
	else
		echo "libvirtd did not start: nodedev and domain paths skipped"
	fi
fi

rc=0
: >"$out/table.txt"
# The classic modes (alloc_bench); left unindented so the block diffs small.
if want classic; then
bench/alloc_bench run "$conf" "$st" bench "$pf" "$out" "$reps" "$budget" "$cold_every" | tee -a "$out/table.txt" || rc=1
# One direct warm alloc under strace (-T: time in each syscall; -c: the
# summary), for the per-phase picture in the kernel's terms; strace slows
# every syscall, so read shares, not absolute times.
if command -v strace >/dev/null; then
	for mode in T c; do
		if [ $mode = T ]; then so="-f -tt -T -o $out/strace-alloc.txt"; else so="-f -c -o $out/strace-alloc-summary.txt"; fi
		strace $so ./vfagent -c "$conf" -s "$st" --json alloc --pool bench --direct >"$out/strace-alloc.json" 2>&1
		p=$(sed -n 's/.*"pci": *"\([^"]*\)".*/\1/p' "$out/strace-alloc.json" | head -n1)
		[ -n "$p" ] && ./vfagent -c "$conf" -s "$st" release --pci "$p" --direct >/dev/null 2>&1
	done
else
	echo "strace missing: no syscall trace of an alloc"
fi
bench/alloc_bench churn "$conf" "$st" bench "$out" "$clients" "$churn_s" | tee -a "$out/table.txt" || rc=1

# --domain: vfagent alloc --domain l2 --live against virsh attach-device of
# a managed='yes' hostdev, then against a libvirt hostdev network pool; the
# OS-less L2 domain restarted before each.
if [ $libvirt = 1 ] && [ "$domain_reps" -gt 0 ]; then
	lab_l2_define
	a=$(basename "$(readlink -f $dev/virtfn0)")	# 0000:00:12.0
	d=${a%%:*} rest=${a#*:}
	cat >"$out/hostdev.xml" <<XML
<hostdev mode='subsystem' type='pci' managed='yes'>
  <source><address domain='0x$d' bus='0x${rest%%:*}' slot='0x$(echo ${rest#*:} | cut -d. -f1)' function='0x${a##*.}'/></source>
</hostdev>
XML
	bench/alloc_bench domain "$conf" "$st" bench "$out" "$domain_reps" l2 "$out/hostdev.xml" |
		tee -a "$out/table.txt" || rc=1
	# libvirt's network pool: an <interface type='network'> from a
	# <forward mode='hostdev'> network on $pf, interleaved with vfagent
	# alloc --domain (vfagent holds no lease while libvirt attaches).
	bench/alloc_bench netpool "$conf" "$st" bench "$out" "$domain_reps" l2 "$pf" |
		tee -a "$out/table.txt" || rc=1
	virsh -q destroy l2 >/dev/null 2>&1
	virsh -q undefine l2 >/dev/null 2>&1
fi
fi	# want classic

# ---- bench/serve_bench: the daemon as its users call it (issue 10) ----
# cycles: alloc+release cycles/s with 1, 2, 4, 8 client processes; hol: an
# alloc while another client's unacked detach is pending, against the warm
# alloc of the same daemon; soak: the plain build, then the ASan build of
# the daemon (bench/vfagent-asan, built by make bench) through SOAK cycles.  Each mode starts
# and stops its own `vfagent serve`.
sb() { m=$1 b=$2; shift 2; bench/serve_bench "$m" "$b" "$conf" "$st" bench "$out" "$@"; }
# floor: the quiet, like-for-like comparison: one client, the daemon
# serving, its alloc, release and a hello alternating with the floor's
# three bare steps (on the PF's last VF) and nothing else running.
if want floor; then
	sb floor ./vfagent "$floor_n" "$pf" | tee -a "$out/table.txt" || rc=1
	# The classic mode's figure of this boot beside it, not instead of it.
	[ -s "$out/summary.csv" ] && [ -s "$out/floor-summary.csv" ] && awk -F, '
		FNR == 1 { f++ } f == 1 && $1 == "daemon_sock_alloc" { ca50 = $3; ca99 = $5 }
		f == 1 && $1 == "floor_sum" { cf50 = $3 }
		f == 2 && $1 == "daemon_alloc" { qa50 = $3; qa99 = $5 } f == 2 && $1 == "floor_sum" { qf50 = $3 }
		END { if (ca50 && cf50 && qa50 && qf50)
			printf "  daemon alloc / floor_sum at p50: quiet %.2fx (p99/p50 %.2f); classic mode of this boot %.2fx (p99/p50 %.2f)\n",
				qa50 / qf50, qa99 / qa50, ca50 / cf50, ca99 / ca50 }' "$out/summary.csv" "$out/floor-summary.csv" |
		tee -a "$out/table.txt"
fi
if want cycles; then
	sb cycles ./vfagent "$serve_s" $(echo "$serve_clients" | tr , ' ') | tee -a "$out/table.txt" || rc=1
	# What the floor alone allows: a cycle is an alloc and a release, each
	# at least one floor_sum (SETLINK, chown, one synced write), measured
	# in this boot by the floor mode (ms), else by the classic mode (us);
	# 1 client: the median of its slices.
	f=$(awk -F, '$1 == "floor_sum" { print $3 * 1000 }' "$out/floor-summary.csv" 2>/dev/null)
	[ -n "$f" ] || f=$(awk -F, '$1 == "floor_sum" { print $3 }' "$out/summary.csv" 2>/dev/null)
	c1=$(awk -F, '$1 == 1 { print $3 }' "$out/cycles-median.csv" 2>/dev/null)
	[ -n "$f" ] && [ -n "$c1" ] && awk -v f="$f" -v c="$c1" 'BEGIN {
		printf "  the floor'"'"'s own ceiling: 1 / (2 x floor_sum p50 %.3f ms) = %.0f cycles/s; 1 client (median) reached %.1f/s = %.2f of it\n", f / 1000, 1e6 / (2 * f), c, c * 2 * f / 1e6 }' |
		tee -a "$out/table.txt"
fi
# syscalls: what the daemon does per alloc and per release (strace counts,
# which do not swing with TCG's speed): bench/syscalls.sh.
if want syscalls; then
	sh bench/syscalls.sh ./vfagent "$conf" "$st" bench "$out" 4 | tee -a "$out/table.txt"
fi
if want hol; then
	if [ $libvirt = 1 ]; then
		virsh -q dominfo l2 >/dev/null 2>&1 || lab_l2_define
		sb hol ./vfagent "$hol_reps" "$hol_n" l2 | tee -a "$out/table.txt" || rc=1
		virsh -q destroy l2 >/dev/null 2>&1
		virsh -q undefine l2 >/dev/null 2>&1
	else
		echo "hol: skipped (libvirtd not running)" | tee -a "$out/table.txt"
	fi
fi
if want soak && [ "$soak" -gt 0 ]; then
	rm -rf "$out/asan"; mkdir -p "$out/asan"
	# The daemon's heap seen from inside (bench/memprobe.so, preloaded
	# into the daemon only): what it holds, apart from what the allocator
	# keeps mapped. The plain build first, tcache off so that mallinfo2's
	# in-use count is exact (tcache'd chunks count as in use); then ASan's,
	# where ASan counts the live bytes itself.
	[ -f bench/memprobe.so ] && export BENCH_MEMPROBE=$PWD/bench/memprobe.so
	GLIBC_TUNABLES=glibc.malloc.tcache_count=0 sb soak ./vfagent "$soak" 100 plain |
		tee -a "$out/table.txt" || rc=1
	if [ -x bench/vfagent-asan ]; then
		# ASan keeps freed memory in a quarantine (256 MB by default)
		# that alone grows RSS; 16 MB keeps RSS meaningful.
		ASAN_OPTIONS=log_path=$out/asan/vfagent:detect_leaks=1:quarantine_size_mb=16:verify_asan_link_order=0 \
		UBSAN_OPTIONS=print_stacktrace=1:log_path=$out/asan/ubsan \
			sb soak bench/vfagent-asan "$soak" 100 | tee -a "$out/table.txt" || rc=1
		for f in "$out"/asan/*; do [ -s "$f" ] && { echo "--- $f"; head -n 40 "$f"; }; done
	else
		echo "soak: ASan build skipped (bench/vfagent-asan missing: make bench/vfagent-asan)" | tee -a "$out/table.txt"
	fi
fi

./vfagent -c "$conf" -s "$st" --json status >"$out/status-end.json" 2>&1
cp "$BENCH_LOGS"/*.log "$out"/ 2>/dev/null
ip link set "$pf" down
echo 0 >"$dev/sriov_numvfs"
exit $rc
