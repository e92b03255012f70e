/* A VF nobody can account for is never announced or handed out as free:
 * a damaged lease file from before the journal leaves its VF fenced
 * (import, reconcile, alloc, watch, release), and the fleet snapshot
 * behind the metrics counts no VF free while the leases cannot be read.
 * On the fake lab host of test_policy.c (its tree, replay and helpers are
 * included, its own tests are not run here). */
#define main policy_main
int policy_main(void);
#include "tests/unit/test_policy.c"
#undef main

#include "agent/doctor.h"
#include "agent/fleet.h"
#include "agent/model.h"
#include "tests/unit/t_text.h"
#include "agent/journal_priv.h"

/* pci's lease as JSON (NULL: none); the caller puts it. */
static json_object *lease_of(const char *pci)
{
	struct vfa_lease l;

	return vfa_lease_load(A->st, pci, &l) ? NULL : vfa_lease_json(&l);
}

static bool damaged_file(const char *pci, const char *suffix)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/leases/%s.json%s", state_path, pci, suffix);
	return access(p, F_OK) == 0;
}

/* leases/<pci>.json as a vfagent from before the journal left it, cut
 * short (a crash mid-write, a full disk). */
static int damaged_old_file(const char *pci)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/leases", state_path);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/leases/%s.json", state_path, pci);
	f = fopen(p, "w");
	if (!f)
		return -errno;
	fputs("{\"id\":\"00000000000000a4\",\"state\":\"rea", f);
	fclose(f);
	return 0;
}

static void test_import_fences(void)
{
	struct vfa_err e = { "", 0 };
	json_object *l, *res = NULL;
	int r;

	if (start(POOL7, true, false) || damaged_old_file(vf_pci[0])) {
		T("fence.start", 0, "cannot set up the fake host");
		return;
	}
	r = vfa_journal_import(A->st, &e);
	l = lease_of(vf_pci[0]);
	T("fence.import_leaves_a_lease", r == 0 && l && !strcmp(jstr(l, "state"), "fenced"),
	  "r=%d %s lease %s", r, e.msg, l ? json_object_to_json_string(l) : "none");
	json_object_put(l);
	T("fence.import_file_kept_aside", damaged_file(vf_pci[0], ".damaged") &&
	  !damaged_file(vf_pci[0], ""), "leases/%s.json.damaged missing or .json left", vf_pci[0]);

	r = vfa_reconcile(A, false, &res, &e);
	l = lease_of(vf_pci[0]);
	T("fence.reconcile_notes_it", r == 0 && notes_have(res, "fenced") &&
	  notes_have(res, "vfagent release --pci 0000:00:12.0"), "r=%d %s", r, e.msg);
	T("fence.reconcile_keeps_it", l && !strcmp(jstr(l, "state"), "fenced") &&
	  !strcmp(jstr(l, "pool"), "net1") && !strcmp(jstr(l, "pf"), "eth0"),
	  "lease %s", l ? json_object_to_json_string(l) : "none");
	T("fence.reconcile_touches_no_vf", setlinks() == 0, "setlinks %zu", setlinks());
	json_object_put(l);
	json_object_put(res);

	/* The crash between the journal write and the rename: the file is
	 * back, the fence is not written twice. */
	damaged_old_file(vf_pci[0]);
	r = vfa_journal_import(A->st, &e);
	T("fence.reimport_no_double", r == 0 && n_leases() == 1, "r=%d %zu leases", r, n_leases());
	stop();
}

static void test_alloc_skips_fenced(void)
{
	struct vfa_opts o = { .pci = "0000:00:12.0" };
	struct vfa_err e = { "", 0 };
	json_object *res = NULL;
	bool got0 = false;
	int ok = 0, r;

	if (start(POOL7, true, false) || damaged_old_file(vf_pci[0]) ||
	    vfa_journal_import(A->st, &e)) {
		T("fence.alloc.start", 0, "cannot set up the fake host: %s", e.msg);
		return;
	}
	for (int i = 0; i < 7; i++) {
		r = alloc(NULL, NULL, NULL, &res, &e);
		ok += r == 0;
		got0 |= r == 0 && !strcmp(jstr(res, "pci"), vf_pci[0]);
		json_object_put(res);
		res = NULL;
	}
	T("fence.alloc_never_hands_it_out", ok == 6 && !got0 && e.exit == VFA_EXIT_EXHAUSTED,
	  "%d of 7 allocs succeeded, %s got the fenced VF; last: %s", ok,
	  got0 ? "one" : "none", e.msg);
	r = alloc(NULL, NULL, vf_pci[0], &res, &e);
	T("fence.alloc_pci_refused", r == -EBUSY, "r=%d %s", r, e.msg);
	json_object_put(res);
	res = NULL;

	/* The admin's release frees it (scrubbed like any other: here it
	 * carries the baseline already, so nothing is sent). */
	vfa_reconcile(A, false, &res, &e);
	json_object_put(res);
	res = NULL;
	vfnl_replay_forget(RP);
	r = vfa_release(A, &o, &res, &e);
	T("fence.release_frees_it", r == 0 && released(res) == 1 && !lease_of(vf_pci[0]),
	  "r=%d %s", r, e.msg);
	json_object_put(res);
	stop();
}

/* watch and the device plugin behind it: the fenced VF carries a lease. */
static void test_watch_shows_fence(void)
{
	struct vfa_err e = { "", 0 };
	json_object *st = NULL, *pools, *vfs, *v, *l = NULL;
	int r;

	if (start(POOL7, true, false) || damaged_old_file(vf_pci[0]) ||
	    vfa_journal_import(A->st, &e)) {
		T("fence.watch.start", 0, "cannot set up the fake host: %s", e.msg);
		return;
	}
	r = vfa_watch_state(A, &st, &e);
	if (!r && json_object_object_get_ex(st, "pools", &pools) &&
	    json_object_object_get_ex(json_object_array_get_idx(pools, 0), "vfs", &vfs))
		for (size_t i = 0; i < json_object_array_length(vfs); i++) {
			v = json_object_array_get_idx(vfs, i);
			if (!strcmp(jstr(v, "pci"), vf_pci[0]))
				json_object_object_get_ex(v, "lease", &l);
		}
	T("fence.watch_not_free", l && !strcmp(jstr(l, "state"), "fenced"),
	  "r=%d %s: %s has lease %s", r, e.msg, vf_pci[0], l ? json_object_to_json_string(l) : "null");
	json_object_put(st);
	stop();
}

/* The journal is swapped for one the daemon must not trust (mode 0666):
 * the leases cannot be read, so no VF may count as free. */
static void test_fleet_unreadable(void)
{
	struct vfa_fleet *f = NULL;
	char j[512], t[512], cmd[2700], *txt = NULL;
	json_object *res = NULL;
	struct vfa_err e = { "", 0 };
	int r;

	if (start(POOL7, true, false) || vfa_fleet_new(sys_path, dev_path, &f)) {
		T("fence.fleet.start", 0, "cannot set up the fake host");
		return;
	}
	vfa_model_enable(A, NULL, NULL);	/* as the daemon publishes */
	r = alloc(NULL, NULL, NULL, &res, &e);
	json_object_put(res);
	vfa_metrics_sync(&f->m, vfa_agent_config(A));
	r |= vfa_fleet_snapshot_model(f, A);
	r |= vfa_metrics_render(&f->m, &f->snap, &txt);
	T("fence.fleet_readable_counts", r == 0 && txt &&
	  t_has_line(txt, "vfagent_pool_vfs_free{pool=\"net1\"} 6") &&
	  t_has_line(txt, "vfagent_pool_vfs_leased{pool=\"net1\"} 1"), "r=%d %s", r, txt ? txt : "");
	free(txt);
	txt = NULL;

	snprintf(j, sizeof(j), "%s/journal", state_path);
	snprintf(t, sizeof(t), "%s/journal.new", state_path);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 0666 '%s' && mv '%s' '%s'", j, t, t, t, j);
	r = system(cmd);
	/* A reader does not stat the path per read (only a compactor's
	 * "moved" marker sends it to a new file): reopen as a restart would. */
	vfa_journal_close(A->st);
	r |= vfa_fleet_snapshot_model(f, A);
	r |= vfa_metrics_render(&f->m, &f->snap, &txt);
	T("fence.fleet_unreadable_none_free", r == 0 && txt &&
	  t_has_line(txt, "vfagent_pool_vfs_free{pool=\"net1\"} 0") &&
	  t_has_line(txt, "vfagent_pool_vfs_unhealthy{pool=\"net1\"} 7"), "r=%d %s", r, txt ? txt : "");
	free(txt);
	vfa_fleet_free(f);
	stop();
}

static void test_import_unnamed(void)
{
	struct vfa_err e = { "", 0 };
	char p[512];
	FILE *f;
	int r;

	if (start(POOL7, true, false)) {
		T("fence.unnamed.start", 0, "cannot set up the fake host");
		return;
	}
	snprintf(p, sizeof(p), "%s/leases", state_path);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/leases/junk.json", state_path);
	f = fopen(p, "w");
	if (f) {
		fputs("{", f);
		fclose(f);
	}
	r = vfa_journal_import(A->st, &e);
	snprintf(p, sizeof(p), "%s/leases/junk.json.damaged", state_path);
	T("fence.import_no_pci_no_fence", r == 0 && n_leases() == 0 && access(p, F_OK) == 0,
	  "r=%d %zu leases", r, n_leases());
	stop();
}

static int no_addrs(const char *ifname, struct vfa_doc_addr *ret, size_t max)
{
	(void)ifname;
	(void)ret;
	(void)max;
	return 0;
}

/* doctor: every check run, the fenced VF named with the fix. */
static void test_doctor_fenced(void)
{
	struct vfa_doc_report *rep = calloc(1, sizeof(*rep));
	struct vfa_doc_ctx c = { .ifaddrs = no_addrs, .virt_errno = ENOTSUP };
	struct vfa_lease *ls = NULL;
	struct vfa_err e = { "", 0 };
	const struct vfa_doc_finding *hit = NULL;

	if (!rep || start(POOL7, true, false) || damaged_old_file(vf_pci[0]) ||
	    vfa_journal_import(A->st, &e) || vfa_lease_list(A->st, &ls, &c.n_leases, NULL)) {
		T("fence.doctor.start", 0, "cannot set up the fake host: %s", e.msg);
		free(rep);
		return;
	}
	c.leases = ls;
	snprintf(c.cfg_err, sizeof(c.cfg_err), "not loaded in this test");
	snprintf(c.sys, sizeof(c.sys), "%s", sys_path);
	snprintf(c.dev, sizeof(c.dev), "%s", dev_path);
	snprintf(c.proc, sizeof(c.proc), "%s/proc", top);
	snprintf(c.etc, sizeof(c.etc), "%s/etc", top);
	snprintf(c.run, sizeof(c.run), "%s/run", top);
	snprintf(c.modules, sizeof(c.modules), "%s/modules", top);
	snprintf(c.apparmor, sizeof(c.apparmor), "%s/apparmor", top);
	vfa_doc_run(&c, rep);
	for (unsigned int i = 0; i < rep->n; i++)
		if (strstr(rep->f[i].msg, vf_pci[0]) && strstr(rep->f[i].fix, "vfagent release --pci 0000:00:12.0"))
			hit = &rep->f[i];
	T("fence.doctor_names_it", hit && hit->status == DOC_WARN,
	  "no warning names %s with its fix (%u findings)", vf_pci[0], rep->n);
	free(ls);
	free(rep);
	stop();
}

int main(void)
{
	if (access(FIX, R_OK)) {
		t_skip("fence", "run from the source tree: " FIX " not found");
		return t_done();
	}
	test_import_fences();
	test_alloc_skips_fenced();
	test_watch_shows_fence();
	test_fleet_unreadable();
	test_import_unnamed();
	test_doctor_fenced();
	return t_done();
}
