# Shell helpers for lab tests (sourced).  Result lines go to stdout:
# "PASS name", "FAIL name: why", "SKIP name: why".
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; }
skip() { echo "SKIP $*"; }
# check NAME WHY-IF-FAILED CMD...: run CMD, PASS or FAIL.
check() {
	n=$1 why=$2; shift 2
	if "$@"; then pass "$n"; else fail "$n: $why"; fi
}
# The first netdev whose PCI device has SR-IOV; prints "netdev pci-address".
lab_pf() {
	for d in /sys/class/net/*/device/sriov_totalvfs; do
		[ -f "$d" ] || continue
		dev=${d%/device/sriov_totalvfs}; dev=${dev##*/}
		echo "$dev $(basename "$(readlink -f /sys/class/net/$dev/device)")"
		return 0
	done
	return 1
}
# lab_pfs: the names of every SR-IOV PF here, on one line.
lab_pfs() {
	for d in /sys/class/net/*/device/sriov_totalvfs; do
		[ -f "$d" ] || continue
		d=${d%/device/sriov_totalvfs}; printf '%s ' "${d##*/}"
	done
	echo
}
now_ms() { date +%s%3N; }
# lab_setup NAME: the preamble of a test on the lab's PF. Sets V (the
# binary: $VFAGENT, else ./vfagent), pf and dev (the SR-IOV PF and its
# sysfs device), out (the results folder NAME under $VFAGENT_LAB_OUT, made)
# and conf and st (NAME's config file and state dir). No PF: FAIL NAME.pf
# and status 1 (callers: lab_setup NAME || exit 0).
lab_setup() {
	V="${VFAGENT:-$PWD/vfagent}"
	out=${VFAGENT_LAB_OUT:-/tmp}/$1
	conf=$out/vfagent.conf st=/run/vfagent-$1
	mkdir -p "$out"
	# (not `set -- $(lab_pf) || ...`: set's status is its own, always 0)
	ls_pf=$(lab_pf) || { fail "$1.pf: no SR-IOV PF"; return 1; }
	set -- $ls_pf
	pf=$1 dev=/sys/class/net/$1/device
}
# lab_conf POOL VFS [libvirt] [owner]: writes $conf, one pool of VFS VFs on
# $pf; "libvirt" adds [libvirt] uri = qemu:///system, "owner" hands the
# nodes to the VM user (libvirt-qemu:kvm 0660). More: append to $conf.
lab_conf() {
	lc_pool=$1 lc_vfs=$2; shift 2
	case " $* " in *" libvirt "*) printf '[libvirt]\nuri = qemu:///system\n' ;; esac >"$conf"
	printf '[pool %s]\npf = %s\nvfs = %s\n' "$lc_pool" "$pf" "$lc_vfs" >>"$conf"
	case " $* " in *" owner "*) printf 'owner = libvirt-qemu:kvm\nmode = 0660\n' >>"$conf" ;; esac
}
# vfagent with the test's config and state dir.
va() { "$V" -c "$conf" -s "$st" "$@"; }
# lab_wait_log FILE PATTERN [TENTHS]: waits until FILE has a line matching
# PATTERN (grep -E), up to TENTHS tenths of a second (default 100).
lab_wait_log() {
	for i in $(seq 1 "${3:-100}"); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
# lab_serve LOG [OPTIONS...]: starts `vfagent serve` with the test's config
# and state dir (its output appended to LOG), sets dpid, waits until it
# serves. lab_serve_stop: SIGTERM, then reaps it.
lab_serve() {
	ls_log=$1; shift
	ls_n=$(grep -c 'serving on' "$ls_log" 2>/dev/null)
	"$V" -c "$conf" -s "$st" "$@" serve >>"$ls_log" 2>&1 &
	dpid=$!
	for i in $(seq 1 100); do
		[ "$(grep -c 'serving on' "$ls_log" 2>/dev/null)" -gt "${ls_n:-0}" ] && return 0
		sleep 0.1
	done
	return 1
}
lab_serve_stop() { kill -TERM "$dpid" 2>/dev/null; wait "$dpid"; }
# lab_each GLOB RESULTS [FILTER...]: runs each script GLOB names (only those
# whose names contain one of FILTER, if given) with its output on stdout
# and appended to RESULTS (emptied first), then its time.
lab_each() {
	le_glob=$1 le_res=$2; shift 2
	: >"$le_res"
	for t in $le_glob; do
		if [ $# -gt 0 ]; then
			m=0; for a in "$@"; do case $t in *"$a"*) m=1 ;; esac; done
			[ $m = 1 ] || continue
		fi
		echo "-- $t"
		start=$(date +%s%3N)
		sh "$t" 2>&1 | tee -a "$le_res"
		echo "-- $t: $(( $(date +%s%3N) - start )) ms"
	done
}
