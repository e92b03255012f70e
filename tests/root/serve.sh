# vfagent serve on the host (no SR-IOV needed): the socket protocol, the
# allow-list by SO_PEERCRED, oversized and malformed requests, a stalled
# client while another is served, SIGHUP with a bad config, SIGTERM.
. tests/lab/lib.sh
V="${VFAGENT:-$PWD/vfagent}" S="$PWD/tests/lab/sock_tool"
d=$(mktemp -d /tmp/vfagent-serve.XXXXXX)
trap 'kill $pid 2>/dev/null; rm -rf "$d"' EXIT
chmod 755 "$d"
cat >"$d/c.conf" <<CONF
[pool p]
pf = vfa-nosuch0
vfs = 2
[serve]
allow-users = daemon
# Test daemons leave the host's CDI and node_exporter dirs alone.
cdi-dir =
metrics-file =
CONF
"$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" serve 2>"$d/log" &
pid=$!
sock=$d/st/vfagent.sock
for i in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.05; done
check serve.socket "no socket after 5 s: $(cat $d/log)" [ -S "$sock" ]
chmod 755 "$d/st"

out=$("$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" --json status 2>&1); rc=$?
check serve.cli_via_daemon "rc=$rc $out" sh -c "[ $rc = 0 ] && grep -q 'uid 0 pid .*: status done' $d/log"
direct=$("$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" --direct --json status 2>&1)
check serve.same_as_direct "daemon: $out / direct: $direct" [ "$(echo "$out" | jq -c .pools)" = "$(echo "$direct" | jq -c .pools)" ]
out=$("$S" "$sock" '{"op":"status"}\n' 2>&1)
check serve.good_request "$out" sh -c "echo '$out' | jq -e '.ok == true and .exit == 0' >/dev/null"
out=$("$S" "$sock" '{nope\n{"op":"status"}\n' --lines 2 2>&1)
check serve.malformed "$out" sh -c "echo '$out' | head -n1 | grep -q 'malformed JSON' && echo '$out' | tail -n1 | jq -e .ok >/dev/null"
out=$("$S" "$sock" '{"op":"reboot"}\n' 2>&1)
check serve.unknown_op "$out" sh -c "echo '$out' | grep -q 'unknown command'"
out=$("$S" "$sock" '{"op":"alloc","pool":"p","vlan":4095}\n' 2>&1)
check serve.bad_value "$out" sh -c "echo '$out' | grep -q '4095 is reserved'"
out=$("$S" "$sock" '' --big 70000 2>&1)
check serve.oversized "$out" sh -c "echo '$out' | grep -q 'longer than 64 KiB'"
# Not in the allow-list: uid 65534 (nobody); in it: daemon (uid 1).
out=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$S" "$sock" '{"op":"status"}\n' 2>&1)
check serve.peer_refused "$out" sh -c "echo '$out' | grep -q 'permission denied: uid 65534'"
out=$(setpriv --reuid 1 --regid 1 --clear-groups "$S" "$sock" '{"op":"status"}\n' 2>&1)
check serve.peer_allowed "$out" sh -c "echo '$out' | jq -e .ok >/dev/null"
# A client that connects and says nothing does not block another.
"$S" "$sock" '' --stall-ms 4000 --lines 0 >/dev/null 2>&1 &
stall=$!
"$S" "$sock" '{"op":"sta' --lines 0 --stall-ms 10 >/dev/null 2>&1 &
half=$!
sleep 0.3
t0=$(now_ms)
out=$("$S" "$sock" '{"op":"status"}\n' 2>&1)
check serve.stalled_client "$out ($(( $(now_ms) - t0 )) ms)" sh -c "echo '$out' | jq -e .ok >/dev/null"
kill $stall $half 2>/dev/null; wait $stall $half 2>/dev/null
# SIGHUP with a broken config keeps the old one.
cp "$d/c.conf" "$d/c.good"
echo "bogus = 1" >>"$d/c.conf"
kill -HUP $pid; sleep 0.3
out=$("$S" "$sock" '{"op":"status"}\n' 2>&1)
check serve.bad_reload_kept "$(tail -n2 $d/log)" sh -c "grep -q 'new config refused, keeping the old one' $d/log && echo '$out' | jq -e .ok >/dev/null"
cp "$d/c.good" "$d/c.conf"
kill -HUP $pid; sleep 0.3
check serve.reload "$(tail -n1 $d/log)" grep -q 'config reloaded' "$d/log"
# A second daemon on the same socket is refused.
"$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" serve 2>"$d/log2"; rc=$?
check serve.one_daemon "rc=$rc $(cat $d/log2)" sh -c "[ $rc != 0 ] && grep -q 'another vfagent serve answers' $d/log2"
kill -TERM $pid; wait $pid; rc=$?
check serve.sigterm "rc=$rc" sh -c "[ $rc = 0 ] && [ ! -e $sock ]"
out=$("$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" --json status 2>&1); rc=$?
check serve.cli_direct_without_daemon "rc=$rc $out" [ $rc = 0 ]
