#!/bin/sh
# make bench-scale: per-request cost against host size (issue 10, "Measure").
#   sh bench/scale_lab.sh [REPS [ORDER]]  on the host: boots the lab with
#                                      tests/lab/run.sh --pfs 4, runs itself
#                                      inside, copies results to bench/results/
# Inside the guest (VFAGENT_LAB set) it runs, with `vfagent serve` up and
# bench/scale_bench on one persistent connection, REPS rounds (default 50)
# of alloc, status, reconcile, release:
#   1pf  pool of eth0's 7 VFs        (1 lease, then 7 leases held)
#   4pf  one pool of 4 PFs x 7 VFs   (1 lease, then 28 leases held)
# in that order, or 4pf first if ORDER is 4pf-first (the two configurations
# run one after the other: reversing them shows what drift does).
# Results: OUT/scale-table.txt, scale-summary.csv, scale-samples.csv,
# scale-meta.txt.  Nothing asserts on timings; exit 1 if an operation failed.
set -u
cd "$(dirname "$0")/.."
reps=${1:-${BENCH_SCALE_REPS:-50}} order=${2:-1pf-first}
case $order in 1pf-first|4pf-first) ;; *) echo "usage: bench/scale_lab.sh [REPS [1pf-first|4pf-first]]" >&2; exit 2 ;; esac
if [ -z "${VFAGENT_LAB:-}" ]; then
	out=${BENCH_OUT:-/tmp/vfagent-bench-scale}
	rm -rf "$out"
	mkdir -p "$out" bench/results
	[ -x vfagent ] && [ -x bench/scale_bench ] || make WERROR=1 all || exit 1
	sh tests/lab/run.sh --pfs 4 --timeout 900 --out "$out" sh bench/scale_lab.sh "$reps" "$order"
	rc=$?
	for f in scale-meta.txt scale-table.txt scale-summary.csv scale-samples.csv; do
		[ -f "$out/$f" ] && cp "$out/$f" bench/results/
	done
	echo "bench-scale: results in bench/results/scale-* (raw: $out), status $rc"
	exit $rc
fi

. tests/lab/lib.sh
out=$VFAGENT_LAB_OUT
pfs=
for d in /sys/class/net/*/device/sriov_totalvfs; do
	[ -f "$d" ] || continue
	p=${d%/device/sriov_totalvfs}; pfs="${pfs:+$pfs }${p##*/}"
done
set -- $pfs
[ $# -ge 1 ] || { echo "bench-scale: no SR-IOV PF in the guest" >&2; exit 1; }
first=$1 npf=$#
rm -f "$out/scale-summary.csv" "$out/scale-samples.csv"
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "tree: $(git -C . rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C . diff --quiet HEAD 2>/dev/null || echo ' + local changes')"
	echo "kernel: $(uname -r)"
	echo "cpus: $(nproc)"
	echo "pfs: $pfs"
	echo "rounds per phase: $reps, $order"
} | tee "$out/scale-meta.txt"

# One configuration: VFs off on every PF, setup, serve, scale_bench, stop.
scale_one() {
	label=$1; shift
	conf=$out/scale-$label.conf st=/run/vfagent-scale-$label
	cat >"$conf" <<CONF
[pool scale]
pf = $*
vfs = 7
spoofchk = on
owner = libvirt-qemu:kvm
mode = 0660
CONF
	for p in $pfs; do echo 0 >/sys/class/net/$p/device/sriov_numvfs; done
	rm -rf "$st"
	./vfagent -c "$conf" -s "$st" --direct setup >"$out/scale-setup-$label.txt" 2>&1 ||
		{ cat "$out/scale-setup-$label.txt"; return 1; }
	./vfagent -c "$conf" -s "$st" serve 2>"$out/scale-daemon-$label.log" &
	dpid=$!
	bench/scale_bench "$conf" "$st" scale "$out" "$label" "$reps"
	brc=$?
	kill "$dpid"
	wait "$dpid"
	return $brc
}

rc=0
: >"$out/scale-table.txt"
four() {
	if [ "$npf" -ge 4 ]; then
		scale_one 4pf $pfs
	else
		echo "SKIP 4pf: $npf PF(s) here; boot with tests/lab/run.sh --pfs 4"
	fi
}
# Into the table and the console; the status survives the pipe.
tee_rc() {
	{ "$@"; echo $? >"$out/.scale-rc"; } | tee -a "$out/scale-table.txt"
	[ "$(cat "$out/.scale-rc")" = 0 ]
}
[ $order = 4pf-first ] && { tee_rc four || rc=1; }
tee_rc scale_one 1pf "$first" || rc=1
[ $order = 1pf-first ] && { tee_rc four || rc=1; }
for p in $pfs; do
	ip link set "$p" down 2>/dev/null
	echo 0 >/sys/class/net/$p/device/sriov_numvfs
done
exit $rc
