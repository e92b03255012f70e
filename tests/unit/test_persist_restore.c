/* A persistent journal that cannot be read at the first command of a boot
 * (a newer format; a mode vfagent refuses): its leases cannot be
 * restored, so a VF a persistent domain owns looks free. The rebuild is
 * not marked done (every command retries), reconcile notes it, and alloc
 * hands out no VF until the restore succeeds; once the journal is
 * readable again the next command restores its lease and alloc avoids
 * that VF. On the fake lab host of test_policy.c (its tree, replay and
 * helpers are included, its own tests are not run here), with libvirt's
 * test driver as the libvirt to ask, so that a rebuild can be done. */
#define main policy_main
int policy_main(void);
#include "tests/unit/test_policy.c"
#undef main

#include "agent/journal_priv.h"

#define CONF POOL7 "[libvirt]\nuri = test:///default\n"
#define PID "00000000000000b0"	/* the persistent lease's id */

static char pdir[200];

/* VF 0's persistent lease, attached to a stopped domain's saved config. */
static struct vfa_lease persistent_lease(void)
{
	struct vfa_lease l = {
		.state = VFA_LS_READY, .pool = "net1", .pf = "eth0", .pf_pci = PF_PCI,
		.group = 10, .mac = "02:00:00:00:00:b0", .pid = 42, .created = 1700000000,
		.owner = VFA_NO_OWNER, .domain = "pvm", .attached = true, .persistent = true,
		.id = PID,
	};

	snprintf(l.pci, sizeof(l.pci), "%s", vf_pci[0]);
	return l;
}

/* pdir/journal: the lease, after a {"format":N} record of a newer
 * vfagent when newer; 0 or -errno. */
static int write_pjournal(bool newer)
{
	struct vfa_jrec rec = { .format = VFA_JOURNAL_FORMAT + 1 };
	struct vfa_lease l = persistent_lease();
	char path[400], line[4096];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/journal", pdir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	if (newer && vfa_journal_format_rec(&rec, line, sizeof(line)))
		fputs(line, f);
	if (vfa_journal_format(&l, NULL, line, sizeof(line)))
		fputs(line, f);
	r = fclose(f) ? -errno : 0;
	return r ? r : chmod(path, 0600) ? -errno : 0;
}

static int spoil_format(bool on)
{
	return write_pjournal(on);
}

/* Writable by others: vfagent refuses to read it (journal.c, check_file). */
static int spoil_mode(bool on)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/journal", pdir);
	return chmod(path, on ? 0666 : 0600) ? -errno : 0;
}

static void scenario(const char *kind, int (*spoil)(bool on))
{
	struct vfa_err e = { "", 0 };
	struct vfa_lease got;
	json_object *res = NULL;
	char name[96];
	int r, lr;

	if (start(CONF, true, false)) {
		T("persist_restore.start", 0, "cannot set up the fake host");
		return;
	}
	snprintf(pdir, sizeof(pdir), "%s/persist", top);
	if (mkdir(pdir, 0755) || write_pjournal(false) || spoil(true)) {
		T("persist_restore.start", 0, "cannot write %s: %s", pdir, strerror(errno));
		stop();
		return;
	}
	snprintf(A->persist_dir, sizeof(A->persist_dir), "%s", pdir);

	vfnl_replay_forget(RP);
	r = alloc(NULL, NULL, NULL, &res, &e);
	snprintf(name, sizeof(name), "persist_restore.%s.alloc_refused", kind);
	T(name, r != 0 && strstr(e.msg, "not restored") && strstr(e.msg, pdir) &&
	  n_leases() == 0 && setlinks() == 0,
	  "r=%d pci %s, %zu leases, %zu SETLINKs: %s", r, jstr(res, "pci"), n_leases(),
	  setlinks(), e.msg);
	json_object_put(res);
	res = NULL;
	snprintf(name, sizeof(name), "persist_restore.%s.rebuild_not_done", kind);
	T(name, vfa_rebuild_needed(state_path), "the rebuild was marked done");

	r = vfa_reconcile(A, false, &res, &e);
	snprintf(name, sizeof(name), "persist_restore.%s.noted_with_fix", kind);
	T(name, r == 0 && notes_have(res, "not restored") && notes_have(res, "vfagent doctor"),
	  "r=%d %s", r, e.msg);
	json_object_put(res);
	res = NULL;

	/* The admin fixes the journal: the next command restores. */
	if (spoil(false)) {
		T("persist_restore.start", 0, "cannot repair %s: %s", pdir, strerror(errno));
		stop();
		return;
	}
	vfnl_replay_forget(RP);
	r = alloc(NULL, NULL, NULL, &res, &e);
	snprintf(name, sizeof(name), "persist_restore.%s.restored_after_fix", kind);
	lr = vfa_lease_load(A->st, vf_pci[0], &got);
	T(name, lr == 0 && !strcmp(got.id, PID) && got.persistent, "VF 0's lease: %s",
	  lr ? "none" : got.id);
	snprintf(name, sizeof(name), "persist_restore.%s.alloc_after_fix_avoids_it", kind);
	T(name, r == 0 && !strcmp(jstr(res, "pci"), vf_pci[1]), "r=%d pci %s: %s", r,
	  jstr(res, "pci"), e.msg);
	json_object_put(res);
	stop();
}

int main(void)
{
	if (access(FIX, R_OK)) {
		t_skip("persist_restore", "run from the source tree: " FIX " not found");
		return t_done();
	}
	scenario("format_newer", spoil_format);
	scenario("mode_refused", spoil_mode);
	return t_done();
}
