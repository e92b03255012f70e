# pci/ and vfio/ against the real igb PF, its 7 VFs, vfio-pci and VT-d.
# Everything goes through our code (tests/lab/pv_tool); sysfs is read
# directly only to compare with what the kernel shows. Prints
# "TIME name=ms" lines (not tests) for bind, node appearance and chown.
. tests/lab/lib.sh
T=tests/lab/pv_tool
set -- $(lab_pf) || true
pfpci=${2:-}
if [ -z "$pfpci" ]; then fail "pv.pf: no SR-IOV capable netdev in the guest"; exit 0; fi
if [ ! -x $T ]; then fail "pv.tool: $T not built (run make)"; exit 0; fi
dev=/sys/bus/pci/devices/$pfpci
out=${VFAGENT_LAB_OUT:-/tmp}/pv
mkdir -p "$out"
# Test user for the nodes: what libvirt uses on Debian, else nobody.
owner=libvirt-qemu:kvm
getent passwd libvirt-qemu >/dev/null && getent group kvm >/dev/null || owner=nobody:nogroup
own_ids="$(id -u ${owner%%:*}):$(getent group ${owner#*:} | cut -d: -f3)"

r=$($T check); check pv.check_host "$r" [ "$r" = ok ]
r=$($T ident $pfpci)
check pv.ident_pf "got: $r" [ "${r%% *}" = 8086:10c9 ]

# -- VFs, autoprobe off, created through vfio_set_numvfs
t0=$(now_ms)
r=$($T setnumvfs $pfpci 7 0)
echo "TIME create_7_vfs_ms=$(( $(now_ms) - t0 ))"
check pv.setnumvfs "$r" [ "$(cat $dev/sriov_numvfs)" = 7 ]
check pv.autoprobe_off "sriov_drivers_autoprobe=$(cat $dev/sriov_drivers_autoprobe)" \
	[ "$(cat $dev/sriov_drivers_autoprobe)" = 0 ]
n=0; for v in $dev/virtfn*; do [ -e $v/driver ] && n=$((n + 1)); done
check pv.vfs_unbound "$n VFs got a host driver despite autoprobe off" [ $n = 0 ]
r=$($T numvfs $pfpci); check pv.numvfs_read "got $r" [ "$r" = 7 ]
# Changing a non-zero count goes through 0 (the kernel refuses 7 -> 3).
r=$($T setnumvfs $pfpci 3 0)
check pv.setnumvfs_change "$r; numvfs=$(cat $dev/sriov_numvfs)" [ "$(cat $dev/sriov_numvfs)" = 3 ]
r=$($T setnumvfs $pfpci 7 0)
check pv.setnumvfs_back "$r" [ "$(cat $dev/sriov_numvfs)" = 7 ]

# -- config space: our capability parse and VF math against the kernel
r=$($T sriov $pfpci)
echo "sriov: $r"
check pv.sriov_num "$r" [ "$(echo "$r" | grep -o 'num=[0-9]*')" = num=7 ]
check pv.sriov_enable "$r" [ "$(echo "$r" | grep -o 'enable=[0-9]')" = enable=1 ]
check pv.sriov_offset_stride "$r vs sysfs $(cat $dev/sriov_offset)/$(cat $dev/sriov_stride)" \
	[ "$(echo "$r" | grep -o 'offset=[0-9]* stride=[0-9]*')" = "offset=$(cat $dev/sriov_offset) stride=$(cat $dev/sriov_stride)" ]
check pv.sriov_vf_device "$r" [ "$(echo "$r" | grep -o 'vf_device=[0-9a-f]*')" = "vf_device=$(cat $dev/sriov_vf_device)" ]
$T vfaddrs $pfpci >"$out/computed"
: >"$out/kernel"; : >"$out/ours_virtfn"
for i in 0 1 2 3 4 5 6; do
	echo "$i $(basename "$(readlink $dev/virtfn$i)")" >>"$out/kernel"
	echo "$i $($T virtfn $pfpci $i)" >>"$out/ours_virtfn"
done
check pv.vf_addrs_eq_virtfn "computed: $(cat "$out/computed" | tr '\n' ' ') kernel: $(cat "$out/kernel" | tr '\n' ' ')" \
	cmp -s "$out/computed" "$out/kernel"
check pv.vfio_virtfn "$(cat "$out/ours_virtfn" | tr '\n' ' ')" cmp -s "$out/ours_virtfn" "$out/kernel"
vfs=$(cut -d' ' -f2 "$out/kernel" | tr '\n' ' ')
bad=
i=0; for v in $vfs; do
	r=$($T vfpf $v); [ "$r" = "$pfpci $i" ] || bad="$bad $v:$r"; i=$((i + 1))
done
check pv.vf_pf "wrong:$bad" [ -z "$bad" ]
r=$($T ident ${vfs%% *})
check pv.ident_vf "got: $r" [ "${r%% *}" = 8086:10ca ]
# Non-root: the kernel shows only 64 bytes of config space.
if command -v setpriv >/dev/null; then
	r=$(setpriv --reuid=65534 --regid=65534 --clear-groups $T sriov $pfpci)
	check pv.sriov_nonroot_eacces "got: $r" [ "${r%%:*}" = "error -13" ]
else
	skip "pv.sriov_nonroot_eacces: no setpriv"
fi

# -- bind all 7 to vfio-pci; a waiter started before each bind sees the
# node appear by inotify. armed PID: the waiter has both watches (the /dev
# root and /dev/vfio) in place, so the bind cannot overtake it.
armed() {
	k=0 want=1
	[ -d /dev/vfio ] && want=2
	while [ $k -lt 2000 ]; do
		[ "$(cat /proc/$1/fdinfo/* 2>/dev/null | grep -c '^inotify wd')" -ge $want ] && return 0
		kill -0 $1 2>/dev/null || return 1
		k=$((k + 1))
	done
	return 1
}
# node_ms WAITOUT BINDOUT: from the start of vfio_bind() to the waiter's
# wake-up (both wall-clock ms from pv_tool).
node_ms() {
	e=$(sed -n 's/.*end=//p' "$1"); s=$(echo "$2" | sed -n 's/.*start=//p')
	[ -n "$e" ] && [ -n "$s" ] && echo $((e - s)) || echo x
}
bind_ms= node_ms= groups= bad=
for v in $vfs; do
	g=$($T group $v) || { bad="$bad $v:nogroup($g)"; continue; }
	groups="$groups $g"
	[ -e /dev/vfio/$g ] && bad="$bad $v:node-before-bind"
	$T wait $g 10000 >"$out/wait.$g" &
	wpid=$!
	armed $wpid || bad="$bad $v:waiter-not-armed"
	r=$($T bind $v vfio-pci) || bad="$bad $v:$r"
	wait $wpid || bad="$bad $v:wait:$(cat "$out/wait.$g")"
	b=${r#ms=}; bind_ms="$bind_ms ${b%% *}"
	node_ms="$node_ms $(node_ms "$out/wait.$g" "$r")"
done
echo "TIME bind_ms=$(echo $bind_ms | tr ' ' ',')"
echo "TIME node_appear_ms=$(echo $node_ms | tr ' ' ',') (vfio_bind() start to the waiter's inotify wake-up)"
check pv.bind_all "failures:$bad" [ -z "$bad" ]
n=0; for v in $vfs; do [ "$(basename "$(readlink /sys/bus/pci/devices/$v/driver)")" = vfio-pci ] && n=$((n + 1)); done
check pv.bound_7 "$n of 7 bound to vfio-pci" [ $n = 7 ]
n=0; for g in $groups; do [ -c /dev/vfio/$g ] && n=$((n + 1)); done
check pv.nodes_7 "$n of 7 /dev/vfio/N are char devices" [ $n = 7 ]
r=$(for v in $vfs; do $T bind $v vfio-pci >/dev/null || echo "$v"; done)
check pv.bind_idempotent "rebinding failed for: $r" [ -z "$r" ]
bad=; for g in $groups; do r=$($T viable $g) || bad="$bad $g:$r"; done
check pv.viable_7 "$bad" [ -z "$bad" ]
r=$($T wait ${groups##* } 1000)
check pv.wait_present "$r" [ "${r%%=*}" = ms ]
r=$($T wait 9999 300)
check pv.wait_timeout "got: $r" [ "${r%%:*}" = "error -110" ]

# -- ownership: to the VM user and back
chown_ms= bad=
for g in $groups; do
	r=$($T chown $g $owner 0660) || bad="$bad $g:$r"
	chown_ms="$chown_ms ${r#ms=}"
	s=$(stat -c '%u:%g %a' /dev/vfio/$g)
	[ "$s" = "$own_ids 660" ] || bad="$bad $g:is($s)"
	[ "$($T stat $g)" = "$own_ids 0660" ] || bad="$bad $g:stat($($T stat $g))"
done
echo "TIME chown_ms=$(echo $chown_ms | tr ' ' ',')"
check pv.chown_to_user "$owner 0660:$bad" [ -z "$bad" ]
bad=
for g in $groups; do
	r=$($T chown $g root:root 0600) || bad="$bad $g:$r"
	s=$(stat -c '%u:%g %a' /dev/vfio/$g)
	[ "$s" = "0:0 600" ] || bad="$bad $g:is($s)"
done
check pv.chown_back "$bad" [ -z "$bad" ]
r=$($T chown 99999 root:root 0600)
check pv.chown_absent "got: $r" [ "${r%%:*}" = "error -2" ]

# -- one VF to igbvf and back
v0=${vfs%% *} g0=${groups# }; g0=${g0%% *}
t0=$(now_ms)
r=$($T bind $v0 igbvf)
echo "TIME rebind_igbvf_ms=$(( $(now_ms) - t0 ))"
check pv.rebind_igbvf "$r; driver now $($T driver $v0)" [ "$($T driver $v0)" = igbvf ]
check pv.node_gone_on_igbvf "/dev/vfio/$g0 still there" [ ! -e /dev/vfio/$g0 ]
r=$($T viable $g0)
check pv.viable_reports_igbvf "got: $r" sh -c "echo '$r' | grep -q 'error -16:.*$v0 (igbvf)'"
$T wait $g0 10000 >"$out/wait.re" &
wpid=$!
armed $wpid || fail "pv.rebind_waiter: the waiter never armed"
r=$($T bind $v0 vfio-pci)
wait $wpid; wrc=$?
b=${r#ms=}
echo "TIME rebind_vfio_ms=${b%% *} node_reappear_ms=$(node_ms "$out/wait.re" "$r")"
check pv.rebind_vfio "$r" [ "$($T driver $v0)" = vfio-pci ]
check pv.node_reappears "$(cat "$out/wait.re")" [ $wrc = 0 ]

# -- bogus drivers
v1=$(echo $vfs | cut -d' ' -f2)
r=$($T bind $v1 no-such-driver)
echo "bogus: $r"
check pv.bind_bogus_driver "got: $r" sh -c "echo '$r' | grep -q '^error -2:.*no-such-driver is not registered'"
check pv.bogus_left_bound "driver now $($T driver $v1)" [ "$($T driver $v1)" = vfio-pci ]
# A bogus override written behind our back: the VF ends up driverless;
# we say so, and our bind recovers it.
echo no-such-driver >/sys/bus/pci/devices/$v1/driver_override
echo $v1 >/sys/bus/pci/devices/$v1/driver/unbind
echo $v1 >/sys/bus/pci/drivers_probe 2>/dev/null
r=$($T driver $v1)
check pv.bogus_override_unbound "driver: $r" [ "$r" = "(none)" ]
r=$($T bind $v1 vfio-pci)
check pv.bogus_override_recovered "$r; driver $($T driver $v1)" [ "$($T driver $v1)" = vfio-pci ]

# -- reset_method is reported
r=$($T reset $v0)
echo "reset_method $v0: $r"
check pv.reset_method "got: $r (sysfs: $(cat /sys/bus/pci/devices/$v0/reset_method 2>&1))" \
	[ "$r" = "$(cat /sys/bus/pci/devices/$v0/reset_method 2>/dev/null || echo '(none)')" ]

# -- leave nothing behind
r=$($T setnumvfs $pfpci 0 1)
check pv.numvfs_zero "$r; numvfs=$(cat $dev/sriov_numvfs)" [ "$(cat $dev/sriov_numvfs)" = 0 ]
check pv.autoprobe_restored "autoprobe=$(cat $dev/sriov_drivers_autoprobe)" [ "$(cat $dev/sriov_drivers_autoprobe)" = 1 ]
n=$(ls /dev/vfio 2>/dev/null | grep -c '^[0-9]')
check pv.nodes_gone "$n /dev/vfio nodes left" [ "$n" = 0 ]
