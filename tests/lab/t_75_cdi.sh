# What vfagent serve publishes, consumed for real in the lab: the CDI spec
# at its default place (/var/run/cdi/vfagent.io-vf.json) resolved by
# Debian's podman (--device vfagent.io/vf=<pci>), whose container gets the
# VF's device fd through VFIO and cannot reach another VF's node; and the
# metrics file, whose counters move with real allocs and releases.
. tests/lab/lib.sh
V="${VFAGENT:-$PWD/vfagent}" T="$PWD/tests/lab/vfio_tool"
set -- $(lab_pf) || { fail "cdi.pf: no SR-IOV PF"; exit 0; }
pf=$1
out=${VFAGENT_LAB_OUT:-/tmp}/cdi
mkdir -p "$out"
conf=$out/vfagent.conf st=/run/vfagent-cdi log=$out/daemon.log tf=/run/vfagent-tf
spec=/var/run/cdi/vfagent.io-vf.json
mkdir -p "$tf"
cat >"$conf" <<CONF
[pool net1]
pf = $pf
vfs = 7
[serve]
metrics-file = $tf/vfagent.prom
CONF
va() { "$V" -c "$conf" -s "$st" "$@"; }
# Wait (bounded) until a shell condition holds.
wait_for() {
	for i in $(seq 1 100); do sh -c "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
rm -rf "$st" "$spec"; : >"$log"
va setup >"$out/setup.log" 2>&1; check cdi.setup "$(tail -n1 $out/setup.log)" [ $? = 0 ]
va serve >>"$log" 2>&1 &
dpid=$!
trap 'kill $dpid 2>/dev/null' EXIT
wait_for "[ -s $spec ] && [ -s $tf/vfagent.prom ]"
check cdi.spec_written "no $spec: $(tail -n3 $log)" [ -s "$spec" ]
cp "$spec" "$out/spec.json" 2>/dev/null
want=$(for v in /sys/class/net/$pf/device/virtfn*; do basename "$(readlink -f $v)"; done | sort | tr '\n' ' ')
got=$(jq -r '.devices[].name' "$spec" 2>/dev/null | sort | tr '\n' ' ')
check cdi.one_device_per_vf "spec: $got; sysfs: $want" [ -n "$got" -a "$got" = "$want" ]
check cdi.kind_version "$(jq -c '{cdiVersion,kind}' $spec)" \
	sh -c "jq -e '.kind == \"vfagent.io/vf\" and .cdiVersion == \"0.5.0\"' $spec >/dev/null"
ino=$(stat -c %i "$spec")

# A real lease: its VF and IOMMU group; another VF's group for the negative.
va --json alloc --pool net1 >"$out/alloc.json" 2>"$out/alloc.err"
pci=$(jq -r .pci "$out/alloc.json") grp=$(jq -r .iommu_group "$out/alloc.json")
check cdi.alloc "$(cat $out/alloc.err)" [ -n "$pci" -a "$pci" != null ]
other=$(jq -r --arg p "$pci" '.devices[] | select(.name != $p) | .containerEdits.deviceNodes[0].path' "$spec" | head -n1)
node=$(jq -r --arg p "$pci" '.devices[] | select(.name == $p) | .containerEdits.deviceNodes[0].path' "$spec")
check cdi.node_of_lease "spec says $node, lease says group $grp" [ "$node" = "/dev/vfio/$grp" ]
check cdi.env "$(jq -c --arg p "$pci" '.devices[] | select(.name == $p) | .containerEdits.env' $spec)" \
	sh -c "jq -e --arg p $pci '.devices[] | select(.name == \$p) | .containerEdits.env == [\"PCIDEVICE_VFAGENT_IO_NET1=\" + \$p]' $spec >/dev/null"

# Metrics: counters moved with the alloc; a release moves its own.
m=$tf/vfagent.prom
wait_for "grep -qx 'vfagent_allocs_total{pool=\"net1\"} 1' $m"
check metrics.alloc_counted "$(grep -E 'allocs_total|vfs_leased' $m)" sh -c \
	"grep -qx 'vfagent_allocs_total{pool=\"net1\"} 1' $m && grep -qx 'vfagent_pool_vfs_leased{pool=\"net1\"} 1' $m && grep -qx 'vfagent_alloc_duration_seconds_count{pool=\"net1\"} 1' $m"
check metrics.pool_gauges "$(grep -E '^vfagent_pool_vfs' $m)" sh -c \
	"grep -qx 'vfagent_pool_vfs{pool=\"net1\"} 7' $m && grep -qx 'vfagent_pool_vfs_free{pool=\"net1\"} 6' $m && grep -qx 'vfagent_pf_up{pool=\"net1\",pf=\"$pf\"} 1' $m"
if command -v promtool >/dev/null; then
	o=$(promtool check metrics <"$m" 2>&1)
	check metrics.promtool_lab "$o" [ -z "$o" ]
fi
check cdi.not_rewritten_unchanged "inode $ino -> $(stat -c %i $spec)" [ "$(stat -c %i "$spec")" = "$ino" ]

# podman from Debian, as self-contained as the guest allows: vfs storage
# on tmpfs, no network, an image imported from a busybox tar.
P="podman --root /run/vfa-pod/root --runroot /run/vfa-pod/run --storage-driver vfs --cgroup-manager cgroupfs --events-backend file --tmpdir /run/vfa-pod/tmp"
if ! command -v podman >/dev/null; then
	skip "cdi.podman: podman not installed (tests/deps.sh)"
else
	grep -q ' /sys/fs/cgroup cgroup2 ' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
	img=/run/vfa-img
	rm -rf "$img"; mkdir -p "$img/root/bin" "$img/root/tmp" "$img/root/dev"
	cp "$(command -v busybox)" "$T" "$img/root/bin/"
	ln -s busybox "$img/root/bin/sh"
	tar -C "$img/root" -cf "$img/rootfs.tar" .
	$P import "$img/rootfs.tar" localhost/vfa-bb:1 >"$out/import.log" 2>&1
	check cdi.podman_image "$(tail -n2 $out/import.log)" [ $? = 0 ]
	I=localhost/vfa-bb:1
	run() { $P run --rm --network none "$@"; }	# options, $I, command
	cg=--cgroups=enabled
	run --device "vfagent.io/vf=$pci" $I /bin/sh -c 'echo $PCIDEVICE_VFAGENT_IO_NET1' >"$out/env.log" 2>&1 || {
		cg=--cgroups=disabled
		echo "with cgroups: $(tail -n1 $out/env.log)" >"$out/cgroups.log"
		run $cg --device "vfagent.io/vf=$pci" $I /bin/sh -c 'echo $PCIDEVICE_VFAGENT_IO_NET1' >"$out/env.log" 2>&1
	}
	check cdi.podman_env "$(tail -n2 $out/env.log)" [ "$(tail -n1 $out/env.log)" = "$pci" ]
	run $cg --device "vfagent.io/vf=$pci" $I /bin/vfio_tool device "$grp" "$pci" >"$out/device.log" 2>&1
	check cdi.container_device_fd "$(tail -n2 $out/device.log)" grep -q '^ok device fd' "$out/device.log"
	run $cg --device "vfagent.io/vf=$pci" $I /bin/vfio_tool open "$other" >"$out/other.log" 2>&1
	check cdi.other_vf_absent "$(tail -n1 $out/other.log)" grep -q '^denied' "$out/other.log"
	mm=$(stat -c '%t %T' "$other")
	if [ "$cg" = --cgroups=enabled ]; then
		run $cg --device "vfagent.io/vf=$pci" $I /bin/vfio_tool mknod /tmp/g $((0x${mm% *})) $((0x${mm#* })) >"$out/mknod.log" 2>&1
		check cdi.other_vf_mknod_denied "$(tail -n1 $out/mknod.log)" grep -q '^denied' "$out/mknod.log"
	else
		skip "cdi.other_vf_mknod_denied: podman could not use cgroups in the guest ($(cat $out/cgroups.log)); no device cgroup to test"
	fi
	run --device "vfagent.io/vf=0000:ff:1f.7" $cg $I /bin/true >"$out/unknown.log" 2>&1
	check cdi.unknown_name_refused "$(tail -n1 $out/unknown.log)" grep -q 'unresolvable CDI devices' "$out/unknown.log"
fi

# The PF set down behind our back: its VFs turn unhealthy, then back.
ip link set "$pf" down
wait_for "grep -qx 'vfagent_pf_up{pool=\"net1\",pf=\"$pf\"} 0' $m"
check metrics.pf_down "$(grep -E 'pf_up|vfs_unhealthy' $m | grep -v '^#')" sh -c \
	"grep -qx 'vfagent_pf_up{pool=\"net1\",pf=\"$pf\"} 0' $m && grep -qx 'vfagent_pool_vfs_unhealthy{pool=\"net1\"} 7' $m"
ip link set "$pf" up
wait_for "grep -qx 'vfagent_pf_up{pool=\"net1\",pf=\"$pf\"} 1' $m"
check metrics.pf_up_again "$(grep -E 'pf_up|vfs_unhealthy' $m | grep -v '^#')" sh -c \
	"grep -qx 'vfagent_pf_up{pool=\"net1\",pf=\"$pf\"} 1' $m && grep -qx 'vfagent_pool_vfs_unhealthy{pool=\"net1\"} 0' $m"

va release --pci "$pci" >"$out/release.log" 2>&1
wait_for "grep -qx 'vfagent_releases_total{pool=\"net1\"} 1' $m"
check metrics.release_counted "$(grep -E 'releases_total|vfs_leased' $m)" sh -c \
	"grep -qx 'vfagent_releases_total{pool=\"net1\"} 1' $m && grep -qx 'vfagent_pool_vfs_leased{pool=\"net1\"} 0' $m"
kill $dpid 2>/dev/null; wait $dpid 2>/dev/null
trap - EXIT
