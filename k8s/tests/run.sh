#!/bin/sh
# The device plugin's tests, no root, no hardware: Go unit tests, then the
# plugin against the kubelet-role driver and the fake daemon in a temp dir,
# then the manifests through yamllint.  One "PASS/FAIL/SKIP name" line each.
# Needs k8s/bin (sh k8s/build.sh).
set -u
cd "$(dirname "$0")/.."
K=$(pwd)
bin=$K/bin
if [ ! -x "$bin/vfagent-k8s" ]; then
	echo "SKIP k8s: not built (sh k8s/build.sh)"
	exit 0
fi

# Unit tests: go test's verdicts as result lines.
"$bin/plugin.test" -test.v 2>&1 | sed -n \
	-e 's/^--- PASS: \([^ ]*\).*/PASS k8s_unit_\1/p' \
	-e 's/^--- FAIL: \([^ ]*\).*/FAIL k8s_unit_\1: see go test -v output/p'

if command -v gofmt >/dev/null 2>&1; then
	bad=$(find cmd plugin tests -name '*.go' | xargs gofmt -l)
	if [ -z "$bad" ]; then echo "PASS k8s_gofmt: Go sources gofmt-clean"
	else echo "FAIL k8s_gofmt: not gofmt-clean: $bad"; fi
fi

T=$(mktemp -d /tmp/vfagent-k8s.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
mkdir "$T/device-plugins"

# A daemon that does not speak protocol v1 is told apart (the lab test SKIPs on it).
"$bin/fakedaemon" -v0 -sock "$T/v0.sock" -state tests/pools.json 2>"$T/v0.log" &
pids="$pids $!"
i=0; while [ ! -S "$T/v0.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
"$bin/kubelet-driver" hello -daemon "$T/v0.sock" >"$T/hello.out" 2>&1
rc=$?
if [ $rc = 3 ]; then echo "PASS k8s_hello_v0: a daemon without hello is recognised ($(cat "$T/hello.out"))"
else echo "FAIL k8s_hello_v0: kubelet-driver hello exited $rc on a daemon without hello"; fi

"$bin/fakedaemon" -sock "$T/d.sock" -state tests/pools.json 2>"$T/fake.log" &
pids="$pids $!"
i=0; while [ ! -S "$T/d.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if "$bin/kubelet-driver" hello -daemon "$T/d.sock" >/dev/null 2>&1; then
	echo "PASS k8s_hello_v1: the fake daemon speaks protocol v1"
else
	echo "FAIL k8s_hello_v1: hello refused by the fake daemon"
fi

# The plugin starts before the "kubelet": it must register when kubelet.sock appears.
"$bin/vfagent-k8s" -daemon "$T/d.sock" -kubelet-dir "$T/device-plugins" \
	-pod-resources "$T/podres.sock" -policy net2=spread \
	-reconcile-interval 200ms -grace 1s 2>"$T/plugin.log" &
pids="$pids $!"
"$bin/kubelet-driver" run -dir "$T/device-plugins" -podres "$T/podres.sock" \
	-daemon "$T/d.sock" -pools net1,net2 -policy net2=spread -fake \
	-pf net1/ens1f0 -grace 1s -timeout 60s -bench 10 >"$T/driver.out" 2>&1
rc=$?
grep -E '^(PASS|FAIL|SKIP|INFO) ' "$T/driver.out"
if [ $rc != 0 ] && ! grep -q '^FAIL ' "$T/driver.out"; then
	echo "FAIL k8s_driver: exited $rc: $(tail -n 3 "$T/driver.out" | tr '\n' ' ')"
fi
if grep -q '^FAIL ' "$T/driver.out"; then
	echo "--- plugin log:"; tail -n 40 "$T/plugin.log"
fi

# Bad usage is exit 2 with a one-line reason.
"$bin/vfagent-k8s" -default-policy nope >"$T/usage.out" 2>&1
rc=$?
if [ $rc = 2 ] && grep -q 'pack or spread' "$T/usage.out"; then
	echo "PASS k8s_usage: bad -default-policy is exit 2"
else
	echo "FAIL k8s_usage: exit $rc: $(cat "$T/usage.out")"
fi

if command -v yamllint >/dev/null 2>&1; then
	for y in deploy/*.yaml; do
		if out=$(yamllint -s -c tests/yamllint.conf "$y" 2>&1); then
			echo "PASS k8s_yamllint_$(basename "$y" .yaml): yamllint clean"
		else
			echo "FAIL k8s_yamllint_$(basename "$y" .yaml): $(echo "$out" | tr '\n' ' ')"
		fi
	done
	python3 tests/manifest_check.py deploy/daemonset.yaml deploy/kubevirt-example.yaml
else
	echo "SKIP k8s_yamllint: yamllint not installed (make deps installs it)"
fi
