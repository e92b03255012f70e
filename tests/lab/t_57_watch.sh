# watch on real VFs (doc/PROTOCOL.md): a watcher (the public client
# library, tests/lab/watch_tool.c) sees the snapshot, alloc/release lease
# events, the PF going down (pf event, VFs unhealthy) and up again
# (healthy); alloc --pci takes exactly that VF; --holder is journaled,
# shown by status and released by release --holder.
. tests/lab/lib.sh
V="${VFAGENT:-$PWD/vfagent}" W="$PWD/tests/lab/watch_tool"
set -- $(lab_pf) || { fail "watch.pf: no SR-IOV PF"; exit 0; }
pf=$1 dev=/sys/class/net/$1/device
out=${VFAGENT_LAB_OUT:-/tmp}/watch
mkdir -p "$out"
conf=$out/vfagent.conf st=/run/vfagent-watch log=$out/daemon.log w=$out/events
printf '[pool net1]\npf = %s\nvfs = 7\n' "$pf" >"$conf"
va() { "$V" -c "$conf" -s "$st" "$@"; }
dpid= wpid=
trap 'kill $wpid $dpid 2>/dev/null; ip link set "$pf" up 2>/dev/null' EXIT
# Bounded wait until the event file has a line matching a jq filter.
# (jq -e's status follows the last line only: count the matches instead.)
seen() { [ -n "$(jq -c "select($1) | .seq" "$w" 2>/dev/null)" ]; }
wait_ev() { for i in $(seq 1 150); do seen "$1" && return 0; sleep 0.1; done; return 1; }

rm -rf "$st"; : >"$log"
va setup >/dev/null 2>&1; check watch.setup "setup failed" [ $? = 0 ]
va serve >>"$log" 2>&1 &
dpid=$!
for i in $(seq 1 100); do [ -S "$st/vfagent.sock" ] && break; sleep 0.1; done
check watch.daemon "$(cat $log)" [ -S "$st/vfagent.sock" ]
"$W" "$st/vfagent.sock" watch 100000 120000 >"$w" 2>"$out/watch.err" &
wpid=$!
wait_ev '.event == "snapshot"'
check watch.snapshot "$(head -c 600 $w) $(cat $out/watch.err)" \
	seen '.event == "snapshot" and (.pools[0].vfs | length) == 7 and ([.pools[0].vfs[].health] | unique) == ["healthy"] and .pools[0].pfs[0].up'

# alloc --pci: exactly that VF; the holder journaled; the watcher sees it.
vf3=$(basename "$(readlink -f "$dev/virtfn3")")
a=$(va --json alloc --pool net1 --pci "$vf3" --holder k8s:vfagent.io/net1 2>&1)
check watch.alloc_pci "$a" sh -c "echo '$a' | jq -e '.pci == \"$vf3\" and .holder == \"k8s:vfagent.io/net1\"' >/dev/null"
id=$(echo "$a" | jq -r .id 2>/dev/null)
va alloc --pool net1 --pci "$vf3" >"$out/again.out" 2>&1; rc=$?
check watch.alloc_pci_taken "rc=$rc $(cat $out/again.out)" sh -c "[ $rc = 3 ] && grep -q '$id' $out/again.out"
s=$(va status 2>&1)
check watch.status_holder "$s" sh -c "echo '$s' | grep '$id' | grep -q 'holder k8s:vfagent.io/net1'"
wait_ev ".event == \"lease\" and .change == \"added\" and .lease.id == \"$id\" and .lease.holder == \"k8s:vfagent.io/net1\""
check watch.lease_added "$(tail -n 3 $w)" seen ".event == \"lease\" and .change == \"added\" and .lease.id == \"$id\""
check watch.vf_leased "$(tail -n 3 $w)" seen ".event == \"vf\" and .vf.pci == \"$vf3\" and .vf.lease.id == \"$id\""
r=$(va --json release --holder k8s:vfagent.io/net1 2>&1)
check watch.release_holder "$r" sh -c "echo '$r' | jq -e '.released[0].id == \"$id\"' >/dev/null"
wait_ev ".event == \"lease\" and .change == \"removed\" and .lease.id == \"$id\""
check watch.lease_removed "$(tail -n 3 $w)" seen ".event == \"lease\" and .change == \"removed\" and .lease.id == \"$id\""

# The PF down: a pf event and every VF unhealthy; up: healthy again.
n0=$(wc -l <"$w")
ip link set "$pf" down
wait_ev '.event == "pf" and .up == false'
check watch.pf_down "$(tail -n 2 $w)" seen '.event == "pf" and .up == false and .present'
wait_ev '.event == "vf" and .vf.health == "unhealthy"'
u=$(tail -n +$((n0 + 1)) "$w" | jq -r 'select(.event == "vf" and .vf.health == "unhealthy") | .vf.pci' | sort -u | wc -l)
check watch.vfs_unhealthy "$u of 7" [ "$u" = 7 ]
n1=$(wc -l <"$w")
ip link set "$pf" up
wait_ev '.event == "pf" and .up == true'
check watch.pf_up "$(tail -n 2 $w)" seen '.event == "pf" and .up == true'
for i in $(seq 1 150); do
	h=$(tail -n +$((n1 + 1)) "$w" | jq -r 'select(.event == "vf" and .vf.health == "healthy") | .vf.pci' | sort -u | wc -l)
	[ "$h" = 7 ] && break; sleep 0.1
done
check watch.vfs_healthy "$h of 7" [ "$h" = 7 ]
seqs=$(jq -r .seq "$w" | tr '\n' ' ')
check watch.seq_dense "$seqs" sh -c "set -- $seqs; p=\$1; shift; for s; do [ \$s = \$((p + 1)) ] || exit 1; p=\$s; done"
kill $wpid 2>/dev/null; wpid=
kill -TERM $dpid; wait $dpid; dpid=
