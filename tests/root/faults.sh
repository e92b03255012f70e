# Faults the daemon meets on the host, no SR-IOV needed: its rtnetlink
# monitor socket overflows (ENOBUFS: link events lost) while it is busy.
# It must look at everything again, not stall or die. Runs in a network
# namespace of its own; the flood is veth pairs added and removed while
# the daemon is stopped (SIGSTOP), so its receive buffer overflows.
. tests/lab/lib.sh
. tests/lab/journal.sh
V="${VFAGENT:-$PWD/vfagent}"
ns=vfa-faults-$$
d=$(mktemp -d /tmp/vfagent-faults.XXXXXX)
chmod 755 "$d"
trap 'kill -CONT $pid 2>/dev/null; kill $pid 2>/dev/null; ip netns del $ns 2>/dev/null; rm -rf "$d"' EXIT
ip netns add $ns || { skip "faults.enobufs: cannot create a network namespace"; exit 0; }
cat >"$d/c.conf" <<CONF
[pool p]
pf = vfa-nosuch0
vfs = 2
[serve]
# Test daemons leave the host's CDI and node_exporter dirs alone.
cdi-dir =
metrics-file =
CONF
inns() { ip netns exec $ns "$@"; }
ip netns exec $ns "$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" serve 2>"$d/log" &
pid=$!
for i in $(seq 1 100); do [ -S "$d/st/vfagent.sock" ] && break; sleep 0.05; done
check faults.enobufs_daemon_up "no socket: $(cat $d/log)" [ -S "$d/st/vfagent.sock" ]

# The monitor socket: NETLINK_ROUTE (Eth 0) bound to RTNLGRP_LINK (groups 1).
drops() { inns cat /proc/net/netlink | awk '$2 == 0 && $4 == "00000001" { d += $9 } END { print d + 0 }'; }
kill -STOP $pid
n=0
for i in $(seq 1 150); do
	inns ip link add vfa-fa$i type veth peer name vfa-fb$i 2>/dev/null && n=$((n + 1))
done
for i in $(seq 1 150); do inns ip link del vfa-fa$i 2>/dev/null; done
lost=$(drops)
kill -CONT $pid
check faults.enobufs_overflowed "$n pairs made, $lost events dropped: the flood did not overflow the monitor socket" [ "$lost" -gt 0 ]
# The daemon answers once it has caught up (the timeout only tells a hang).
out=$(timeout 60 "$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" --json status 2>&1); rc=$?
# The daemon logs a request after its reply is sent: wait for the line.
lab_wait_log "$d/log" 'status done' 50
check faults.enobufs_still_serving "rc=$rc $out; log: $(tail -n3 $d/log)" \
	sh -c "[ $rc = 0 ] && grep -q 'status done' $d/log"
check faults.enobufs_alive "daemon died: $(tail -n3 $d/log)" kill -0 $pid
# Events after the overflow are seen again: a new link wakes the daemon
# and the socket is drained (no drops pending, nothing queued).
inns ip link add vfa-fa0 type veth peer name vfa-fb0
sleep 1
q=$(inns cat /proc/net/netlink | awk '$2 == 0 && $4 == "00000001" { q += $5 } END { print q + 0 }')
check faults.enobufs_drained "$q bytes still queued on the monitor socket" [ "$q" = 0 ]
kill -TERM $pid; wait $pid; rc=$?
check faults.enobufs_clean_exit "rc=$rc $(tail -n2 $d/log)" [ $rc = 0 ]

# libvirtd dies mid-connect: its socket accepts and closes at once. One
# line saying so, nothing leased (and, under ASan, no crash in the RPC
# code: the xdr interceptors need libtirpc loaded at start).
if command -v python3 >/dev/null; then
	python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
for i in range(4):
    c, _ = s.accept(); c.recv(65536); c.close()
" "$d/lv.sock" &
	fake=$!
	for i in $(seq 1 50); do [ -S "$d/lv.sock" ] && break; sleep 0.05; done
	printf '[libvirt]\nuri = qemu+unix:///system?socket=%s\n[pool p]\npf = vfa-nosuch0\nvfs = 2\n' "$d/lv.sock" >"$d/lv.conf"
	"$V" -c "$d/lv.conf" -s "$d/st2" --persist-dir "$d/pst" --direct alloc --pool p --domain x >"$d/lv.out" 2>"$d/lv.err"; rc=$?
	check faults.libvirtd_dies_mid_connect "rc=$rc $(head -c 600 $d/lv.err)" \
		sh -c "[ $rc = 1 ] && [ \$(wc -l <$d/lv.err) = 1 ] && grep -q 'libvirt not reachable' $d/lv.err"
	check faults.libvirtd_dies_nothing_leased "$(jleases $d/st2)" sh -c ". tests/lab/journal.sh; [ -f $d/st2/journal ] && [ -z \"\$(jleases $d/st2)\" ]"
	kill $fake 2>/dev/null
else
	skip "faults.libvirtd_dies_mid_connect: python3 missing (fake libvirt socket)"
fi
