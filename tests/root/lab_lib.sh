# The lab's shared shell helpers (tests/lab/lib.sh) on the host, no guest:
# lab_setup reports a missing PF and stops the test (the inline preamble it
# replaced, `set -- $(lab_pf) || fail`, never did: set's status is its own);
# lab_conf writes the config the tests used to spell out; lab_each runs the
# filtered scripts into one results file.
. tests/lab/lib.sh
td=$(mktemp -d /tmp/vfagent-lablib.XXXXXX)
trap 'rm -rf "$td"' EXIT

if lab_pf >/dev/null; then
	skip "lablib.setup_no_pf: this host has an SR-IOV PF"
else
	o=$(VFAGENT_LAB_OUT=$td sh -c '. tests/lab/lib.sh; lab_setup probe || exit 7; echo continued'); rc=$?
	check lablib.setup_no_pf "rc=$rc, output: $o" \
		sh -c "[ $rc = 7 ] && [ '$o' = 'FAIL probe.pf: no SR-IOV PF' ]"
	o=$(sh -c '. tests/lab/lib.sh; set -- $(lab_pf) || exit 7; echo continued'); rc=$?
	check lablib.set_status_control "the old idiom stopped (rc=$rc, $o): update the comment in lab_setup" \
		[ "$o" = continued ]
fi

conf=$td/c.conf pf=eth9
lab_conf net1 3 libvirt owner
printf '[libvirt]\nuri = qemu:///system\n[pool net1]\npf = eth9\nvfs = 3\nowner = libvirt-qemu:kvm\nmode = 0660\n' >"$td/want"
check lablib.conf_full "$(diff "$td/want" "$conf")" cmp -s "$td/want" "$conf"
lab_conf bench 7
printf '[pool bench]\npf = eth9\nvfs = 7\n' >"$td/want"
check lablib.conf_plain "$(diff "$td/want" "$conf")" cmp -s "$td/want" "$conf"
V=$PWD/vfagent st=$td/st
printf '[pool p]\npf = vfa-nosuch0\nvfs = 1\n[serve]\ncdi-dir =\nmetrics-file =\n' >"$conf"
va --persist-dir "$td/pst" --direct --json status >"$td/va.json" 2>&1
check lablib.va "va --json status: $(cat "$td/va.json")" grep -q '"pool": *"p"' "$td/va.json"

mkdir -p "$td/s"
for n in 10_a 20_b 30_c; do printf 'echo "PASS %s"\n' "$n" >"$td/s/t_$n.sh"; done
echo stale >"$td/res"
o=$(lab_each "$td/s/t_*.sh" "$td/res" 10_a 30_c)
check lablib.each_filter "results: $(cat $td/res)" \
	sh -c "[ \"\$(cat $td/res)\" = \"\$(printf 'PASS 10_a\nPASS 30_c')\" ]"
check lablib.each_timed "output: $o" sh -c "echo '$o' | grep -q '^-- $td/s/t_30_c.sh: [0-9]* ms$'"
