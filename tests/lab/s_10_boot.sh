# Under systemd (run.sh --systemd --prep tests/lab/s_prep.sh): the host came
# up ready with no manual step. vfagent-setup.service ran after the PF's
# device unit and before libvirtd; libvirtd started the autostart domain
# l2boot with its VF attached; the PF is up without addresses; the daemon
# started after libvirtd and answers; the package (or make install) put
# everything where it belongs.
. tests/lab/lib.sh
o=${VFAGENT_LAB_OUT:-/tmp}
[ "$(cat /proc/1/comm)" = systemd ] || { skip "sd.boot: not booted with systemd (run.sh --systemd)"; exit 0; }
read pfpci vfpci <"$o/boot-pci" || { fail "sd.boot: s_prep.sh left no $o/boot-pci"; exit 0; }
from=$(cat "$o/installed-from" 2>/dev/null)
pf=$(ls /sys/bus/pci/devices/$pfpci/net 2>/dev/null | head -n1)
prop() { systemctl show -P "$2" "$1"; }

r=$(prop vfagent-setup.service Result); a=$(prop vfagent-setup.service ActiveState)
check sd.setup_ran "setup: $a/$r: $(journalctl -b -u vfagent-setup --no-pager -q | tail -n3)" [ "$a/$r" = active/success ]
dev=$(systemd-escape --path --suffix=device /sys/subsystem/net/pci/$pfpci)
check sd.setup_after_pf "After= of vfagent-setup lacks $dev (generator drop-in)" \
	sh -c "systemctl show -P After vfagent-setup.service | tr ' ' '\n' | grep -qx '$dev'"
check sd.pf_device_unit "$dev: $(prop "$dev" ActiveState)" [ "$(prop "$dev" ActiveState)" = active ]
# A PF named by its netdev: the generator's unit for it exists and is active.
mkdir -p /tmp/gen && printf '[pool x]\npf = %s\n' "$pf" >/tmp/gen/vfagent.conf
VFAGENT_CONFIG=/tmp/gen/vfagent.conf /lib/systemd/system-generators/vfagent-generator /tmp/gen/out
u=$(sed -n 's/^Wants=//p' /tmp/gen/out/vfagent-setup.service.d/50-pfs.conf 2>/dev/null)
check sd.pf_device_unit_by_name "generator gave \"$u\" for $pf: $(prop "$u" ActiveState 2>&1)" \
	[ "$u" = "sys-subsystem-net-devices-$pf.device" -a "$(prop "$u" ActiveState 2>&1)" = active ]
check sd.setup_before_libvirtd "Before= of vfagent-setup: $(prop vfagent-setup.service Before)" \
	sh -c "systemctl show -P Before vfagent-setup.service | tr ' ' '\n' | grep -qx libvirtd.service"
# The order it really ran in: setup finished before libvirtd started, and
# the daemon started after both.
s_done=$(prop vfagent-setup.service ExecMainExitTimestampMonotonic)
l_start=$(prop libvirtd.service ExecMainStartTimestampMonotonic)
d_start=$(prop vfagent.service ExecMainStartTimestampMonotonic)
check sd.order_setup_libvirtd "setup done at $s_done us, libvirtd started at $l_start us" \
	[ "${s_done:-0}" -gt 0 -a "${l_start:-0}" -gt "${s_done:-0}" ]
check sd.order_libvirtd_daemon "libvirtd started at $l_start us, vfagent at $d_start us" \
	[ "${d_start:-0}" -gt "${l_start:-0}" ]

# The autostart domain runs with its VF, no manual step.
st=$(virsh -c qemu:///system domstate l2boot 2>&1)
check sd.autostart_running "l2boot: $st; $(tail -n3 /var/log/libvirt/qemu/l2boot.log 2>/dev/null)" [ "$st" = running ]
a=$(printf '%s' "$vfpci" | sed 's/\(....\):\(..\):\(..\)\.\(.\)/domain=.0x\1. bus=.0x\2. slot=.0x\3. function=.0x\4./')
check sd.autostart_vf_attached "live XML of l2boot has no hostdev $vfpci" \
	sh -c "virsh -c qemu:///system dumpxml l2boot | grep -q \"<address $a/>\""
drv=$(basename "$(readlink /sys/bus/pci/devices/$vfpci/driver)" 2>/dev/null)
check sd.autostart_vf_vfio "VF $vfpci on driver $drv" [ "$drv" = vfio-pci ]

# The PF is up and carries no address (IPv4 nor IPv6 link-local).
check sd.pf_up "PF $pf: $(ip -br link show dev "$pf" 2>&1)" sh -c "ip -o link show dev '$pf' | grep -q '[<,]UP[,>]'"
addrs=$(ip -o addr show dev "$pf" 2>&1)
check sd.pf_no_address "PF $pf has: $addrs" [ -z "$addrs" ]

# The daemon: active (Type=notify: after READY=1), its socket answers.
check sd.daemon_active "vfagent.service: $(prop vfagent.service ActiveState)" [ "$(prop vfagent.service ActiveState)" = active ]
rep=$(tests/lab/sock_tool /run/vfagent/vfagent.sock '{"op":"status"}\n' 2>&1)
check sd.daemon_answers "socket reply: $rep" sh -c "printf '%s' '$rep' | jq -e '.ok == true and .result.pools[0].pool == \"net1\"' >/dev/null"
# Nobody ran alloc in this boot: the lease is rebuilt from l2boot's saved
# config (the daemon asks libvirt once it answers), so the VF is not free.
held=$(printf '%s' "$rep" | jq -r --arg p "$vfpci" '.result.pools[0].leases[] | select(.pci == $p) | .domain' 2>/dev/null)
check sd.autostart_lease_rebuilt "status leases: $(printf '%s' "$rep" | jq -c '.result.pools[0].leases' 2>&1)" [ "$held" = l2boot ]

# Installed as a user would have it.
if [ "$from" = deb ]; then
	check sd.deb_installed "$(dpkg -s vfagent 2>&1 | grep Status)" \
		sh -c "dpkg -s vfagent | grep -q '^Status: install ok installed'"
	check sd.deb_conffile "conffiles: $(dpkg-query -W -f='${Conffiles}' vfagent)" \
		sh -c "dpkg-query -W -f='\${Conffiles}' vfagent | grep -q /etc/vfagent/vfagent.conf"
else
	skip sd.deb_installed "no .deb was given (installed by make install)"
fi
for u in vfagent-setup.service vfagent.service; do
	check "sd.enabled_${u%.service}" "$u is $(systemctl is-enabled $u 2>&1)" [ "$(systemctl is-enabled $u 2>&1)" = enabled ]
done
check sd.sbin "$(command -v vfagent)" [ "$(command -v vfagent)" = /usr/sbin/vfagent ]
check sd.version "$(vfagent --version 2>&1)" sh -c "vfagent --version | grep -q '^vfagent [0-9]'"
check sd.man "man -w vfagent: $(man -w vfagent 2>&1); vfagent.conf: $(man -w 5 vfagent.conf 2>&1)" \
	sh -c 'man -w 8 vfagent >/dev/null && man -w 5 vfagent.conf >/dev/null'
if vfagent --help 2>&1 | grep -q '^  doctor'; then
	out=$(vfagent doctor 2>&1); rc=$?
	check sd.doctor "vfagent doctor exited $rc: $out" [ $rc = 0 ]
else
	skip sd.doctor "vfagent doctor is not in this tree yet"
fi
# Bash completion: commands, pools from the config, PFs.
comp() {	# comp WORD...: completions of the last word
	bash -c '. /usr/share/bash-completion/completions/vfagent
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vfagent; printf "%s\n" "${COMPREPLY[@]}"' x "$@"
}
c=$(comp vfagent al | tr '\n' ' ')
check sd.complete_cmd "vfagent al<TAB>: $c" [ "$c" = "alloc " ]
c=$(comp vfagent alloc --pool '' | tr '\n' ' ')
check sd.complete_pool "vfagent alloc --pool <TAB>: $c" [ "$c" = "net1 " ]
c=$(comp vfagent list '' | tr '\n' ' ')
check sd.complete_pf "vfagent list <TAB>: $c" sh -c "echo '$c' | grep -qw '$pf' && echo '$c' | grep -qw '$pfpci'"
c=$(comp vfagent release --pc | tr '\n' ' ')
check sd.complete_opts "vfagent release --pc<TAB>: $c" [ "$c" = "--pci " ]
