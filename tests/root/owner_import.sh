# Upgrade: the owners/ dir of a daemon from before the owner was a lease
# field (owners/<lease id> = the uid that allocated it) is imported into
# the journal on the first open, then removed; the daemon then applies the
# release rule from the journal: the importing uid's lease is its own,
# another user is refused. On the host without SR-IOV (the PF is missing).
# VFAGENT_BIN=PATH runs another build.
. tests/lab/lib.sh
. tests/lab/journal.sh
V=${VFAGENT_BIN:-$PWD/vfagent}
d=$(mktemp -d /tmp/vfagent-owner.XXXXXX)
trap 'kill $dpid 2>/dev/null; rm -rf "$d"' EXIT
chmod 755 "$d"
printf '[pool p]\npf = vfa-nosuch0\nvfs = 3\n[serve]\nallow-users = daemon bin\ncdi-dir =\nmetrics-file =\n' >"$d/c.conf"
mkdir -m 0755 "$d/st"
mkdir -m 0700 "$d/st/owners"
jput "$d/st" "$(jlease 0000:00:02.1 00000000000000a1)"
jput "$d/st" "$(jlease 0000:00:02.2 00000000000000a2)"
echo "$(id -u daemon)" >"$d/st/owners/00000000000000a1"
echo 5 >"$d/st/owners/00000000000000ff"	# a lease gone
va() { "$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" "$@"; }
as() { who=$1; shift; setpriv --reuid "$who" --regid "$(id -g nobody)" --clear-groups "$@"; }
owner_of() { jleases "$d/st" | jq -r "select(.id == \"$1\") | .owner"; }

va --direct --json status >"$d/s.json" 2>"$d/s.err"; rc=$?
check owner_import.status "rc=$rc $(cat $d/s.err)" [ $rc = 0 ]
check owner_import.journaled "a1: $(owner_of 00000000000000a1), a2: $(owner_of 00000000000000a2)" \
	sh -c "[ '$(owner_of 00000000000000a1)' = $(id -u daemon) ] && [ '$(owner_of 00000000000000a2)' = null ]"
check owner_import.dir_gone "$(ls -la $d/st)" [ ! -e "$d/st/owners" ]
check owner_import.in_status "$(jq -c '[.pools[0].leases[] | {id, owner}]' $d/s.json)" \
	sh -c "jq -e '[.pools[0].leases[] | select(.id == \"00000000000000a1\") | .owner] == [$(id -u daemon)]' $d/s.json >/dev/null"
n0=$(wc -l <"$d/st/journal")
va --direct status >/dev/null 2>&1
check owner_import.once "journal lines $n0 -> $(wc -l <$d/st/journal)" [ "$(wc -l <"$d/st/journal")" = "$n0" ]

"$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" serve >"$d/log" 2>&1 &
dpid=$!
for i in $(seq 1 100); do [ -S "$d/st/vfagent.sock" ] && break; sleep 0.05; done
chmod 755 "$d/st"
as bin "$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" release --lease 00000000000000a1 >"$d/r1" 2>&1; rc=$?
check owner_import.other_denied "rc=$rc $(cat $d/r1)" sh -c "[ $rc = 5 ] && grep -q 'belongs to uid $(id -u daemon)' $d/r1"
as daemon "$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" release --lease 00000000000000a2 >"$d/r2" 2>&1; rc=$?
check owner_import.unowned_denied "rc=$rc $(cat $d/r2)" sh -c "[ $rc = 5 ] && grep -q 'no recorded owner' $d/r2"
as daemon "$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" release --lease 00000000000000a1 >"$d/r3" 2>&1; rc=$?
check owner_import.own_allowed "rc=$rc $(cat $d/r3) owner=$(owner_of 00000000000000a1)" \
	sh -c "[ $rc != 5 ] && ! grep -q 'permission denied' $d/r3"
kill -TERM $dpid; wait $dpid
