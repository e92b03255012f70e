# The Kubernetes device plugin against the real daemon and real VFs, with
# kubelet-driver playing the kubelet (no kubelet is packaged for Debian).
# Needs the daemon's protocol v1 (hello, watch, alloc with pci/holder):
# SKIPs with the reason while the daemon refuses {"op":"hello"}.
. tests/lab/lib.sh
V="$PWD/vfagent"
K="$PWD/k8s/bin"
if [ ! -x "$K/vfagent-k8s" ] || [ ! -x "$K/kubelet-driver" ]; then
	skip "k8s.lab: plugin not built (make k8s; Go from make deps)"; exit 0
fi
set -- $(lab_pf) || { fail "k8s.pf: no SR-IOV PF"; exit 0; }
pf=$1
out=${VFAGENT_LAB_OUT:-/tmp}/k8s
mkdir -p "$out"
conf=$out/vfagent.conf st=/run/vfagent-k8s log=$out/daemon.log
cat >"$conf" <<CONF
[pool net1]
pf = $pf
vfs = 7
owner = root:root
mode = 0600
CONF
rm -rf "$st"; : >"$log"
"$V" -c "$conf" -s "$st" setup >"$out/setup.log" 2>&1 ||
	{ fail "k8s.setup: $(tail -n 3 "$out/setup.log" | tr '\n' ' ')"; exit 0; }
"$V" -c "$conf" -s "$st" serve >>"$log" 2>&1 &
dpid=$!
pids=$dpid
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
for i in $(seq 1 100); do grep -q 'serving on' "$log" && break; sleep 0.1; done
grep -q 'serving on' "$log" || { fail "k8s.daemon: did not start: $(tail -n 3 "$log")"; exit 0; }
sock=$st/vfagent.sock
if ! msg=$("$K/kubelet-driver" hello -daemon "$sock" 2>&1); then
	skip "k8s.lab: daemon does not speak protocol v1 watch yet ($msg)"
	exit 0
fi
kd=$out/device-plugins
rm -rf "$kd"; mkdir -p "$kd"
"$K/vfagent-k8s" -daemon "$sock" -kubelet-dir "$kd" -pod-resources "$out/podres.sock" \
	-reconcile-interval 500ms -grace 2s 2>"$out/plugin.log" &
pids="$pids $!"
"$K/kubelet-driver" run -dir "$kd" -podres "$out/podres.sock" -daemon "$sock" \
	-pools net1 -pf "net1/$pf" -pf-down-cmd "ip link set dev $pf down" \
	-pf-up-cmd "ip link set dev $pf up" -grace 2s -timeout 60s -bench 50 >"$out/driver.out" 2>&1
rc=$?
sed -e 's/^\(PASS\|FAIL\|SKIP\) k8s_/\1 k8s.lab_/' "$out/driver.out" | grep -E '^(PASS|FAIL|SKIP|INFO) '
[ $rc = 0 ] || grep -q '^FAIL ' "$out/driver.out" ||
	fail "k8s.lab_driver: exited $rc: $(tail -n 3 "$out/driver.out" | tr '\n' ' ')"
ip link set dev "$pf" up 2>/dev/null
exit 0
