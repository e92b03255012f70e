# The lease's owner is journaled with the lease, before the hardware is
# touched: a daemon killed -9 right after the "ready" record
# (VFAGENT_CRASH_AT=ready) leaves a lease that its allocating uid may still
# release through the next daemon, and another user may not. (Before, the
# owner went to owners/<lease id> after the ready record: this crash left a
# lease with no owner, which only root could release.)
# VFAGENT=PATH runs another build.
. tests/lab/lib.sh
. tests/lab/journal.sh
lab_setup owner || exit 0
log=$out/daemon.log
nob=$(id -g nobody)
lab_conf net1 2
printf '[serve]\nallow-users = daemon bin\ncdi-dir =\nmetrics-file =\n' >>"$conf"
as() { who=$1; shift; setpriv --reuid "$who" --regid "$nob" --clear-groups "$@"; }
leased() { va --direct --json status | jq '.pools[0].leased'; }
rm -rf "$st"; : >"$log"
va setup >/dev/null 2>&1; check owner.setup "setup failed" [ $? = 0 ]

export VFAGENT_CRASH_AT=ready
lab_serve "$log"; check owner.daemon_starts "$(tail -n3 $log)" [ $? = 0 ]
unset VFAGENT_CRASH_AT
chmod 755 "$st"
as daemon "$V" -c "$conf" -s "$st" --json alloc --pool net1 --vlan 12 >"$out/a.json" 2>&1
wait "$dpid" 2>/dev/null; rc=$?
lease=$(jleases "$st" | head -n1)
pci=$(echo "$lease" | jq -r .pci 2>/dev/null)
check owner.crashed_after_ready "daemon rc=$rc lease=$lease" \
	sh -c "[ $rc = 137 ] && [ \"\$(echo '$lease' | jq -r .state)\" = ready ]"
check owner.journaled "lease=$lease" [ "$(echo "$lease" | jq -r .owner 2>/dev/null)" = "$(id -u daemon)" ]

lab_serve "$log"; check owner.daemon_restarts "$(tail -n3 $log)" [ $? = 0 ]
as bin "$V" -c "$conf" -s "$st" release --pci "$pci" >"$out/r1.out" 2>&1; rc=$?
check owner.other_denied "rc=$rc n=$(leased) $(cat $out/r1.out)" \
	sh -c "[ $rc = 5 ] && grep -q 'belongs to uid $(id -u daemon)' $out/r1.out && [ $(leased) = 1 ]"
as daemon "$V" -c "$conf" -s "$st" release --pci "$pci" >"$out/r2.out" 2>&1; rc=$?
check owner.crash_window_owner_releases "rc=$rc n=$(leased) $(cat $out/r2.out)" \
	sh -c "[ $rc = 0 ] && [ $(leased) = 0 ]"
check owner.no_owners_dir "$(ls -la $st)" [ ! -e "$st/owners" ]
lab_serve_stop
va release --pci "$pci" >/dev/null 2>&1
