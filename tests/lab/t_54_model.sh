# The daemon's state model (agent/model.c, docs/PROTOCOL.md "The daemon's
# state"): what it keeps between requests must not outlive a change made
# behind its back. VFAGENT=PATH runs another build.
#  - a VF setting changed with ip link is seen (link event) before the
#    next alloc of that VF: the alloc puts the pool's spoofchk back;
#  - a VF unbound from vfio-pci behind its back: the next alloc of it
#    falls back to the full bind, and the VF is on vfio-pci again;
#  - a lease left by a --direct CLI killed after journaling: the alloc
#    that would say "exhausted" reconciles first and gets that VF.
. tests/lab/lib.sh
V="${VFAGENT:-$PWD/vfagent}"
set -- $(lab_pf) || { fail "model.pf: no SR-IOV PF"; exit 0; }
pf=$1 dev=/sys/class/net/$1/device
out=${VFAGENT_LAB_OUT:-/tmp}/model
mkdir -p "$out"
conf=$out/vfagent.conf st=/run/vfagent-model log=$out/daemon.log
printf '[pool net1]\npf = %s\nvfs = 7\nowner = nobody:nogroup\nmode = 0660\n' "$pf" >"$conf"
va() { "$V" -c "$conf" -s "$st" "$@"; }
dpid=
trap 'kill $dpid 2>/dev/null' EXIT
rm -rf "$st"; : >"$log"
va setup >/dev/null 2>&1; check model.setup "setup failed" [ $? = 0 ]
VFAGENT_SWEEP_MS=3600000 "$V" -c "$conf" -s "$st" serve >>"$log" 2>&1 &
dpid=$!
for i in $(seq 1 100); do [ -S "$st/vfagent.sock" ] && break; sleep 0.1; done
vf0=$(basename "$(readlink -f $dev/virtfn0)")
spoof() { ip -d link show "$pf" | grep -E "^ +vf 0 " | grep -o 'spoof checking [a-z]*'; }

# Warm the model: VF 0 allocated and released through the daemon.
a=$(va --json alloc --pool net1 --pci "$vf0" 2>&1)
check model.warm_alloc "$a" sh -c "echo '$a' | jq -e .pci >/dev/null"
va release --pci "$vf0" >/dev/null 2>&1

# 1. spoofchk turned off behind the daemon's back, then an alloc of VF 0.
ip link set "$pf" vf 0 spoofchk off
before=$(spoof)
a=$(va --json alloc --pool net1 --pci "$vf0" 2>&1)
after=$(spoof)
check model.link_event_seen "before: $before, after alloc: $after; $a" \
	sh -c "[ '$before' = 'spoof checking off' ] && [ '$after' = 'spoof checking on' ]"
va release --pci "$vf0" >/dev/null 2>&1

# 2. VF 0 unbound from vfio-pci behind the daemon's back.
echo "$vf0" >/sys/bus/pci/drivers/vfio-pci/unbind
drv0=$(basename "$(readlink -f /sys/bus/pci/devices/$vf0/driver 2>/dev/null)" 2>/dev/null)
a=$(va --json alloc --pool net1 --pci "$vf0" 2>&1); rc=$?
drv=$(basename "$(readlink -f /sys/bus/pci/devices/$vf0/driver)")
g=$(echo "$a" | jq -r '.iommu_group' 2>/dev/null)
check model.unbound_falls_back "rc=$rc unbound: '$drv0', after alloc: $drv group=$g; $a" \
	sh -c "[ $rc = 0 ] && [ '$drv0' != vfio-pci ] && [ '$drv' = vfio-pci ] && [ -c /dev/vfio/$g ] && [ \"\$(stat -c %U /dev/vfio/$g)\" = nobody ]"
va release --pci "$vf0" >/dev/null 2>&1

# 3. Six VFs leased through the daemon, the seventh by a --direct CLI
# killed right after journaling it: the next alloc reclaims it.
for i in 1 2 3 4 5 6; do va --json alloc --pool net1 >"$out/h$i.json" 2>&1; done
VFAGENT_CRASH_AT=journaled va --direct alloc --pool net1 >/dev/null 2>&1
left=$(va --json status | jq -c '.pools[0] | [.free, .leased]')
a=$(va --json alloc --pool net1 2>&1); rc=$?
# The daemon's sweep runs once an hour here: only the alloc reconciled.
check model.exhausted_reconciles "status before: $left; rc=$rc $a" \
	sh -c "[ '$left' = '[0,7]' ] && [ $rc = 0 ]"
for i in 1 2 3 4 5 6; do va release --lease "$(jq -r .id "$out/h$i.json")" >/dev/null 2>&1; done
va release --lease "$(echo "$a" | jq -r .id)" >/dev/null 2>&1
st1=$(va --json status | jq -c '.pools[0] | [.free, .leased]')
check model.all_free "$st1" [ "$st1" = "[7,0]" ]
kill -TERM $dpid; wait $dpid; dpid=
