# --domain takes a libvirt domain's name or its UUID (as virsh does):
# alloc, release and ports by UUID on the real libvirt, the lease showing
# the name. And the daemon's rename race: a release --domain D is
# authorized for D's UUID, and the release (in a worker) acts on that
# domain even if D is renamed, and another domain takes the name D, in
# between (VFAGENT_STOP_AT=release.domain stops the worker right there).
# Domains stay stopped: persistent attaches only, no guest to wait for.
# VFAGENT_BIN=PATH runs another build.
. tests/lab/lib.sh
. tests/lab/libvirt.sh
. tests/lab/journal.sh
lab_setup domain || exit 0
V=${VFAGENT_BIN:-$V}
lab_conf net1 3 libvirt
printf 'allow-users = daemon bin\n[serve]\nallow-users = daemon bin\n' >>"$conf"
pst=$out/pst log=$out/daemon.log nob=$(id -g nobody)
va() { "$V" -c "$conf" -s "$st" --persist-dir "$pst" "$@"; }
as() { who=$1; shift; setpriv --reuid "$who" --regid "$nob" --clear-groups "$@"; }
# (a second run in the same boot finds libvirt running)
if ! virsh -c qemu:///system version >/dev/null 2>&1 && ! lab_libvirt_start; then
	fail "domain.libvirtd: libvirtd did not start"; exit 0
fi
for d in da db; do	# as lab_l2_define's l2, named d
	printf "<domain type='qemu'><name>%s</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os><devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>\n" \
		"$d" >"$out/$d.xml"
	virsh -q define "$out/$d.xml" >/dev/null
done
ua=$(virsh domuuid da | head -n1) ub=$(virsh domuuid db | head -n1)
check domain.defined "da=$ua db=$ub" [ -n "$ua" -a -n "$ub" ]
rm -rf "$st" "$pst"; echo 0 >$dev/sriov_numvfs; : >"$log"
va --direct setup >"$out/setup.out" 2>&1; check domain.setup "$(cat $out/setup.out)" [ $? = 0 ]
hostdevs() { virsh dumpxml --inactive "$1" | grep -c '<hostdev'; }

# 1. By UUID, CLI direct: attached to da, the lease names da and its UUID.
va --direct --json alloc --pool net1 --domain "$ua" --persistent >"$out/u.json" 2>"$out/u.err"; rc=$?
check domain.uuid_alloc "rc=$rc $(cat $out/u.err) $(jq -c '[.domain,.uuid]' $out/u.json 2>/dev/null)" \
	sh -c "[ $rc = 0 ] && [ \"\$(jq -r .domain $out/u.json)\" = da ] && [ \"\$(jq -r .uuid $out/u.json)\" = $ua ]"
check domain.uuid_in_config "da has $(hostdevs da) hostdevs" [ "$(hostdevs da)" = 1 ]
va --json ports "$ua" >"$out/p.json" 2>"$out/p.err"; rc=$?
check domain.uuid_ports "rc=$rc $(cat $out/p.err)" sh -c "[ $rc = 0 ] && jq -e '.config' $out/p.json >/dev/null"
va --direct --json release --domain "$ua" >"$out/ur.json" 2>"$out/ur.err"; rc=$?
check domain.uuid_release "rc=$rc $(cat $out/ur.err)" sh -c "[ $rc = 0 ] && [ \"\$(jq '.released|length' $out/ur.json)\" = 1 ] && [ $(hostdevs da) = 0 ]"

# 2. The rename race, through the daemon: uid daemon holds a VF of da,
# uid bin one of db; daemon asks release --domain da; before its worker
# acts, da becomes dx and db becomes da.
VFAGENT_STOP_AT=release.domain "$V" -c "$conf" -s "$st" --persist-dir "$pst" serve >>"$log" 2>&1 &
dpid=$!
for i in $(seq 1 100); do [ -S "$st/vfagent.sock" ] && break; sleep 0.1; done
chmod 755 "$st"
as daemon "$V" -c "$conf" -s "$st" --json alloc --pool net1 --domain da --persistent >"$out/a.json" 2>&1; ra=$?
as bin "$V" -c "$conf" -s "$st" --json alloc --pool net1 --domain db --persistent >"$out/b.json" 2>&1; rb=$?
pa=$(jq -r .pci "$out/a.json" 2>/dev/null) pb=$(jq -r .pci "$out/b.json" 2>/dev/null)
check domain.race_allocs "a: rc=$ra $(head -c 200 $out/a.json) b: rc=$rb $(head -c 200 $out/b.json)" \
	[ $ra = 0 -a $rb = 0 -a "$(hostdevs da)" = 1 -a "$(hostdevs db)" = 1 ]
as daemon "$V" -c "$conf" -s "$st" --json release --domain da >"$out/r.json" 2>&1 &
cpid=$!
w=
for i in $(seq 1 300); do
	w=$(ps -o pid=,stat= --ppid "$dpid" 2>/dev/null | awk '$2 ~ /^T/ { print $1; exit }')
	[ -n "$w" ] && break
	sleep 0.1
done
check domain.race_worker_stopped "no stopped worker of daemon $dpid: $(ps -o pid=,stat=,args= --ppid $dpid)" [ -n "$w" ]
virsh -q domrename da dx >/dev/null && virsh -q domrename db da >/dev/null
check domain.race_renamed "$(virsh list --all --name | tr '\n' ' ')" \
	[ "$(virsh domuuid da | head -n1)" = "$ub" ]
[ -n "$w" ] && kill -CONT "$w"
wait $cpid; rc=$?
held=" $(jleases "$st" | jq -r .pci | sort | tr '\n' ' ')"
check domain.race_released_authorized "rc=$rc $(head -c 300 $out/r.json); leases:$held (daemon's $pa, bin's $pb)" \
	sh -c "[ $rc = 0 ] && [ -n '$pa' ] && ! echo '$held' | grep -q ' $pa '"
check domain.race_other_kept "bin's lease of $pb: leases now$held; da (was db) has $(hostdevs da) hostdevs" \
	sh -c "[ -n '$pb' ] && echo '$held' | grep -q ' $pb ' && [ $(hostdevs da) = 1 ]"
kill -TERM $dpid 2>/dev/null; wait $dpid
va --direct release --pci "$pb" >/dev/null 2>&1
for d in dx da db; do virsh -q undefine "$d" >/dev/null 2>&1; done
echo 0 >$dev/sriov_numvfs
