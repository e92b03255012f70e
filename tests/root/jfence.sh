# A damaged lease-journal record that still names its VF leaves that VF
# fenced, through the CLI: list's reconcile notes and doctor (lease.fenced)
# name it with the fix, and `release --pci` clears it. A fenced lease whose
# pool is no longer configured (here: no pool at all) is released too: the
# lease is dropped and the VF left as it is. On the host without SR-IOV.
# VFAGENT_BIN=PATH runs another build.
. tests/lab/lib.sh
. tests/lab/journal.sh
V=${VFAGENT_BIN:-$PWD/vfagent}
d=$(mktemp -d /tmp/vfagent-jfence.XXXXXX)
trap 'rm -rf "$d"' EXIT
chmod 755 "$d"
printf '[serve]\ncdi-dir =\nmetrics-file =\n' >"$d/c.conf"
mkdir -m 0755 "$d/st"
a=0000:00:02.1 b=0000:00:02.2 g=0000:00:02.3
# a: ready, then its next record (a release under way?) with one byte of
# its CRC changed; b: a good record after it; g: fenced, of pool "gone".
jput "$d/st" "$(jlease $a 00000000000000a1)"
jrec "$(jlease $a 00000000000000a1 | sed 's/"ready"/"releasing"/')" | sed 's/^./x/' | jappend "$d/st"
jput "$d/st" "$(jlease $b 00000000000000a2)"
jput "$d/st" "$(jlease $g 00000000000000a3 | sed 's/"ready"/"fenced"/; s/"pool":"p"/"pool":"gone"/')"
va() { "$V" -c "$d/c.conf" -s "$d/st" --persist-dir "$d/pst" "$@"; }
has() { jleases "$d/st" | grep -q "\"pci\":\"$1\""; }
quiet() { "$@" >/dev/null; }

va --direct --json list >"$d/l.json" 2>"$d/l.err"; rc=$?
check jfence.list_notes_fence "rc=$rc $(jq -c .reconcile $d/l.json) $(cat $d/l.err)" \
	quiet jq -e --arg a $a '[.reconcile[] | select(startswith($a) and test("fenced") and test("vfagent release --pci " + $a))] | length == 1' "$d/l.json"
va doctor --json >"$d/doc.json" 2>/dev/null
check jfence.doctor "$(jq -c '[.findings[] | select(.check == "lease.fenced")]' $d/doc.json)" \
	quiet jq -e --arg a $a '[.findings[] | select(.check == "lease.fenced" and .status == "warn" and .subject == $a and (.fix | test("vfagent release --pci " + $a)))] | length == 1' "$d/doc.json"

va --direct --json release --pci $a >"$d/r.json" 2>"$d/r.err"; rc=$?
check jfence.release_clears "rc=$rc $(cat $d/r.err) leases: $(jleases $d/st | jq -r .pci | tr '\n' ' ')" \
	eval '[ $rc = 0 ] && ! has $a && has $b'
va --direct --json release --pci $g >"$d/g.json" 2>"$d/g.err"; rc=$?
check jfence.release_pool_gone "rc=$rc $(cat $d/g.err) $(jq -c .reconcile $d/g.json)" \
	eval '[ $rc = 0 ] && ! has $g && quiet jq -e "[.reconcile[] | select(test(\"not scrubbed\"))] | length == 1" $d/g.json'

# A journal of a newer format ({"format":N} record) is refused with the
# fix, never read around (an older reader skips what it cannot parse, and
# so frees VFs it cannot account for).
mkdir -m 0755 "$d/new"
jput "$d/new" '{"format":9}'
jput "$d/new" "$(jlease $a 00000000000000a1)"
"$V" -c "$d/c.conf" -s "$d/new" --persist-dir "$d/pst" --direct list >"$d/n.out" 2>&1; rc=$?
check jfence.format_newer_refused "rc=$rc $(cat $d/n.out)" \
	eval '[ $rc = 1 ] && grep -q "is format 9, this vfagent reads format 1: run the vfagent version that wrote it" "$d/n.out"'
