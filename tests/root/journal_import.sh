# Upgrade to the lease journal: a state dir and a persistent dir written by
# a vfagent from before it (leases/<pci>.json, one file per lease) are
# imported on the first open: every lease kept (the persistent one also
# restored into the runtime journal, as after a reboot), the files gone,
# a damaged file kept aside and not imported (its VF fenced: a lease in
# state "fenced" that reconcile names), and a second run imports nothing
# twice. On the host without SR-IOV (the pool's PF is missing).
# VFAGENT_BIN=PATH runs another build.
. tests/lab/lib.sh
. tests/lab/journal.sh
V=${VFAGENT_BIN:-$PWD/vfagent}
d=$(mktemp -d /tmp/vfagent-import.XXXXXX)
trap 'rm -rf "$d"' EXIT
printf '[pool p]\npf = vfa-nosuch0\nvfs = 3\n' >"$d/c.conf"
mkdir -m 0755 "$d/st" "$d/pst"
mkdir -m 0700 "$d/st/leases" "$d/pst/leases"
old() {	# DIR PCI ID VF PERSISTENT: a lease file as the old vfagent wrote it
	printf '{"id":"%s","state":"ready","pool":"p","pf":"vfa-nosuch0","pf_pci":"0000:00:01.0","vf":%d,"pci":"%s","iommu_group":-1,"vfio_node":"/dev/vfio/-1","mac":"02:00:00:00:00:0%d","vlan":0,"qos":0,"domain":"vm%d","uuid":"0b6e1c0a-5a34-4f5e-9f3b-00000000000%d","attached":true,"persistent":%s,"holder":null,"pid":1,"created":1}' \
		"$3" "$4" "$2" "$4" "$4" "$4" "$5" >"$1/leases/$2.json"
}
old "$d/st" 0000:00:02.1 00000000000000a1 1 false
old "$d/st" 0000:00:02.2 00000000000000a2 2 false
old "$d/pst" 0000:00:02.3 00000000000000a3 3 true
printf '{"id":' >"$d/st/leases/0000:00:02.4.json"
va() { "$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" --direct --json "$@"; }
ids() { jq -c '[.pools[0].leases[].id] | sort' "$1" 2>&1; }

va status >"$d/s1.json" 2>"$d/s1.err"; rc=$?
check import.status "rc=$rc $(cat $d/s1.err)" [ $rc = 0 ]
want='["00000000000000a1","00000000000000a2","00000000000000a3"]'
check import.leases_kept "$(ids $d/s1.json)" [ "$(ids $d/s1.json)" = "$want" ]
check import.files_gone "$(ls $d/st/leases $d/pst/leases)" \
	sh -c "! ls $d/st/leases $d/pst/leases | grep -q '\.json$'"
check import.in_journals "runtime: $(jleases $d/st | jq -r .id | sort | tr '\n' ' ') persistent: $(jleases $d/pst | jq -r .id)" \
	sh -c ". tests/lab/journal.sh; [ \$(jleases $d/st | grep -c .) = 4 ] && [ \"\$(jleases $d/pst | jq -r .id)\" = 00000000000000a3 ]"
fence=$(jleases $d/st | jq -r 'select(.pci == "0000:00:02.4") | .state')
check import.damaged_fenced "lease of 0000:00:02.4: '$fence'" [ "$fence" = fenced ]
check import.damaged_noted "$(jq -c .reconcile $d/s1.json)" sh -c "jq -r '.reconcile[]' $d/s1.json | grep -q '0000:00:02.4 .*fenced.*vfagent release --pci 0000:00:02.4'"
check import.damaged_kept_aside "$(ls $d/st/leases)" [ -f "$d/st/leases/0000:00:02.4.json.damaged" ]
check import.journal_mode "$(stat -c '%U %a' $d/st/journal)" [ "$(stat -c '%U %a' $d/st/journal)" = "root 600" ]

# The crash between the journal write and the removal of the files: the
# files are back, the next open imports them again, without doubles.
old "$d/st" 0000:00:02.1 00000000000000a1 1 false
n0=$(wc -l <"$d/st/journal")
va status >"$d/s2.json" 2>"$d/s2.err"; rc=$?
check import.again_no_double "rc=$rc $(ids $d/s2.json)" sh -c "[ $rc = 0 ] && [ '$(ids $d/s2.json)' = '$want' ]"
va status >"$d/s3.json" 2>&1
n1=$(wc -l <"$d/st/journal")
check import.once "journal lines $n0 -> $n1 (one re-imported record)" [ "$n1" = $((n0 + 1)) ]
