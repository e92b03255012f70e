#!/bin/sh
# make check: deps, build, unit tests, root tests (netns), fuzz, lab.
# Every test prints one line: "PASS name", "FAIL name: why" or
# "SKIP name: why".  The last line is the summary "N passed, N failed[, N skipped]".
# Usage: tests/check.sh [deps|build|deb|unit|k8s|root|fuzz|lab ...]   (default: all phases)
set -u
# sbin tools (ip, depmod, setpriv) even where the caller's PATH lacks them.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."
phases=${*:-"deps build deb unit k8s root fuzz lab"}
res=$(mktemp /tmp/vfagent-check.XXXXXX)
trap 'rm -f "$res"' EXIT
say() { echo "$*" | tee -a "$res"; }
# Run a command, echo its output, keep its result lines.
collect() {
	name=$1; shift
	out=$("$@" 2>&1); rc=$?
	printf '%s\n' "$out"
	printf '%s\n' "$out" | grep -E '^(PASS|FAIL|SKIP) ' >>"$res"
	if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
		say "FAIL $name: exited with status $rc"
	fi
	return 0
}
is_root() { [ "$(id -u)" = 0 ]; }
built_deb=

for ph in $phases; do
	echo "== $ph"
	case $ph in
	deps)
		if is_root; then
			sh tests/deps.sh || say "FAIL deps: tests/deps.sh failed"
		else
			sh tests/deps.sh 2>/dev/null || echo "deps: not root; using what is installed"
		fi ;;
	build)
		if make -s WERROR=1 all; then say "PASS build: -Werror build"
		else say "FAIL build: make WERROR=1 all failed"; break; fi ;;
	deb)
		# The Debian package, built from the tree; the lab's systemd boot
		# installs it.
		if ! is_root; then
			say "SKIP deb: needs root (make deps installs debhelper)"
		elif ! command -v dh >/dev/null; then
			say "FAIL deb: debhelper missing (tests/deps.sh)"
		elif make -s deb >/tmp/vfagent-deb.log 2>&1; then
			built_deb=$(ls -t vfagent_*.deb | head -n1)
			say "PASS deb: $built_deb built"
			if lintian --fail-on error vfagent_*.deb >/tmp/vfagent-lintian.log 2>&1; then
				say "PASS deb.lintian: no errors ($(grep -c '^W:' /tmp/vfagent-lintian.log) warnings)"
			else
				say "FAIL deb.lintian: $(grep '^E:' /tmp/vfagent-lintian.log | head -n3 | tr '\n' ' ')"
			fi
		else
			say "FAIL deb: make deb failed (see /tmp/vfagent-deb.log)"
		fi ;;
	unit)
		for t in tests/unit/test_*; do
			case $t in *.c) continue ;; esac
			[ -x "$t" ] && collect "$t" timeout 300 "$t"
		done ;;
	k8s)
		# The device plugin (Go): build, then its tests with no root.
		out=$(sh k8s/build.sh 2>&1); rc=$?
		if [ $rc = 3 ]; then say "SKIP k8s: $out"
		elif [ $rc != 0 ]; then printf '%s\n' "$out"; say "FAIL k8s_build: sh k8s/build.sh failed"
		else say "PASS k8s_build: device plugin, kubelet driver, fake daemon"
			collect k8s/tests/run.sh timeout 600 sh k8s/tests/run.sh
		fi ;;
	root)
		for t in tests/root/*.sh; do
			[ -f "$t" ] || continue
			if is_root; then collect "$t" timeout 600 sh "$t"
			else say "SKIP $t: needs root (network namespaces)"; fi
		done ;;
	fuzz)
		if ! command -v clang >/dev/null; then
			say "SKIP fuzz: clang not installed"
		elif ! make -s fuzz >/tmp/vfagent-fuzz-build.log 2>&1; then
			say "SKIP fuzz: libFuzzer harnesses do not build here (see /tmp/vfagent-fuzz-build.log)"
		else
			for f in tests/fuzz/fuzz_*; do
				case $f in *.c) continue ;; esac
				[ -x "$f" ] || continue
				seeds=tests/fixtures
				corp=$(mktemp -d)
				if "$f" -max_total_time="${VFAGENT_FUZZ_SECONDS:-20}" -rss_limit_mb=1024 "$corp" $seeds >/tmp/vfagent-$(basename "$f").log 2>&1; then
					say "PASS $f: $(grep -o 'Done [0-9]* runs' /tmp/vfagent-$(basename "$f").log | tail -n1)"
				else
					say "FAIL $f: crash, see /tmp/vfagent-$(basename "$f").log"
				fi
				rm -rf "$corp"
			done
		fi ;;
	lab)
		if ! is_root; then
			say "SKIP lab: needs root (QEMU guest with vfio, 9p)"
		elif [ ! -f "${VFAGENT_LAB_CACHE:-/var/tmp/vfagent-lab}/kernel/ready" ]; then
			say "SKIP lab: no guest kernel (make deps failed?)"
		else
			# A boot only for a kind of test the filter leaves some of.
			wanted() {
				[ -z "${VFAGENT_LAB_TESTS:-}" ] && return 0
				for t in "$@"; do for a in $VFAGENT_LAB_TESTS; do
					case $t in *"$a"*) return 0 ;; esac; done; done
				return 1
			}
			# lab_boot KIND RUNNER [RUN.SH OPTIONS]: one boot, its results
			# into the run's (KIND names it when the guest fails).
			lab_boot() {
				lb_kind=$1 lb_run=$2; shift 2
				out=$(mktemp -d /tmp/vfagent-$lb_kind.XXXXXX)
				[ "$lb_kind" = lab-sd ] && { if [ -n "$built_deb" ]; then cp "$built_deb" "$out/vfagent.deb"
					else echo "lab: no .deb built in this run; the systemd boot installs with make install"; fi; }
				sh tests/lab/run.sh "$@" --out "$out" --timeout "${VFAGENT_LAB_TIMEOUT:-3000}" sh "$lb_run" ${VFAGENT_LAB_TESTS:-}
				rc=$?
				[ -f "$out/results" ] && grep -E '^(PASS|FAIL|SKIP) ' "$out/results" >>"$res"
				if [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$out/results" 2>/dev/null; then
					say "FAIL $lb_kind: guest exited $rc (console log: $out/console.log)"
				fi
			}
			# One QEMU boot for tests/lab/t_*.sh; four PFs (28 VFs) for
			# m_*.sh; systemd as PID 1 with the package installed for s_*.sh.
			if wanted tests/lab/t_*.sh; then lab_boot lab tests/lab/all.sh; fi
			if wanted tests/lab/m_[0-9]*.sh; then lab_boot lab-pfs tests/lab/m_all.sh --pfs 4; fi
			if wanted tests/lab/s_[0-9]*.sh; then
				lab_boot lab-sd tests/lab/s_all.sh --systemd --prep tests/lab/s_prep.sh
			fi
		fi ;;
	*) echo "unknown phase $ph" >&2; exit 2 ;;
	esac
done

p=$(grep -c '^PASS ' "$res"); f=$(grep -c '^FAIL ' "$res"); s=$(grep -c '^SKIP ' "$res")
echo
grep -E '^(FAIL|SKIP) ' "$res"
line="$p passed, $f failed"
[ "$s" -gt 0 ] && line="$line, $s skipped"
echo "$line"
[ "$f" -eq 0 ]
