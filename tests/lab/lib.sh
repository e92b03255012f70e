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
now_ms() { date +%s%3N; }
