# The daemon protocol, version 1 (doc/PROTOCOL.md), on the host without
# SR-IOV (the pool's PF is missing): hello, version refusal, "id" echo with
# pipelining, watch snapshot, lease events, and a watcher that reads
# nothing dropped with a last {"event":"overflow"}. Clients go through the
# public client library (tests/lab/watch_tool.c, agent/vfagent-client.h).
# VFAGENT_BIN=PATH runs another build (its parent's must fail).
. tests/lab/lib.sh
. tests/lab/journal.sh
V=${VFAGENT_BIN:-$PWD/vfagent} W="$PWD/tests/lab/watch_tool" S="$PWD/tests/lab/sock_tool"
d=$(mktemp -d /tmp/vfagent-proto.XXXXXX)
pid= wpid= spid=
trap 'kill $pid $wpid $spid 2>/dev/null; rm -rf "$d"' EXIT
printf '[pool p]\npf = vfa-nosuch0\nvfs = 2\n' >"$d/c.conf"
"$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" serve 2>"$d/log" &
pid=$!
sock=$d/st/vfagent.sock
for i in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.05; done
check proto.socket "no socket after 5 s: $(cat $d/log)" [ -S "$sock" ]

jq_ok() { printf '%s\n' "$1" | jq -e "$2" >/dev/null 2>&1; }

out=$("$S" "$sock" '{"op":"hello"}\n' 2>&1)
check proto.hello "$out" jq_ok "$out" '.ok and .v == 1 and .result.v == 1 and (.result.version | type == "string") and (.result.ops | index("watch") != null)'
out=$("$S" "$sock" '{"op":"status","v":2,"id":"x"}\n' 2>&1)
check proto.version_refused "$out" jq_ok "$out" '(.ok | not) and .exit == 2 and .errno == "EPROTONOSUPPORT" and .v == 1 and .id == "x"'
out=$("$S" "$sock" '{"op":"status","v":1}\n' 2>&1)
check proto.version_1 "$out" jq_ok "$out" '.ok and .v == 1'

# Pipelined on one connection: replies in request order, each with its id.
out=$("$W" "$sock" call '{"op":"status","id":"a"}' '{"op":"nope","id":7}' '{"op":"hello","id":"c"}' 2>&1)
check proto.id_pipelined "$out" sh -c "[ \"\$(printf '%s\n' '$out' | jq -c '[.id, .ok]' | tr -d '\n')\" = '[\"a\",true][7,false][\"c\",true]' ]"
out=$("$S" "$sock" '{"op":"status","id":{"x":1}}\n' 2>&1)
check proto.id_type "$out" jq_ok "$out" '(.ok | not) and .exit == 2 and (.error | test("id"))'

# watch: the reply, then the snapshot of the whole state.
out=$("$W" "$sock" watch 0 2>&1)
check proto.watch_snapshot "$out" jq_ok "$out" '.event == "snapshot" and (.seq | type == "number") and .pools[0].pool == "p" and .pools[0].pfs[0].pf == "vfa-nosuch0" and .pools[0].pfs[0].present == false and .pools[0].pfs[0].up == false and .pools[0].vfs == []'

# A lease appearing in and leaving the journal: two lease events.
lease() {	# PCI ID: the journal record of a ready lease for pool p
	jrec "$(printf '{"id":"%s","state":"ready","pool":"p","pf":"vfa-nosuch0","pf_pci":"0000:00:01.0","vf":0,"pci":"%s","iommu_group":-1,"mac":"02:00:00:00:00:01","vlan":0,"qos":0,"domain":null,"attached":false,"persistent":false,"holder":"k8s:vfagent.io/net1","pid":1,"created":1}' "$2" "$1")"
}
"$W" "$sock" watch 2 >"$d/w.out" 2>&1 &
wpid=$!
for i in $(seq 1 50); do [ -s "$d/w.out" ] && break; sleep 0.1; done
lease 0000:00:02.1 00000000000000a1 | jappend "$d/st"
"$S" "$sock" '{"op":"status"}\n' >/dev/null 2>&1
jdrop "$d/st" 0000:00:02.1
"$S" "$sock" '{"op":"status"}\n' >/dev/null 2>&1
wait $wpid; rc=$? wpid=
ev=$(tail -n +2 "$d/w.out" | jq -c '[.event, .change, .lease.id, .lease.holder]' 2>&1 | tr -d '\n')
seqs=$(jq -r .seq "$d/w.out" 2>/dev/null | tr '\n' ' ')
check proto.watch_lease_events "rc=$rc $ev (seq $seqs)" sh -c "[ $rc = 0 ] && [ '$ev' = '[\"lease\",\"added\",\"00000000000000a1\",\"k8s:vfagent.io/net1\"][\"lease\",\"removed\",\"00000000000000a1\",\"k8s:vfagent.io/net1\"]' ]"
check proto.watch_seq "seq $seqs" sh -c "set -- $seqs; [ \$2 = \$((\$1 + 1)) ] && [ \$3 = \$((\$1 + 2)) ]"

# A request that calls libvirt runs in a worker process; its reply keeps
# the connection's request order and carries its id.
out=$("$W" "$sock" call '{"op":"release","domain":"nosuch-vm","id":1}' '{"op":"hello","id":2}' 2>&1)
check proto.worker_order "$out $(grep 'worker' $d/log | tail -n 2)" sh -c "[ \"\$(printf '%s\n' '$out' | jq -c '[.id, .exit]' | tr -d '\n')\" = '[1,1][2,0]' ] && grep -q 'release running in worker' $d/log"
out=$("$S" "$sock" '{"op":"release","domain":"nosuch-vm"}\n' 2>&1)
check proto.worker_error "$out" jq_ok "$out" '(.ok | not) and .exit == 1 and (.error | test("no lease matches"))'

# A watcher that reads nothing: dropped past the cap, overflow last.
"$W" "$sock" stall "$d/go" >"$d/s.out" 2>&1 &
spid=$!
sleep 0.3
n=0
for k in $(seq 10 59); do lease "0000:$k:00.0" "00000000000000$k"; done >"$d/add"
for k in $(seq 10 59); do jrec "{\"drop\":\"0000:$k:00.0\"}"; done >"$d/del"
while ! grep -q 'watcher too slow' "$d/log" && [ $n -lt 60 ]; do
	jappend "$d/st" <"$d/add"
	"$S" "$sock" '{"op":"status"}\n' >/dev/null 2>&1
	jappend "$d/st" <"$d/del"
	"$S" "$sock" '{"op":"status"}\n' >/dev/null 2>&1
	n=$((n + 1))
done
touch "$d/go"
wait $spid; rc=$? spid=
check proto.watch_overflow "rc=$rc rounds=$n $(cat $d/s.out) $(grep 'too slow' $d/log)" sh -c "[ $rc = 0 ] && grep -q 'watcher too slow' $d/log && jq -e '.event == \"overflow\"' '$d/s.out' >/dev/null"
# The daemon still serves, its memory given back.
out=$("$S" "$sock" '{"op":"hello"}\n' 2>&1)
check proto.after_overflow "$out" jq_ok "$out" '.ok'
kill -TERM $pid; wait $pid; rc=$? pid=
check proto.sigterm "rc=$rc" [ $rc = 0 ]
