#!/bin/sh
# make demo, inside the lab guest: the field report's procedure done by
# vfagent — setup, list, alloc to a libvirt domain, status, release.
cd "$(dirname "$0")/../.."
. tests/lab/lib.sh
. tests/lab/libvirt.sh
set -- $(lab_pf) || { echo "demo: no SR-IOV PF in the guest"; exit 1; }
pf=$1 dev=/sys/class/net/$1/device
conf=/etc/vfagent/vfagent.conf
mkdir -p /etc/vfagent
lab_conf net1 7 libvirt owner
run() { echo; echo "\$ $*"; "$@"; echo "(exit $?)"; }
V=$PWD/vfagent
echo "== The host after a reboot: PF $pf ($(cat $dev/vendor):$(cat $dev/device), igb) is down, no VFs."
ip link set "$pf" down; echo 0 >$dev/sriov_numvfs
ip -br link show "$pf"
echo "== $conf:"; cat $conf
echo "== Starting libvirtd and an L2 domain 'l2' (OS-less, 128 MiB) in the lab."
lab_libvirt_start && lab_l2_define && virsh -q start l2 >/dev/null && virsh list
run $V setup
run $V setup
run $V list
run $V alloc --pool net1 --mac 52:54:00:aa:bb:cc --vlan 100:3 --domain l2 --live
echo; echo "\$ virsh dumpxml l2 | grep -A3 '<hostdev'"; virsh dumpxml l2 | grep -A3 "<hostdev"
run $V alloc --pool net1 --vlan 200
for i in 1 2 3 4 5; do $V alloc --pool net1 >/dev/null 2>&1; done
echo; echo "(5 more allocs: the pool is now full)"
run $V alloc --pool net1
run $V status
run $V release --domain l2
echo "(the OS-less L2 never acks the unplug, so the VF stays leased; stop the domain:)"
echo "\$ virsh destroy l2"; virsh -q destroy l2
run $V release --domain l2
run $V status

echo
echo "== Now the daemon: vfagent serve watches libvirt and returns a stopped domain's VFs by itself."
st=/run/vfagent
: >/tmp/vfagent-demo.log
lab_serve /tmp/vfagent-demo.log
virsh -q start l2 >/dev/null
run $V alloc --pool net1 --domain l2 --live
echo "\$ virsh destroy l2"; virsh -q destroy l2
lab_wait_log /tmp/vfagent-demo.log 'domain l2 stopped' 30
echo "(daemon log:)"; grep -E 'domain l2|alloc done' /tmp/vfagent-demo.log
run $V status
lab_serve_stop
ip -d link show "$pf" | grep ' vf '
