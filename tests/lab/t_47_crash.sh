# The crash matrix (tests/README.md): kill -9 at every crash point of
# setup, alloc and release (VFAGENT_CRASH_AT), and of `vfagent serve`
# before, during and after a libvirt attach and detach; then restart and
# check: 0 VFs leaked, 0 double leases, MAC/VLAN/node owner as the journal
# says, every lease's domain still holding what it held, no domain holding
# a VF without a lease. Prints "NOTE case: what the restart did".
. tests/lab/lib.sh
. tests/lab/libvirt.sh
. tests/lab/journal.sh
V=${VFAGENT_BIN:-$PWD/vfagent}
set -- $(lab_pf) || { fail "crash.pf: no SR-IOV PF"; exit 0; }
pf=$1 dev=/sys/class/net/$1/device N=3
out=${VFAGENT_LAB_OUT:-/tmp}/crash
mkdir -p "$out"
conf=$out/vfagent.conf st=/run/vfagent-crash pst=/run/vfagent-crash-persist log=$out/daemon.log
cat >"$conf" <<CONF
[libvirt]
uri = qemu:///system
[pool net1]
pf = $pf
vfs = $N
owner = libvirt-qemu:kvm
mode = 0660
CONF
pd=""; "$V" --help | grep -q persist-dir && pd="--persist-dir $pst"
va() { "$V" -c "$conf" -s "$st" $pd "$@"; }
# VFAGENT_CRASH_SECTIONS: which of setup alloc release serve (default all).
sections=${VFAGENT_CRASH_SECTIONS:-setup alloc release serve}
want() { case " $sections " in *" $1 "*) return 0 ;; esac; return 1; }
: >"$log"

# Host PCI functions a domain's XML hands its guest ($2: --inactive or "").
dom_vfs() {
	virsh dumpxml $2 "$1" 2>/dev/null | xmllint --xpath "//hostdev[@type='pci']/source/address" - 2>/dev/null |
		sed 's#/>#/>\n#g' |
		sed -n "s/.*domain=.0x\([0-9a-f]*\). bus=.0x\([0-9a-f]*\). slot=.0x\([0-9a-f]*\). function=.0x\([0-9a-f]*\).*/\1:\2:\3.\4/p"
}
# The invariants, after the restart. $1: case name. (Few processes: each
# costs under TCG.) l2 is only attached --live, pdom only --persistent.
inv() {
	name=$1 bad=""
	va --json status >"$out/st.json" 2>"$out/st.err" || { fail "$name: status: $(cat $out/st.err)"; return; }
	jq -r '.pools[0].leases[] | "\(.pci) \(.mac) \(.vlan) \(.state) \(.domain) \(.attached)"' \
		"$out/st.json" >"$out/ls.txt"
	d=$(cut -d' ' -f1 "$out/ls.txt" | sort | uniq -d); [ -z "$d" ] || bad="$bad double-lease:$d"
	held="$(dom_vfs l2 "" | sed 's/$/=l2/') $(dom_vfs pdom --inactive | sed 's/$/=pdom/')"
	ipd=$(ip -d link show "$pf")
	for i in $(seq 0 $((N - 1))); do
		x=$(readlink $dev/virtfn$i); pci=${x##*/}
		line=$(echo "$ipd" | grep "^ *vf $i ")
		mac=${line#*link/ether }; mac=${mac%% *}
		case $line in *"vlan "*) vlan=${line#*vlan }; vlan=${vlan%%,*} ;; *) vlan=0 ;; esac
		x=$(readlink /sys/bus/pci/devices/$pci/iommu_group); grp=${x##*/}
		x=$(readlink /sys/bus/pci/devices/$pci/driver); drv=${x##*/}
		own=$(stat -c '%U:%G_%a' /dev/vfio/$grp 2>/dev/null)
		doms=""; for h in $held; do [ "${h%%=*}" = "$pci" ] && doms="$doms ${h#*=}"; done
		l=$(grep "^$pci " "$out/ls.txt")
		if [ -z "$l" ]; then
			[ "$mac" = 00:00:00:00:00:00 -a "$vlan" = 0 ] || bad="$bad free:$pci:not-scrubbed:$mac/$vlan"
			[ "$drv" = vfio-pci ] || bad="$bad free:$pci:driver=$drv"
			[ "$own" = root:root_600 ] || bad="$bad free:$pci:node=$own"
			[ -z "$doms" ] || bad="$bad leaked:$pci:held-by:$doms"
			continue
		fi
		set -- $l	# pci mac vlan state domain attached
		[ "$mac" = "$2" -a "$vlan" = "$3" ] || bad="$bad $pci:mac/vlan=$mac/$vlan,journal=$2/$3"
		if [ "$6" = true ]; then
			case " $doms " in *" $5 "*) ;; *) bad="$bad $pci:lease-of-$5-not-held" ;; esac
		else
			[ "$own" = libvirt-qemu:kvm_660 ] || bad="$bad $pci:node=$own"
		fi
		for h in $doms; do [ "$h" = "$5" ] || bad="$bad $pci:held-by-other:$h"; done
	done
	n=$(jq '.pools[0] | .free + .leased' "$out/st.json"); [ "$n" = $N ] || bad="$bad free+leased=$n"
	check "$name" "$bad" [ -z "$bad" ]
}
# What the restart repaired: the reconcile notes of a JSON result ($2).
note_of() { echo "NOTE $1: $(jq -r '[.reconcile[]?] | join(" | ")' "$2" 2>/dev/null)"; }
# Back to: no leases, l2 running and holding nothing.
reset() {
	if [ -n "$(dom_vfs l2 "")" ]; then virsh -q destroy l2 >/dev/null 2>&1; fi
	for id in $(jq -r '.pools[0].leases[].id' "$out/st.json"); do va release --lease "$id" >/dev/null 2>&1; done
	virsh domstate l2 2>/dev/null | grep -q running || virsh -q start l2 >/dev/null 2>&1
	[ -z "$(jleases "$st")" ] || fail "crash.reset: leases left: $(jleases "$st" | jq -r .pci)"
}
# crash CASE POINT CMD...: kill -9 at POINT; the next command is the restart.
crash() {
	c=$1 p=$2; shift 2
	VFAGENT_CRASH_AT=$p va "$@" >/dev/null 2>&1; rc=$?
	[ $rc = 137 ] || fail "$c.reached: the crash point $p was not reached (rc=$rc)"
	va --json status >"$out/restart.json" 2>&1
	note_of "$c" "$out/restart.json"
	inv "$c"
}

# -- setup: from a PF down with no VFs; restart = setup again.
want setup && for p in setup.up setup.vfs setup.bound setup.applied; do
	ip link set "$pf" down; echo 0 >$dev/sriov_numvfs; rm -rf "$st" "$pst"
	VFAGENT_CRASH_AT=$p va setup >/dev/null 2>&1; rc=$?
	[ $rc = 137 ] || fail "crash.$p: not reached (rc=$rc)"
	va --json setup >"$out/restart.json" 2>&1; rc=$?
	echo "NOTE crash.$p: setup again rc=$rc: $(jq -r '.changes | join(" | ")' $out/restart.json 2>/dev/null)"
	[ $rc = 0 -a "$(cat $dev/sriov_numvfs)" = $N ] || fail "crash.$p.setup_again: rc=$rc $(cat $out/restart.json)"
	inv crash.$p
done

ip link show "$pf" | grep -q '[<,]UP[,>]' && [ "$(cat $dev/sriov_numvfs)" = $N ] || { rm -rf "$st" "$pst"; va setup >/dev/null 2>&1; }
virsh -c qemu:///system version >/dev/null 2>&1 || lab_libvirt_start ||
	{ fail "crash.libvirtd: libvirtd did not start"; exit 0; }
lab_l2_define
sed "s|<name>l2</name>|<name>pdom</name>|" /tmp/l2.xml >"$out/pdom.xml"
virsh -q define "$out/pdom.xml" >/dev/null
virsh -q start l2 >/dev/null 2>&1

# kept CASE VLAN ATTACHED: after a crash at "ready" (the lease journaled
# ready, no reply sent) the restart keeps that one lease as it was.
kept() {
	check "$1.kept" "$(jq -c '[.pools[0].leases[] | {state, vlan, attached}]' $out/st.json)" \
		eval "jq -e '(.pools[0].leases | length) == 1 and ([.pools[0].leases[] | select(.state == \"ready\" and .vlan == $2 and .attached == $3)] | length) == 1' $out/st.json >/dev/null"
}

# -- alloc, direct.
want alloc && for p in journaled netlink owned ready; do
	crash crash.alloc.$p $p alloc --pool net1 --vlan 301
	[ $p = ready ] && kept crash.alloc.ready 301 false
	reset
done
want alloc && for p in attaching attached ready; do
	crash crash.alloc_live.$p $p alloc --pool net1 --vlan 302 --domain l2 --live
	[ $p = ready ] && kept crash.alloc_live.ready 302 true
	reset
	crash crash.alloc_persistent.$p $p alloc --pool net1 --vlan 303 --domain pdom --persistent
	[ $p = ready ] && kept crash.alloc_persistent.ready 303 true
	reset
done

# -- release, direct.
want release && for p in release.releasing release.scrubbed; do
	va --json alloc --pool net1 --vlan 304 >"$out/a.json" 2>&1
	crash crash.$p $p release --pci "$(jq -r .pci "$out/a.json")"; reset
done
if want release; then
	va alloc --pool net1 --vlan 305 --domain l2 --live >/dev/null 2>&1
	crash crash.release_live.release.detach release.detach release --domain l2; reset
fi
want release && for p in release.detach release.detached release.releasing release.scrubbed; do
	va alloc --pool net1 --vlan 306 --domain pdom --persistent >/dev/null 2>&1
	crash crash.release_persistent.$p $p release --domain pdom; reset
done

# -- vfagent serve, killed mid-operation; restart = a new daemon.
start_daemon() {	# $1: VFAGENT_CRASH_AT for it, or ""
	n0=$(grep -c 'serving on' "$log")
	VFAGENT_CRASH_AT=$1 "$V" -c "$conf" -s "$st" $pd serve >>"$log" 2>&1 &
	dpid=$!
	for i in $(seq 1 150); do [ "$(grep -c 'serving on' "$log")" -gt "$n0" ] && return 0; sleep 0.1; done
	return 1
}
if want serve; then
# serve_case CASE: after the daemon died, start a new one and check.
serve_case() {
	wait "$dpid" 2>/dev/null
	start_daemon ""
	echo "NOTE $1: $(sed -n "s/^vfagent\[$dpid\]: notice: start: //p" "$log" | tr '\n' '|')"
	inv "$1"
	kill "$dpid"; wait "$dpid" 2>/dev/null
	reset
}
start_daemon attaching; va alloc --pool net1 --vlan 307 --domain l2 --live >/dev/null 2>&1
serve_case crash.serve.before_attach
start_daemon attached; va alloc --pool net1 --vlan 308 --domain l2 --live >/dev/null 2>&1
serve_case crash.serve.after_attach
# During: kill -9 from outside once the journal says the attach is under way.
start_daemon ""
va alloc --pool net1 --vlan 309 --domain l2 --live >/dev/null 2>&1 &
cpid=$!
for i in $(seq 1 300); do jleases "$st" | grep -qs '"attached":true' && break; sleep 0.01; done
kill -9 "$dpid"; wait "$cpid" 2>/dev/null
serve_case crash.serve.during_attach
va alloc --pool net1 --vlan 310 --domain l2 --live >/dev/null 2>&1
start_daemon release.detach; va release --domain l2 >/dev/null 2>&1
serve_case crash.serve.before_detach
# During: the OS-less guest never acks the unplug, so libvirt's detach call
# waits its ~5 s; kill -9 the daemon inside it.
start_daemon ""; va alloc --pool net1 --vlan 311 --domain l2 --live >/dev/null 2>&1
va release --domain l2 >/dev/null 2>&1 &
cpid=$!
for i in $(seq 1 300); do jleases "$st" | grep -qs '"state":"releasing"' && break; sleep 0.01; done
sleep 1
kill -9 "$dpid"; wait "$cpid" 2>/dev/null
serve_case crash.serve.during_detach
va alloc --pool net1 --vlan 312 --domain pdom --persistent >/dev/null 2>&1
start_daemon release.detached; va release --domain pdom >/dev/null 2>&1
serve_case crash.serve.after_detach
fi

virsh -q destroy l2 >/dev/null 2>&1
virsh -q undefine pdom >/dev/null 2>&1
virsh -q undefine l2 >/dev/null 2>&1
rm -rf "$st" "$pst"
ip link set "$pf" down
echo 0 >$dev/sriov_numvfs
