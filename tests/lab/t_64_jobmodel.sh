# After a worker's job (alloc/release --domain run by a child of vfagent
# serve) the daemon's model is updated, not dropped (agent/model.c, "a
# worker's job"). With no sweep to help (VFAGENT_SWEEP_MS is an hour),
# status, list and the metrics file served by the daemon show exactly the
# lease state and the binding the job left:
#  - alloc --domain jmdom --persistent (jmdom stopped: a config attach),
#    its worker held at "attached" (VFAGENT_STOP_AT) while a --direct CLI
#    allocs another VF: both leases seen, the job's attached, VFs on
#    vfio-pci; then release --domain jmdom: the VF free, scrubbed;
#  - the same alloc with its worker killed (-9) at "attached": the daemon
#    reconciles at once: no lease left "allocating", the VF out of
#    jmdom's config, on vfio-pci; a --direct release is seen after it.
# VFAGENT=PATH runs another build (22ce7f0's leaves the killed job's lease
# "allocating" until the sweep: jobmodel.died_* FAIL).
. tests/lab/lib.sh
. tests/lab/libvirt.sh
lab_setup jobmodel || exit 0
lab_conf net1 7 libvirt
mdir=/run/vfagent-jobmodel-m m=/run/vfagent-jobmodel-m/vfagent.prom
mkdir -p "$mdir"; rm -f "$m"
printf '[serve]\nmetrics-file = %s\n' "$m" >>"$conf"
log=$out/daemon.log
dpid=
trap 'kill -9 $(pgrep -P "$dpid" 2>/dev/null) 2>/dev/null; kill $dpid 2>/dev/null' EXIT
pgrep -x libvirtd >/dev/null || lab_libvirt_start || { fail "jobmodel.libvirtd: did not start"; exit 0; }
if ! virsh -q dominfo jmdom >/dev/null 2>&1; then
	printf "<domain type='qemu'><name>jmdom</name><memory unit='MiB'>128</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type></os><devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>\n" >"$out/jmdom.xml"
	virsh -q define "$out/jmdom.xml" >/dev/null 2>&1
fi
virsh -q destroy jmdom >/dev/null 2>&1
rm -rf "$st"; : >"$log"
va setup >/dev/null 2>&1; check jobmodel.setup "setup failed" [ $? = 0 ]
VFAGENT_SWEEP_MS=3600000 VFAGENT_STOP_AT=attached lab_serve "$log" ||
	{ fail "jobmodel.serve: did not start"; exit 0; }

wait_for() { for i in $(seq 1 100); do sh -c "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
# The daemon's child stopped at VFAGENT_STOP_AT (the job's worker).
stopped() {
	for p in $(pgrep -P "$dpid"); do
		grep -q '^State:.*T' /proc/$p/status 2>/dev/null && { echo "$p"; return 0; }
	done
	return 1
}
jm_vfs() { virsh dumpxml --inactive jmdom | grep -c "<hostdev"; }
status() { va --json status 2>&1; }
lease_of() { va --json list 2>/dev/null | jq -c --arg p "$1" '.pfs[].vfs[] | select(.pci == $p) | [.driver, (.lease.state // "free"), (.lease.domain // ""), .mac, (.vlan // 0)]'; }
gauge() { grep -E "^vfagent_pool_vfs_leased\{pool=\"net1\"\} " "$m" 2>/dev/null | awk '{print $2}'; }

# 1. A job held at "attached" while a --direct CLI allocs; then it goes on.
va --json alloc --pool net1 --vlan 41 --domain jmdom --persistent >"$out/a1.json" 2>&1 &
apid=$!
wait_for stopped; w=$(stopped)
check jobmodel.worker_held "no stopped worker among $(pgrep -P "$dpid" | tr '\n' ' ')" [ -n "$w" ]
d=$(va --direct --json alloc --pool net1 --vlan 42 2>&1)
dpci=$(echo "$d" | jq -r .pci 2>/dev/null)
check jobmodel.direct_alloc_during_job "$d" sh -c "[ -n '$dpci' ] && [ '$dpci' != null ]"
kill -CONT "$w" 2>/dev/null
wait $apid; rc=$?
a=$(cat "$out/a1.json"); apci=$(echo "$a" | jq -r .pci 2>/dev/null)
check jobmodel.job_alloc "rc=$rc $a" sh -c "[ $rc = 0 ] && echo '$a' | jq -e '.attached == true' >/dev/null"
s=$(status)
check jobmodel.status_after_alloc "$s" sh -c "echo '$s' | jq -e '.pools[0].leased == 2 and ([.pools[0].leases[].state] | sort) == [\"ready\",\"ready\"]' >/dev/null"
la=$(lease_of "$apci") ld=$(lease_of "$dpci")
check jobmodel.list_job_vf "$apci: $la" [ "$(echo "$la" | jq -c '.[0:3]')" = '["vfio-pci","ready","jmdom"]' ]
check jobmodel.list_direct_vf "$dpci: $ld" [ "$(echo "$ld" | jq -c '[.[0], .[1], .[4]]')" = '["vfio-pci","ready",42]' ]
check jobmodel.in_domain "jmdom hostdevs: $(jm_vfs)" [ "$(jm_vfs)" = 1 ]
wait_for '[ "$(grep -E "^vfagent_pool_vfs_leased\{pool=\"net1\"\} " '"$m"' | cut -d" " -f2)" = 2 ]'
check jobmodel.metrics_after_alloc "leased gauge: $(gauge)" [ "$(gauge)" = 2 ]

# 2. release --domain (a job, not held: it passes no "attached").
r=$(va --json release --domain jmdom 2>&1); rc=$?
s=$(status); la=$(lease_of "$apci")
check jobmodel.job_release "rc=$rc $r" [ $rc = 0 ]
check jobmodel.status_after_release "$s" sh -c "echo '$s' | jq -e --arg p '$dpci' '.pools[0].leased == 1 and [.pools[0].leases[].pci] == [\$p]' >/dev/null"
check jobmodel.list_released_vf "$apci: $la" [ "$la" = '["vfio-pci","free","","00:00:00:00:00:00",0]' ]
check jobmodel.out_of_domain "jmdom hostdevs: $(jm_vfs)" [ "$(jm_vfs)" = 0 ]
wait_for '[ "$(grep -E "^vfagent_pool_vfs_leased\{pool=\"net1\"\} " '"$m"' | cut -d" " -f2)" = 1 ]'
check jobmodel.metrics_after_release "leased gauge: $(gauge)" [ "$(gauge)" = 1 ]

# 3. The worker killed half-way (at "attached": in jmdom's config, lease
# "allocating"): the daemon reconciles when it sees it die.
va --json alloc --pool net1 --vlan 43 --domain jmdom --persistent >"$out/a2.json" 2>&1 &
apid=$!
wait_for stopped; w=$(stopped)
held=$(jm_vfs)
[ -n "$w" ] && kill -9 "$w"
wait $apid; rc=$?
s=$(status)
check jobmodel.died_client_told "rc=$rc $(cat "$out/a2.json"); jmdom held $held while stopped" \
	sh -c "[ $rc != 0 ] && [ '$held' = 1 ] && grep -q 'worker process died' '$out/a2.json'"
check jobmodel.died_rolled_back "$s" sh -c "echo '$s' | jq -e --arg p '$dpci' '.pools[0].leased == 1 and [.pools[0].leases[].pci] == [\$p]' >/dev/null"
check jobmodel.died_out_of_domain "jmdom hostdevs: $(jm_vfs)" [ "$(jm_vfs)" = 0 ]
bad=$(va --json list 2>/dev/null | jq -c '[.pfs[].vfs[] | select(.driver != "vfio-pci" or ((.lease == null) and (.mac != "00:00:00:00:00:00" or (.vlan // 0) != 0)))]')
check jobmodel.died_vfs_clean "not on vfio-pci or not scrubbed: $bad" [ "$bad" = "[]" ]
wait_for '[ "$(grep -E "^vfagent_pool_vfs_leased\{pool=\"net1\"\} " '"$m"' | cut -d" " -f2)" = 1 ]'
check jobmodel.died_metrics "leased gauge: $(gauge)" [ "$(gauge)" = 1 ]

# 4. A --direct release, seen by the daemon's next status.
va --direct release --pci "$dpci" >/dev/null 2>&1
s=$(status)
check jobmodel.direct_release_seen "$s" sh -c "echo '$s' | jq -e '.pools[0].leased == 0' >/dev/null"
lab_serve_stop; dpid=

# 5. The workers said nothing of their own to the daemon's log: libvirt
# takes one event implementation per process and warns on a second, which
# each forked worker used to ask for (agent/loop.c vfa_loop_for_libvirt).
check jobmodel.workers_no_libvirt_warning "$(grep -m1 'replace registered event loop' "$log")" \
	sh -c "! grep -q 'replace registered event loop' '$log'"
