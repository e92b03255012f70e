/* A damaged journal record that still names its VF fences that VF (state
 * "fenced", as a damaged lease file from before the journal does) unless
 * a later good record of the VF supersedes it: a VM may hold the VF, so
 * it is never handed out again until an admin releases it. The fence
 * outlives compaction. A fenced lease whose pool is no longer configured
 * can still be released. On the fake lab host of test_policy.c (its tree,
 * replay and helpers are included, its own tests are not run here). */
#define main policy_main
int policy_main(void);
#include "tests/unit/test_policy.c"
#undef main

#include "agent/doctor.h"
#include "agent/journal_priv.h"

/* A ready lease of VF i of the fake host's pool net1. */
static struct vfa_lease lease_i(unsigned int i)
{
	struct vfa_lease l = {
		.state = VFA_LS_READY, .pool = "net1", .pf = "eth0", .pf_pci = PF_PCI,
		.group = -1, .mac = "02:00:00:00:00:01", .pid = 42, .created = 1700000000,
		.owner = VFA_NO_OWNER,
	};

	l.vf = i;
	snprintf(l.id, sizeof(l.id), "00000000000000%02x", 0xa0 + i);
	snprintf(l.pci, sizeof(l.pci), "%s", vf_pci[i]);
	return l;
}

/* Appends raw text to the state dir's journal, lock aside. */
static void jraw(const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/journal", state_path);
	f = fopen(p, "a");
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

/* l's record (drop of pci when l is NULL) appended; with bad, one byte
 * changed first: in the JSON past the pci for a lease, in the CRC for a
 * drop (the address stays readable either way). */
static void jadd(const struct vfa_lease *l, const char *drop, bool bad)
{
	char line[4096];
	char *at;

	if (!vfa_journal_format(l, drop, line, sizeof(line)))
		return;
	if (bad && l) {
		at = strstr(line, "\"mac\":\"");
		if (at)
			at[7] = at[7] == '0' ? '1' : '0';
	} else if (bad) {
		line[0] = line[0] == '0' ? '1' : '0';
	}
	jraw(line);
}

/* Lease i's record, damaged with bad. */
static void jadd_i(unsigned int i, bool bad)
{
	struct vfa_lease l = lease_i(i);

	jadd(&l, NULL, bad);
}

/* pci's lease as a fresh process folds the journal: 0 and *ret, or
 * -ENOENT; *ret_bad the damaged records it counted. */
static int fresh(const char *pci, struct vfa_lease *ret, unsigned int *ret_bad)
{
	struct vfa_state *st = NULL;
	struct vfa_err e = { "", 0 };
	int r;

	if (vfa_state_open(state_path, &st, &e))
		return -EIO;
	r = vfa_lease_load(st, pci, ret);
	*ret_bad = vfa_lease_damaged(st);
	vfa_state_close(st);
	return r;
}

static void test_fold(void)
{
	struct vfa_lease l0 = lease_i(0), l1 = lease_i(1), l2 = lease_i(2), got;
	unsigned int bad = 0, was;
	int r;

	l1.owner = 1000;	/* the fence is root's: only an admin can tell */

	if (start(POOL7, true, false)) {
		T("jfence.start", 0, "cannot set up the fake host");
		return;
	}
	/* VF 0: its only record damaged. VF 1: ready, then a damaged record
	 * (its release?). VF 2: ready, then its drop damaged. */
	jadd(&l0, NULL, true);
	jadd(&l1, NULL, false);
	l1.state = VFA_LS_RELEASING;
	jadd(&l1, NULL, true);
	jadd(&l2, NULL, false);
	jadd(NULL, l2.pci, true);
	jadd_i(3, false);
	r = fresh(l0.pci, &got, &bad);
	T("jfence.only_record_fences", r == 0 && got.state == VFA_LS_FENCED && bad == 3,
	  "r=%d state %s, %u damaged", r, r ? "-" : vfa_lease_state_str(got.state), bad);
	r = fresh(l1.pci, &got, &bad);
	T("jfence.last_record_fences", r == 0 && got.state == VFA_LS_FENCED &&
	  !strcmp(got.id, l1.id) && !strcmp(got.pool, "net1") && got.owner == VFA_NO_OWNER,
	  "r=%d state %s id %s", r, r ? "-" : vfa_lease_state_str(got.state), r ? "-" : got.id);
	r = fresh(l2.pci, &got, &bad);
	T("jfence.damaged_drop_fences", r == 0 && got.state == VFA_LS_FENCED,
	  "r=%d state %s", r, r ? "-" : vfa_lease_state_str(got.state));

	/* Every other process sees the same: alloc never hands them out. */
	{
		json_object *res = NULL;
		struct vfa_err e = { "", 0 };

		r = alloc(NULL, NULL, vf_pci[0], &res, &e);
		T("jfence.alloc_pci_refused", r == -EBUSY, "r=%d %s", r, e.msg);
		json_object_put(res);
	}

	/* Superseded by a later good record: no fence. */
	l0.state = VFA_LS_READY;
	jadd(&l0, NULL, false);
	l2.state = VFA_LS_READY;
	jadd(&l2, NULL, true);
	jadd(NULL, l2.pci, false);
	r = fresh(l0.pci, &got, &bad);
	T("jfence.superseded_by_save", r == 0 && got.state == VFA_LS_READY, "r=%d state %s", r,
	  r ? "-" : vfa_lease_state_str(got.state));
	r = fresh(l2.pci, &got, &bad);
	T("jfence.superseded_by_drop", r == -ENOENT, "r=%d", r);
	was = bad;

	/* A torn tail (a crashed writer's last record, cut short before its
	 * '\n') is not a fence: the next append cuts it off. */
	{
		struct vfa_lease l4 = lease_i(4);
		char line[4096];
		size_t n = vfa_journal_format(&l4, NULL, line, sizeof(line));

		line[n / 2] = '\0';
		jraw(line);
	}
	r = fresh(vf_pci[4], &got, &bad);
	T("jfence.tail_no_fence", r == -ENOENT && bad == was, "r=%d %u damaged, %u before",
	  r, bad, was);
	stop();
}

/* A complete last line (its '\n' written: fdatasync'd whole) that is
 * damaged is damage, not a torn write: counted and fencing its VF like
 * any other, and kept by the next append (which cut it off unseen). */
static void test_tail(void)
{
	struct vfa_lease l5 = lease_i(5), got;
	struct vfa_err e = { "", 0 };
	unsigned int bad = 0;
	int r;

	if (start(POOL7, true, false)) {
		T("jfence.start", 0, "cannot set up the fake host");
		return;
	}
	jadd_i(3, false);
	jadd_i(4, true);
	r = fresh(vf_pci[4], &got, &bad);
	T("jfence.tail_complete_fences", r == 0 && got.state == VFA_LS_FENCED && bad == 1,
	  "r=%d state %s, %u damaged", r, r ? "-" : vfa_lease_state_str(got.state), bad);
	/* Another process appends after it: the damaged line stays. */
	r = vfa_lease_save(A->st, &l5, &e);
	T("jfence.tail_complete_kept", r == 0 && fresh(vf_pci[4], &got, &bad) == 0 &&
	  got.state == VFA_LS_FENCED && bad == 1 && fresh(vf_pci[5], &got, &bad) == 0,
	  "r=%d %s: state %s, %u damaged", r, e.msg, vfa_lease_state_str(got.state), bad);
	/* A handle that read it counts it once, however often it reads. */
	vfa_journal_refresh(A->st, &e);
	vfa_journal_refresh(A->st, &e);
	T("jfence.tail_counted_once", vfa_lease_damaged(A->st) == 1, "%u damaged",
	  vfa_lease_damaged(A->st));
	stop();
}

/* More damaged records in a row than the 16 the fold once kept: each
 * fences its VF, the last ones (the tail) included. */
#define MANY 40
static void test_many(void)
{
	struct vfa_state *st = NULL;
	struct vfa_err e = { "", 0 };
	struct vfa_lease *ls = NULL;
	unsigned int fenced = 0, fenced_mid = 0, dev, fn;
	size_t n = 0;

	if (start(POOL7, true, false)) {
		T("jfence.start", 0, "cannot set up the fake host");
		return;
	}
	for (unsigned int i = 0; i < MANY; i++) {
		struct vfa_lease l = lease_i(0);

		snprintf(l.pci, sizeof(l.pci), "0000:40:%02x.%u", i / 8, i % 8);
		snprintf(l.id, sizeof(l.id), "00000000000001%02x", i);
		jadd(&l, NULL, true);
		if (i == MANY / 2 - 1)
			jadd_i(1, false);	/* 20 in a row, then 20 at the tail */
	}
	if (!vfa_state_open(state_path, &st, &e) && !vfa_lease_list(st, &ls, &n, NULL))
		for (size_t i = 0; i < n; i++)
			if (ls[i].state == VFA_LS_FENCED &&
			    sscanf(ls[i].pci, "0000:40:%x.%u", &dev, &fn) == 2) {
				fenced++;
				fenced_mid += dev * 8 + fn < MANY / 2;
			}
	T("jfence.many_in_a_row_fence", fenced_mid == MANY / 2,
	  "%u of the first %d fenced", fenced_mid, MANY / 2);
	T("jfence.many_all_fence", fenced == MANY && vfa_lease_damaged(st) == MANY,
	  "%u of %d fenced, %u damaged", fenced, MANY, vfa_lease_damaged(st));
	free(ls);
	vfa_state_close(st);
	stop();
}

/* A lease with no IOMMU group (-1: a fence's) names no /dev/vfio node. */
static void test_no_group(void)
{
	struct vfa_lease f, l = lease_i(0);
	json_object *o, *v = NULL;
	bool null_node, has_key;

	vfa_lease_fence(vf_pci[0], &f);
	o = vfa_lease_json(&f);
	has_key = json_object_object_get_ex(o, "vfio_node", &v);
	null_node = has_key && !v;
	T("jfence.no_group_no_node", null_node, "vfio_node %s",
	  v ? json_object_get_string(v) : has_key ? "null" : "absent");
	json_object_put(o);
	l.group = 9;
	o = vfa_lease_json(&l);
	v = NULL;
	json_object_object_get_ex(o, "vfio_node", &v);
	T("jfence.group_node", v && !strcmp(json_object_get_string(v), "/dev/vfio/9"),
	  "vfio_node %s", v ? json_object_get_string(v) : "null");
	json_object_put(o);
}

static void test_no_address(void)
{
	struct vfa_lease l0 = lease_i(0), got;
	char line[4096], *at;
	unsigned int bad = 0;
	int r;

	if (start(POOL7, true, false)) {
		T("jfence.start", 0, "cannot set up the fake host");
		return;
	}
	vfa_journal_format(&l0, NULL, line, sizeof(line));
	at = strstr(line, "\"pci\":\"0000");
	if (at)
		at[8] = 'x';	/* the address itself is what is damaged */
	jraw(line);
	jadd_i(1, false);
	r = fresh(l0.pci, &got, &bad);
	T("jfence.no_address_counted", r == -ENOENT && bad == 1, "r=%d %u damaged", r, bad);
	stop();
}

/* The fence is in the compaction's snapshot: a reader of the new journal
 * still finds the VF fenced. */
static void test_compaction(void)
{
	struct vfa_lease l0 = lease_i(0), l1 = lease_i(1), got;
	struct vfa_err e = { "", 0 };
	unsigned int bad = 0, gen;
	int r;

	if (start(POOL7, true, false)) {
		T("jfence.start", 0, "cannot set up the fake host");
		return;
	}
	jadd(&l0, NULL, true);
	jadd(&l1, NULL, false);
	vfa_journal_refresh(A->st, &e);
	gen = A->st->jgen;
	A->st->jbound = 1024;
	for (int i = 0; i < 20; i++) {
		l1.vlan = (uint16_t)(i + 1);
		vfa_lease_save(A->st, &l1, &e);
	}
	r = fresh(l0.pci, &got, &bad);
	T("jfence.survives_compaction", A->st->jgen != gen && r == 0 &&
	  got.state == VFA_LS_FENCED, "compacted %d, r=%d state %s", A->st->jgen != gen, r,
	  r ? "-" : vfa_lease_state_str(got.state));
	stop();
}

/* reconcile and doctor name the fence and its fix; the admin's release
 * frees the VF. */
static void test_report_release(void)
{
	struct vfa_opts o = { .pci = "0000:00:12.0" };
	struct vfa_doc_ctx c = { 0 };
	struct vfa_doc_report *rep = calloc(1, sizeof(*rep));
	struct vfa_err e = { "", 0 };
	struct vfa_lease *ls = NULL, got;
	json_object *res = NULL;
	bool hit = false;
	unsigned int bad;
	int r;

	if (!rep || start(POOL7, true, false)) {
		T("jfence.start", 0, "cannot set up the fake host");
		free(rep);
		return;
	}
	jadd_i(0, true);
	jadd_i(1, false);
	r = vfa_reconcile(A, false, &res, &e);
	T("jfence.reconcile_notes_it", r == 0 && notes_have(res, "fenced") &&
	  notes_have(res, "vfagent release --pci 0000:00:12.0"), "r=%d %s", r, e.msg);
	json_object_put(res);
	res = NULL;
	if (vfa_lease_list(A->st, &ls, &c.n_leases, NULL) == 0) {
		c.leases = ls;
		vfa_doc_fenced(&c, rep);
		for (unsigned int i = 0; i < rep->n; i++)
			hit |= strstr(rep->f[i].msg, vf_pci[0]) &&
			       strstr(rep->f[i].fix, "vfagent release --pci 0000:00:12.0");
	}
	T("jfence.doctor_names_it", hit, "%u findings", rep->n);
	free(ls);
	free(rep);
	vfnl_replay_forget(RP);
	r = vfa_release(A, &o, &res, &e);
	T("jfence.release_frees_it", r == 0 && released(res) == 1 &&
	  fresh(vf_pci[0], &got, &bad) == -ENOENT, "r=%d %s", r, e.msg);
	json_object_put(res);
	stop();
}

/* A lease in state st of a pool no longer configured (lease_i(vf)'s,
 * at pci, with id). */
static void unpooled_of(enum vfa_lease_state st, unsigned int vf, const char *pool,
			const char *pci, const char *id)
{
	struct vfa_lease l = lease_i(vf);

	l.state = st;
	snprintf(l.pool, sizeof(l.pool), "%s", pool);
	snprintf(l.pci, sizeof(l.pci), "%s", pci);
	snprintf(l.id, sizeof(l.id), "%s", id);
	jadd(&l, NULL, false);
}

/* The release of a lease whose pool is no longer configured (test names
 * prefixed pf), fenced or ready: a ready one exited 1 and stayed
 * "releasing" for good (vfa_scrub: "pool ... is no longer configured").
 * No configured pool has the VF: the lease is dropped, the VF left
 * alone; the pool was renamed: the pool that has the VF now scrubs it. */
static void release_unpooled(const char *pf, enum vfa_lease_state st, unsigned int vf,
			     const char *gone_pci)
{
	struct vfa_opts o = { .pci = gone_pci };
	struct vfa_err e = { "", 0 };
	struct vfa_lease got;
	json_object *res = NULL;
	unsigned int bad;
	char name[64];
	int r;

	if (start(POOL7, true, false)) {
		T("jfence.start", 0, "cannot set up the fake host");
		return;
	}
	unpooled_of(st, vf, "gone", gone_pci, "00000000000000f2");
	vfnl_replay_forget(RP);
	r = vfa_release(A, &o, &res, &e);
	snprintf(name, sizeof(name), "jfence.release_%spool_gone", pf);
	T(name, r == 0 && released(res) == 1 && fresh(gone_pci, &got, &bad) == -ENOENT &&
	  setlinks() == 0 && notes_have(res, "not scrubbed"), "r=%d %s: %s", r, e.msg,
	  res ? json_object_to_json_string(res) : "");
	json_object_put(res);
	res = NULL;
	unpooled_of(st, vf, "old", vf_pci[vf], "00000000000000f4");
	o.pci = vf_pci[vf];
	r = vfa_release(A, &o, &res, &e);
	snprintf(name, sizeof(name), "jfence.release_%spool_renamed", pf);
	T(name, r == 0 && released(res) == 1 && fresh(vf_pci[vf], &got, &bad) == -ENOENT &&
	  !notes_have(res, "not scrubbed"), "r=%d %s: %s", r, e.msg,
	  res ? json_object_to_json_string(res) : "");
	json_object_put(res);
	stop();
}

static void test_release_pool_gone(void)
{
	release_unpooled("", VFA_LS_FENCED, 2, "0000:05:00.1");
	release_unpooled("ready_", VFA_LS_READY, 3, "0000:05:00.2");
}

/* {"format":N}: a journal of a newer format is refused, not misread (an
 * older reader would skip the records it cannot parse and free their
 * VFs); the current format reads as no record at all. */
static void test_format(void)
{
	struct vfa_jrec rec = { .format = 2 }, again;
	struct vfa_state *st = NULL;
	struct vfa_err e = { "", 0 };
	struct vfa_lease got;
	char line[128];
	unsigned int bad = 9;
	size_t n;
	int r;

	n = vfa_journal_format_rec(&rec, line, sizeof(line));
	T("jfence.format_round_trip", n && vfa_journal_record(line, n - 1, &again) == 0 &&
	  again.format == 2 && !again.drop && !again.moved, "line %.*s", (int)n, line);
	if (start(POOL7, true, false)) {
		T("jfence.start", 0, "cannot set up the fake host");
		return;
	}
	rec.format = VFA_JOURNAL_FORMAT;
	vfa_journal_format_rec(&rec, line, sizeof(line));
	jraw(line);
	jadd_i(0, false);
	r = fresh(vf_pci[0], &got, &bad);
	T("jfence.format_current_read", r == 0 && bad == 0, "r=%d %u damaged", r, bad);
	rec.format = VFA_JOURNAL_FORMAT + 1;
	vfa_journal_format_rec(&rec, line, sizeof(line));
	jraw(line);
	jadd_i(1, false);
	r = vfa_state_open(state_path, &st, &e);
	if (!r)
		r = vfa_journal_refresh(st, &e);
	T("jfence.format_newer_refused", r == -EPROTO && strstr(e.msg, "is format 2") &&
	  strstr(e.msg, "run the vfagent version that wrote it"), "r=%d %s", r, e.msg);
	vfa_state_close(st);
	stop();
}

int main(void)
{
	if (access(FIX, R_OK)) {
		t_skip("jfence", "run from the source tree: " FIX " not found");
		return t_done();
	}
	test_fold();
	test_tail();
	test_many();
	test_no_group();
	test_no_address();
	test_compaction();
	test_report_release();
	test_release_pool_gone();
	test_format();
	return t_done();
}
