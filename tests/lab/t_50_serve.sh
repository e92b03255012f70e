# vfagent serve in the lab: concurrent allocs over the socket, a destroyed
# domain's VF back in the pool, kill -9 mid-alloc, libvirtd restarted,
# the PF set down behind our back, VFs removed behind our back.
. tests/lab/lib.sh
. tests/lab/libvirt.sh
V="${VFAGENT:-$PWD/vfagent}"
set -- $(lab_pf) || { fail "serve.pf: no SR-IOV PF"; exit 0; }
pf=$1 dev=/sys/class/net/$1/device
out=${VFAGENT_LAB_OUT:-/tmp}/serve
mkdir -p "$out"
conf=$out/vfagent.conf st=/run/vfagent-serve log=$out/daemon.log
cat >"$conf" <<CONF
[libvirt]
uri = qemu:///system
[pool net1]
pf = $pf
vfs = 7
owner = libvirt-qemu:kvm
mode = 0660
[serve]
pf-restore = yes
CONF
va() { "$V" -c "$conf" -s "$st" "$@"; }
start_daemon() {
	n0=$(grep -c 'serving on' "$log")
	"$V" -c "$conf" -s "$st" serve >>"$log" 2>&1 &
	dpid=$!
	for i in $(seq 1 100); do [ "$(grep -c 'serving on' "$log")" -gt "$n0" ] && return 0; sleep 0.1; done
	return 1
}
# Wait (bounded) until a command's output matches; prints the ms it took.
wait_for() {
	t0=$(now_ms)
	for i in $(seq 1 100); do
		if sh -c "$1" >/dev/null 2>&1; then echo $(( $(now_ms) - t0 )); return 0; fi
		sleep 0.1
	done
	return 1
}
pgrep -x libvirtd >/dev/null || lab_libvirt_start || { fail "serve.libvirtd: did not start"; exit 0; }
virsh -q dominfo l2 >/dev/null 2>&1 || lab_l2_define
rm -rf "$st"; : >"$log"
va setup >/dev/null 2>&1; check serve.setup "setup failed" [ $? = 0 ]
start_daemon; check serve.daemon_starts "$(cat $log)" [ $? = 0 ]

# 7 concurrent clients over the socket: 7 distinct VFs; the 8th exhausted.
pids=""
for i in 1 2 3 4 5 6 7; do va --json alloc --pool net1 >"$out/a$i.json" 2>"$out/a$i.err" & pids="$pids $!"; done
wait $pids
n=$(for i in 1 2 3 4 5 6 7; do jq -r .pci $out/a$i.json 2>/dev/null; done | grep -c 0000)
d=$(for i in 1 2 3 4 5 6 7; do jq -r .pci $out/a$i.json 2>/dev/null; done | sort -u | grep -c 0000)
check serve.alloc_concurrent "$n allocs, $d distinct: $(cat $out/a*.err)" [ "$n" = 7 -a "$d" = 7 ]
check serve.via_socket "daemon did not serve them" sh -c "[ \$(grep -c 'alloc done' $log) -ge 7 ]"
va alloc --pool net1 2>"$out/a8.err"; rc=$?
check serve.exhausted "rc=$rc $(cat $out/a8.err)" sh -c "[ $rc = 3 ] && grep -q 'exhausted' $out/a8.err"
for i in 1 2 3 4 5 6 7; do va release --lease "$(jq -r .id $out/a$i.json)" >/dev/null 2>&1; done
check serve.all_free "$(va --json status | jq -c '.pools[0]|[.free,.leased]')" [ "$(va --json status | jq -c '.pools[0]|[.free,.leased]')" = "[7,0]" ]

# A domain holding a VF is destroyed: the VF comes back without a release.
virsh -q start l2 >/dev/null 2>&1
va --json alloc --pool net1 --mac 02:00:00:00:05:01 --domain l2 --live >"$out/d1.json" 2>&1
check serve.alloc_domain "$(cat $out/d1.json)" [ "$(jq -r .attached $out/d1.json)" = true ]
# The attach ran in a worker: the peer's uid (root) still went with the
# request and was journaled as the lease's owner (not "no owner").
check serve.worker_owner "$(cat $out/d1.json)" [ "$(jq -r .owner $out/d1.json)" = 0 ]
virsh -q destroy l2 >/dev/null
ms=$(wait_for "[ \"\$(\"$V\" -c $conf -s $st --json status | jq .pools[0].leased)\" = 0 ]")
check serve.destroy_releases "still leased: $(tail -n3 $log)" [ -n "$ms" ]
echo "TIME destroy_to_free_ms=$ms"
check serve.destroy_scrubbed "$(ip -d link show $pf | grep 02:00:00:00:05:01)" sh -c "! ip -d link show $pf | grep -q 02:00:00:00:05:01"

# kill -9 of the daemon in the middle of an alloc; restart: nothing lost or doubled.
kill $dpid; wait $dpid 2>/dev/null
VFAGENT_CRASH_AT=netlink "$V" -c "$conf" -s "$st" serve >>"$log" 2>&1 &
dpid=$!
for i in $(seq 1 100); do [ -S "$st/vfagent.sock" ] && break; sleep 0.1; done
va alloc --pool net1 --vlan 555 >"$out/k.out" 2>"$out/k.err"; rc=$?
check serve.kill9_client_told "rc=$rc $(cat $out/k.err)" sh -c "[ $rc = 1 ] && grep -q 'closed the connection' $out/k.err"
wait $dpid 2>/dev/null
start_daemon
va --json status >"$out/k.json" 2>&1
check serve.kill9_nothing_lost "$(jq -c '.pools[0]|[.free,.leased]' $out/k.json) $(grep -c 'rolled back' $log)" \
	sh -c "[ \"\$(jq -c '.pools[0]|[.free,.leased]' $out/k.json)\" = '[7,0]' ] && grep -q 'interrupted alloc rolled back' $log"
check serve.kill9_scrubbed "$(ip -d link show $pf | grep 'vlan 555')" sh -c "! ip -d link show $pf | grep -q 'vlan 555'"

# libvirtd restarts: the daemon reconnects and still releases on domain stop.
n0=$(grep -c 'watching libvirt domain events' "$log")
pkill -x libvirtd; sleep 0.5
libvirtd -d
ms=$(wait_for "[ \$(grep -c 'watching libvirt domain events' $log) -gt $n0 ]")
check serve.libvirt_reconnect "no reconnect: $(tail -n3 $log)" [ -n "$ms" ]
virsh -q start l2 >/dev/null 2>&1
va --json alloc --pool net1 --domain l2 --live >"$out/d2.json" 2>&1
virsh -q destroy l2 >/dev/null
ms=$(wait_for "[ \"\$(\"$V\" -c $conf -s $st --json status | jq .pools[0].leased)\" = 0 ]")
check serve.release_after_reconnect "still leased after libvirtd restart: $(tail -n3 $log)" [ -n "$ms" ]

# The PF is set down behind our back: reported and (pf-restore) brought up.
ip link set "$pf" down
ms=$(wait_for "grep -q 'went down' $log && ip link show $pf | grep -q '[<,]UP[,>]'")
check serve.pf_down_restored "$(grep 'went down' $log | tail -n1); $(ip -br link show $pf)" [ -n "$ms" ]
echo "TIME pf_down_to_up_ms=$ms"

# VFs removed behind our back: reported.
echo 0 >$dev/sriov_numvfs
ms=$(wait_for "grep -q 'has 0 of its 7 VFs' $log")
check serve.vfs_removed_reported "$(tail -n3 $log)" [ -n "$ms" ]
echo "TIME numvfs_change_reported_ms=$ms"
kill -TERM $dpid; wait $dpid; rc=$?
check serve.sigterm "rc=$rc" [ $rc = 0 ]
cat "$log" | tail -n 40
ip link set "$pf" down
