# Under systemd: the units as installed. Type=notify readiness, restart on
# failure, reload, and the hardening: every capability, writable path and
# address family the units allow is needed (dropping it in a drop-in makes
# the operation that needs it fail, nothing leased), and the full units work.
. tests/lab/lib.sh
o=${VFAGENT_LAB_OUT:-/tmp}/units
mkdir -p "$o"
[ "$(cat /proc/1/comm)" = systemd ] || { skip "sd.units: not booted with systemd (run.sh --systemd)"; exit 0; }
read pfpci vfpci <"${VFAGENT_LAB_OUT:-/tmp}/boot-pci" || { fail "sd.units: no boot-pci from s_prep.sh"; exit 0; }
conf=/etc/vfagent/vfagent.conf sock=/run/vfagent/vfagent.sock
prop() { systemctl show -P "$2" "$1"; }
# req JSON: one request to the daemon's socket, the reply on stdout.
req() { tests/lab/sock_tool "$sock" "$1\n" 2>&1; }
leased() { req '{"op":"status"}' | jq -r '.result.pools[0].leased'; }
dropin() {	# dropin UNIT TEXT: replace the test drop-in of UNIT (empty: remove)
	d=/run/systemd/system/$1.d
	mkdir -p "$d"
	if [ -n "$2" ]; then printf '[Service]\n%s\n' "$2" >"$d/zz-lab.conf"; else rm -f "$d/zz-lab.conf"; fi
	systemctl daemon-reload
	systemctl reset-failed "$1" 2>/dev/null	# the start rate limit too
}

# Type=notify: when `systemctl restart` returns the unit is active and the
# socket answers, with no wait in between.
systemctl restart vfagent.service
a=$(prop vfagent.service ActiveState); rep=$(req '{"op":"status"}')
check sd.notify_active "right after restart: $a" [ "$a" = active ]
check sd.notify_answers "right after restart the socket said: $rep" \
	sh -c "printf '%s' '$rep' | jq -e .ok >/dev/null"

# Restart=on-failure: kill -9 of the daemon, systemd starts a new one.
pid=$(prop vfagent.service MainPID); n0=$(prop vfagent.service NRestarts)
kill -9 "$pid"
for i in $(seq 1 100); do
	p2=$(prop vfagent.service MainPID)
	[ "$p2" != 0 ] && [ "$p2" != "$pid" ] && [ "$(prop vfagent.service ActiveState)" = active ] && break
	sleep 0.2
done
check sd.restart_on_kill "MainPID $pid -> $p2, NRestarts $n0 -> $(prop vfagent.service NRestarts)" \
	[ "$p2" != 0 -a "$p2" != "$pid" -a "$(prop vfagent.service NRestarts)" -gt "$n0" ]
check sd.restart_answers "after the restart: $(req '{"op":"status"}')" \
	sh -c "tests/lab/sock_tool $sock '{\"op\":\"status\"}\n' | jq -e .ok >/dev/null"

# systemctl reload: SIGHUP, the config reread, same process.
pid=$(prop vfagent.service MainPID)
cp "$conf" "$o/conf.orig"
sed -i 's/^\[pool net1\]/[pool reloaded]/' "$conf"
systemctl reload vfagent.service
for i in $(seq 1 50); do
	p=$(req '{"op":"status"}' | jq -r '.result.pools[0].pool')
	[ "$p" = reloaded ] && break
	sleep 0.2
done
check sd.reload_rereads "pool after reload: $p" [ "$p" = reloaded ]
check sd.reload_same_pid "MainPID $pid -> $(prop vfagent.service MainPID)" [ "$(prop vfagent.service MainPID)" = "$pid" ]
cp "$o/conf.orig" "$conf"
systemctl reload vfagent.service
for i in $(seq 1 50); do [ "$(req '{"op":"status"}' | jq -r '.result.pools[0].pool')" = net1 ] && break; sleep 0.2; done

# The full unit: alloc and release through the daemon work, lease-id
# completion sees the lease.
rep=$(req '{"op":"alloc","pool":"net1"}')
id=$(printf '%s' "$rep" | jq -r '.result.id // empty')
check sd.unit_alloc "alloc under the unit: $rep" [ -n "$id" ]
c=$(bash -c '. /usr/share/bash-completion/completions/vfagent
	COMP_WORDS=(vfagent release --lease ""); COMP_CWORD=3; _vfagent; printf "%s " "${COMPREPLY[@]}"')
check sd.complete_lease "vfagent release --lease <TAB>: $c; lease $id" sh -c "echo '$c' | grep -qw '$id'"
rep=$(req "{\"op\":\"release\",\"lease\":\"$id\"}")
check sd.unit_release "release under the unit: $rep" sh -c "printf '%s' '$rep' | jq -e .ok >/dev/null"

# Each capability of the daemon's bounding set, dropped: the operation that
# needs it fails and leaves nothing leased. CAP_SYS_ADMIN: list (config
# space); the others: alloc (VF settings, node owner, node mode).
all="CAP_NET_ADMIN CAP_SYS_ADMIN CAP_CHOWN"
for cap in $all; do
	keep=$(echo $all | tr ' ' '\n' | grep -vx $cap | tr '\n' ' ')
	dropin vfagent.service "CapabilityBoundingSet=
CapabilityBoundingSet=$keep"
	systemctl restart vfagent.service
	if [ $cap = CAP_SYS_ADMIN ]; then
		# list answers, with the PF's config space error in place of its VFs.
		rep=$(req '{"op":"list"}')
		check "sd.daemon_needs_$cap" "list without it: $rep" \
			sh -c "printf '%s' '$rep' | jq -e '.result.pfs[0].error | test(\"config space\")' >/dev/null"
		echo "  daemon without $cap, list: $(printf '%s' "$rep" | jq -r '.result.pfs[0].error')"
		continue
	fi
	# (l2boot's lease, rebuilt from its saved config at boot, stays.)
	n0=$(leased); rep=$(req '{"op":"alloc","pool":"net1"}'); n=$(leased)
	# Nothing half-done: the VF is back in the pool (vfio_node_chown needs
	# no CAP_FOWNER, so the rollback can always put the node back).
	check "sd.daemon_needs_$cap" "without it: $rep (leased $n0 -> $n)" \
		sh -c "printf '%s' '$rep' | jq -e '.ok == false' >/dev/null && [ '$n' = '$n0' ]"
	echo "  daemon without $cap: $(printf '%s' "$rep" | jq -r .error)"
done
# vfagent-setup.service needs CAP_SYS_ADMIN too (the SR-IOV capability).
dropin vfagent-setup.service "CapabilityBoundingSet=
CapabilityBoundingSet=CAP_NET_ADMIN CAP_CHOWN"
systemctl restart vfagent-setup.service 2>/dev/null
check sd.setup_needs_CAP_SYS_ADMIN "setup without it: $(prop vfagent-setup.service Result)" \
	[ "$(prop vfagent-setup.service Result)" != success ]
echo "  setup without CAP_SYS_ADMIN: $(journalctl -b -u vfagent-setup --no-pager -q -n1 -o cat)"
dropin vfagent-setup.service ""

# Writable paths: binding a VF to vfio-pci writes driver_override under
# /sys/devices and drivers_probe under /sys/bus/pci. A free VF taken off
# vfio-pci must be put back by alloc; with either path read-only it cannot.
vf0=$(vfagent --direct --json list | jq -r '.pfs[0].vfs[0].pci')
for need in /sys/devices /sys/bus/pci; do
	keep=/sys/devices; [ $need = /sys/devices ] && keep=/sys/bus/pci
	dropin vfagent.service "ReadWritePaths=
ReadWritePaths=$keep"
	systemctl restart vfagent.service
	[ -e /sys/bus/pci/devices/$vf0/driver ] && echo "$vf0" >/sys/bus/pci/devices/$vf0/driver/unbind
	n0=$(leased); rep=$(req '{"op":"alloc","pool":"net1"}'); n=$(leased)
	check "sd.daemon_needs_rw$(echo $need | tr / _)" "only $keep writable: $rep (leased $n0 -> $n)" \
		sh -c "printf '%s' '$rep' | jq -e '.ok == false' >/dev/null && [ '$n' = '$n0' ]"
	echo "  daemon with only $keep writable: $(printf '%s' "$rep" | jq -r .error)"
done
# Control: /sys is read-only only through ProtectKernelTunables=yes. With
# it off (as the unit had it before), no ReadWritePaths= at all still lets
# the daemon rebind: the paths above would then restrict nothing.
dropin vfagent.service "ProtectKernelTunables=no
ReadWritePaths="
systemctl restart vfagent.service
[ -e /sys/bus/pci/devices/$vf0/driver ] && echo "$vf0" >/sys/bus/pci/devices/$vf0/driver/unbind
rep=$(req '{"op":"alloc","pool":"net1"}')
id=$(printf '%s' "$rep" | jq -r '.result.id // empty')
check sd.sys_ro_needs_ProtectKernelTunables "with ProtectKernelTunables=no and no ReadWritePaths: $rep" [ -n "$id" ]
[ -n "$id" ] && req "{\"op\":\"release\",\"lease\":\"$id\"}" >/dev/null
# Address families: rtnetlink and the Unix socket, nothing else.
for fam in AF_UNIX AF_NETLINK; do
	other=AF_NETLINK; [ $fam = AF_NETLINK ] && other=AF_UNIX
	dropin vfagent.service "RestrictAddressFamilies=
RestrictAddressFamilies=$other"
	systemctl restart vfagent.service 2>/dev/null
	a=$(prop vfagent.service ActiveState)
	check "sd.daemon_needs_$fam" "with only $other the daemon is $a" [ "$a" != active ]
	echo "  daemon without $fam: $(journalctl -b -u vfagent --no-pager -q -o cat | grep -v '^vfagent.service\|Failed\|Stopped\|Started\|Starting\|Main process' | tail -n1)"
done
# Back to the unit as shipped: it rebinds the VF and allocs.
dropin vfagent.service ""
systemctl restart vfagent.service
rep=$(req '{"op":"alloc","pool":"net1"}')
id=$(printf '%s' "$rep" | jq -r '.result.id // empty')
drv=$(basename "$(readlink /sys/bus/pci/devices/$vf0/driver)")
check sd.unit_full_rebinds "shipped unit: $rep; $vf0 on $drv" [ -n "$id" -a "$drv" = vfio-pci ]
[ -n "$id" ] && req "{\"op\":\"release\",\"lease\":\"$id\"}" >/dev/null
