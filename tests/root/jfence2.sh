# Damaged records of the persistent journal (--persist-dir) across a
# reboot, and doctor on a journal too new to read, through the CLI on the
# host without SR-IOV. A reboot is a fresh runtime state dir: the first
# command copies the persistent leases into it (restore_persistent).
# VFAGENT_BIN=PATH runs another build.
. tests/lab/lib.sh
. tests/lab/journal.sh
V=${VFAGENT_BIN:-$PWD/vfagent}
d=$(mktemp -d /tmp/vfagent-jfence2.XXXXXX)
trap 'rm -rf "$d"' EXIT
chmod 755 "$d"
printf '[serve]\ncdi-dir =\nmetrics-file =\n' >"$d/c.conf"
mkdir -m 0755 "$d/p"
a=0000:00:03.1 b=0000:00:03.2 c=0000:00:03.3 t=0000:00:03.4
please() { jlease "$1" "$2" | sed 's/"persistent":false/"persistent":true/'; }
# The persistent journal: a, then b's record with one CRC digit changed
# (its address readable), then c, then t's record damaged the same way as
# the last line, complete (its '\n' written).
jput "$d/p" "$(please $a 00000000000000b1)"
jrec "$(please $b 00000000000000b2)" | sed 's/^./x/' | jappend "$d/p"
jput "$d/p" "$(please $c 00000000000000b3)"
jrec "$(please $t 00000000000000b4)" | sed 's/^./x/' | jappend "$d/p"
boot=0
# A fresh runtime state dir, as after a reboot; runs list there.
reboot() {
	boot=$((boot + 1)); st=$d/st$boot
	mkdir -m 0755 "$st"
	"$V" -c "$d/c.conf" -s "$st" --persist-dir "$d/p" --direct --json list >"$d/l$boot.json" 2>"$d/l$boot.err"
}
va() { "$V" -c "$d/c.conf" -s "$st" --persist-dir "$d/p" "$@"; }
state() { jleases "$1" | jq -r --arg p "$2" 'select(.pci == $p) | .state'; }
quiet() { "$@" >/dev/null; }

reboot; rc=$?
check jfence2.persist_fence_restored "rc=$rc b: $(state $st $b), a: $(state $st $a) $(cat $d/l$boot.err)" \
	eval '[ $rc = 0 ] && [ "$(state $st $b)" = fenced ] && [ "$(state $st $a)" = ready ] && [ "$(state $st $c)" = ready ]'
check jfence2.persist_tail_fence_restored "t: '$(state $st $t)'" \
	eval '[ "$(state $st $t)" = fenced ]'
# A persistent lease written now (a's again) must not cut t's record off.
"$V" -c "$d/c.conf" -s "$st" --persist-dir "$d/p" --direct release --pci $a >/dev/null 2>"$d/ra.err"
jput "$d/p" "$(please $a 00000000000000b5)"
reboot
check jfence2.persist_tail_kept "t: '$(state $st $t)', persistent journal: $(wc -l <$d/p/journal) lines" \
	eval '[ "$(state $st $t)" = fenced ]'

# The admin's release drops the fence from both journals: the next boot
# has no fence of b, and t's is still there.
va --direct --json release --pci $b >"$d/rb.json" 2>"$d/rb.err"; rc=$?
reboot
check jfence2.persist_release_clears "rc=$rc $(cat $d/rb.err) b: '$(state $st $b)' in the persistent journal: '$(state $d/p $b)'" \
	eval '[ $rc = 0 ] && [ -z "$(state $st $b)" ] && [ -z "$(state $d/p $b)" ] && [ "$(state $st $t)" = fenced ]'

# doctor reports the persistent journal's damaged records (b's and t's,
# still in the file): nothing else reads it before the next boot.
va doctor --json >"$d/pd.json" 2>/dev/null
check jfence2.doctor_persist_damaged "$(jq -c '[.findings[] | select(.check == "state.journal")]' $d/pd.json)" \
	quiet jq -e --arg p "$d/p/journal" '[.findings[] | select(.check == "state.journal" and .status == "warn" and (.message | startswith($p + " (persistent leases): 2 damaged records")))] | length == 1' "$d/pd.json"

# doctor on a journal of a newer format: says so and how to fix it (not
# "nothing leased yet"), and never tells to remove the journal.
mkdir -m 0755 "$d/new"
jput "$d/new" '{"format":9}'
jput "$d/new" "$(jlease $a 00000000000000a1)"
"$V" -c "$d/c.conf" -s "$d/new" --persist-dir "" doctor --json >"$d/doc.json" 2>/dev/null
check jfence2.doctor_format_newer "$(jq -c '[.findings[] | select(.check == "state.journal")]' $d/doc.json)" \
	quiet jq -e '[.findings[] | select(.check == "state.journal" and .status == "fail" and (.message | test("is format 9, this vfagent reads format 1")) and (.fix | test("upgrade vfagent")) and (.fix | test("remove|delete") | not))] | length == 1' "$d/doc.json"
