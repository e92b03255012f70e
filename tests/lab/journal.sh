# Shell access to the lease journal (agent/journal.c) for tests: one line
# per transition, "<crc32 of json, 8 hex> <json>", json a lease or
# {"drop":"<pci>"}; the last record of a pci wins.
#   jleases DIR        the leases held now, one JSON object a line
#   jput DIR JSON      append a lease record (under the journal's lock)
#   jdrop DIR PCI      append a drop record
#   jrec JSON          the record's line; jappend DIR <LINES appends lines
#   jlease PCI ID      a lease's JSON (pool p, PF missing, no owner)
# CRC-32 (IEEE) comes from gzip's trailer: no helper binary needed.
jcrc() { printf '%s' "$1" | gzip -c | tail -c 8 | od -An -tx4 -N4 | tr -d ' \n'; }
jrec() { printf '%s %s\n' "$(jcrc "$1")" "$1"; }
jleases() {
	[ -f "$1/journal" ] || return 0
	awk 'length($0) > 9 {
		j = substr($0, 10)
		if (j ~ /^\{"drop":"/) { p = j; sub(/^\{"drop":"/, "", p); sub(/".*/, "", p); delete l[p]; next }
		if (match(j, /"pci":"[^"]*"/)) { p = substr(j, RSTART + 7, RLENGTH - 8); l[p] = j }
	} END { for (p in l) print l[p] }' "$1/journal"
}
# jlease PCI ID: a ready lease of pool p on a missing PF (vfa-nosuch0),
# with no owner field: as a vfagent from before owners were journaled wrote it.
jlease() {
	printf '{"id":"%s","state":"ready","pool":"p","pf":"vfa-nosuch0","pf_pci":"0000:00:01.0","vf":0,"pci":"%s","iommu_group":-1,"mac":"02:00:00:00:00:01","vlan":0,"qos":0,"domain":null,"attached":false,"persistent":false,"holder":null,"pid":1,"created":1}' "$2" "$1"
}
jappend() { flock "$1/journal" sh -c 'cat >>"$1"' sh "$1/journal"; }
jput() { jrec "$2" | jappend "$1"; }
jdrop() { jput "$1" "{\"drop\":\"$2\"}"; }
