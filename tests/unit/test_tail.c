/* The daemon's publish and sweep without per-VF rereads (issue 10's
 * p99): the fleet snapshot comes from the model (no link dump, no sysfs
 * walk once seen), the sweep verifies the model in place instead of
 * dropping it, the CDI spec is compared in memory, not read back. On the
 * fake lab host of test_policy.c (its tree, replay and helpers are
 * included, its own tests are not run here). */
#define main policy_main
int policy_main(void);
#include "tests/unit/test_policy.c"
#undef main

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "agent/fleet.h"
#include "agent/model.h"
#include "tests/unit/t_text.h"
#include "vfio/vfio.h"

static struct vfa_fleet *fleet_on_fake(void)
{
	struct vfa_fleet *f = calloc(1, sizeof(*f));

	if (f && vfio_ctx_new(sys_path, dev_path, &f->io) == 0)
		return f;
	free(f);
	return NULL;
}

static void fleet_done(struct vfa_fleet *f)
{
	vfio_ctx_free(f->io);
	free(f->cdi.txt);
	free(f->metrics.txt);
	free(f);
}

/* Every VF link of the PF and every VF's iommu_group link removed: what
 * is read from sysfs after this finds nothing. */
static void break_sysfs(void)
{
	char p[512];

	for (int i = 0; i < 7; i++) {
		snprintf(p, sizeof(p), "%s/bus/pci/devices/" PF_PCI "/virtfn%d", sys_path, i);
		unlink(p);
		snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/iommu_group", sys_path, vf_pci[i]);
		unlink(p);
	}
}

static bool snap_is_lab(const struct vfa_fleet *f, char *why, size_t len)
{
	if (f->snap.n_vfs != 7 || f->snap.n_pfs != 1 || !f->snap.pfs[0].present)
		return snprintf(why, len, "%zu VFs, %zu PFs", f->snap.n_vfs, f->snap.n_pfs), false;
	for (int i = 0; i < 7; i++)
		if (strcmp(f->snap.vfs[i].pci, vf_pci[i]) || f->snap.vfs[i].group != 10 + i)
			return snprintf(why, len, "VF %d: %s group %d", i, f->snap.vfs[i].pci,
					f->snap.vfs[i].group), false;
	return true;
}

/* The second publish reads neither the kernel's link table nor sysfs. */
static void test_snapshot_from_model(void)
{
	struct vfa_fleet *f;
	char why[128] = "";
	size_t gl;
	int r;

	if (start(POOL7, true, false) || !(f = fleet_on_fake())) {
		T("tail.snapshot.start", 0, "cannot set up the fake host");
		return;
	}
	vfa_model_enable(A, NULL, NULL);
	r = vfa_fleet_snapshot_model(f, A);
	T("tail.snapshot_first", r == 0 && snap_is_lab(f, why, sizeof(why)), "r=%d %s", r, why);
	break_sysfs();
	gl = vfnl_replay_count(RP, RTM_GETLINK);
	r = vfa_fleet_snapshot_model(f, A);
	T("tail.snapshot_no_sysfs", r == 0 && snap_is_lab(f, why, sizeof(why)), "r=%d %s", r, why);
	T_EQ_INT("tail.snapshot_no_getlink", vfnl_replay_count(RP, RTM_GETLINK) - gl, 0);
	fleet_done(f);
	stop();
}

/* A VF removed and added again (uevents) may come back in another IOMMU
 * group: its group is looked up again, the others' are not. */
static void test_uevent_forgets_group(void)
{
	struct vfio_uevent ev = { .action = VFIO_UEV_REMOVE, .group = -1 };
	struct vfa_fleet *f;
	char p[512];
	int r;

	if (start(POOL7, true, false) || !(f = fleet_on_fake())) {
		T("tail.uevent.start", 0, "cannot set up the fake host");
		return;
	}
	vfa_model_enable(A, NULL, NULL);
	vfa_model_uevents(A, true);
	r = vfa_fleet_snapshot_model(f, A);
	snprintf(ev.pci, sizeof(ev.pci), "%s", vf_pci[2]);
	vfa_model_uevent(A, &ev);
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/iommu_group", sys_path, vf_pci[2]);
	unlink(p);
	r |= symlink("../../../../kernel/iommu_groups/30", p);
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/iommu_group", sys_path, vf_pci[3]);
	unlink(p);	/* no uevent for VF 3: its cached group stands */
	r |= vfa_fleet_snapshot_model(f, A);
	T("tail.uevent_group_reread", r == 0 && f->snap.vfs[2].group == 30 &&
	  f->snap.vfs[3].group == 13, "r=%d groups %d %d", r, f->snap.vfs[2].group,
	  f->snap.vfs[3].group);
	fleet_done(f);
	stop();
}

/* The sweep keeps what still holds: one GETLINK per PF, the VFs' addresses
 * and the VFs trusted on vfio-pci stay; a VF whose node went is dropped. */
static void test_sweep_in_place(void)
{
	char p[512];
	int g = -1;
	size_t gl;

	if (start(POOL7, true, false) || vfa_pf_resolve(A, "eth0", NULL, &(struct pf *){ NULL },
							&(struct vfa_err){ "", 0 })) {
		T("tail.sweep.start", 0, "cannot set up the fake host");
		return;
	}
	vfa_model_enable(A, NULL, NULL);
	vfa_model_uevents(A, true);
	for (int i = 0; i < 7; i++) {
		vfa_model_vf_addr_seen(A, &A->pfs[0], (unsigned int)i, vf_pci[i]);
		vfa_model_vf_seen(A, vf_pci[i], 10 + i);
	}
	gl = vfnl_replay_count(RP, RTM_GETLINK);
	vfa_model_sweep(A);
	T_EQ_INT("tail.sweep_one_getlink", vfnl_replay_count(RP, RTM_GETLINK) - gl, 1);
	T("tail.sweep_keeps_model", A->n_pfs == 1 && A->pfs[0].vf_pci && A->model.n_vfs == 7 &&
	  vfa_model_vf_ready(A, vf_pci[4], &g) && g == 14, "n_pfs %u vf_pci %p n_vfs %u group %d",
	  A->n_pfs, (void *)A->pfs[0].vf_pci, A->model.n_vfs, g);
	/* A node removed by hand sends no uevent: the sweep finds it. */
	snprintf(p, sizeof(p), "%s/vfio/15", dev_path);
	unlink(p);
	vfa_model_sweep(A);
	T("tail.sweep_node_gone_forgotten", A->model.n_vfs == 6 && !vfa_model_vf_ready(A, vf_pci[5], &g),
	  "n_vfs %u", A->model.n_vfs);
	stop();
}

/* Descriptors open in this process now. */
static int fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* The sweep closes the /dev/vfio nodes the daemon keeps open (sysk's
 * vfio_ctx_keep_nodes), so that a link put on the way to one is seen
 * within a sweep; the in-place sweep at first kept them for good. Root
 * only (mknod of a character device). */
static void test_sweep_reopens_nodes(void)
{
	char p[512];
	int n0, n1, n2;

	if (geteuid() != 0) {
		t_skip("tail.sweep_reopens_nodes", "not root: cannot mknod a character device");
		return;
	}
	if (start(POOL7, true, false) || vfa_pf_resolve(A, "eth0", NULL, &(struct pf *){ NULL },
							&(struct vfa_err){ "", 0 })) {
		T("tail.sweep_reopens.start", 0, "cannot set up the fake host");
		return;
	}
	vfa_model_enable(A, NULL, NULL);
	vfa_model_uevents(A, true);
	snprintf(p, sizeof(p), "%s/vfio/15", dev_path);
	unlink(p);
	if (mknod(p, S_IFCHR | 0600, makedev(1, 3)) < 0) {
		t_skip("tail.sweep_reopens_nodes", "mknod failed in the temp dir");
		stop();
		return;
	}
	n0 = fds_open();
	vfio_node_own(A->io, 15, 0, 0, 0660);
	n1 = fds_open();
	vfa_model_sweep(A);
	n2 = fds_open();
	/* n1 may hold the dev dir's descriptor too, opened at first use. */
	T("tail.sweep_reopens_nodes", n1 > n0 && n2 == n1 - 1, "fds %d, %d with the node kept, %d after the sweep",
	  n0, n1, n2);
	stop();
}

/* GETLINK dumps sent since the replay's request list was last forgotten. */
static size_t dumps(void)
{
	size_t n = 0, len;

	for (size_t i = 0; i < vfnl_replay_count(RP, RTM_GETLINK); i++) {
		const struct nlmsghdr *m = vfnl_replay_sent(RP, RTM_GETLINK, i, &len);

		n += m && (m->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	}
	return n;
}

/* A PF named by PCI address is found by a link dump once; after the model
 * dropped it (a link removed, events lost, a worker's job), one GETLINK
 * by the ifindex found then, checked against the address. */
static void test_pci_pf_no_dump(void)
{
	struct vfa_err e = { "", 0 };
	struct pf *pf = NULL;
	int r;

	if (start("[pool net1]\npf = " PF_PCI "\nvfs = 7\n", true, false)) {
		T("tail.pci_pf.start", 0, "cannot set up the fake host");
		return;
	}
	vfa_model_enable(A, NULL, NULL);
	r = vfa_pf_resolve(A, PF_PCI, NULL, &pf, &e);
	T("tail.pci_pf_first_dump", r == 0 && dumps() == 1 && !strcmp(pf->netdev, "eth0"),
	  "r=%d %s; %zu dumps", r, e.msg, dumps());
	vfnl_replay_forget(RP);
	vfa_model_invalidate(A);
	vfa_model_refresh(A);
	r = vfa_pf_resolve(A, PF_PCI, NULL, &pf, &e);
	T("tail.pci_pf_again_no_dump", r == 0 && dumps() == 0 &&
	  vfnl_replay_count(RP, RTM_GETLINK) == 1 && !strcmp(pf->netdev, "eth0"),
	  "r=%d %s; %zu dumps, %zu GETLINKs", r, e.msg, dumps(), vfnl_replay_count(RP, RTM_GETLINK));
	stop();
}

/* path's first len - 1 bytes into buf, NUL-ended ("" if unreadable). */
static char *file_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static bool file_is(const char *path, const char *want)
{
	char buf[64];

	return !strcmp(file_text(path, buf, sizeof(buf)), want);
}

static bool file_has(const char *path, const char *want)
{
	char buf[8192];

	return strstr(file_text(path, buf, sizeof(buf)), want) != NULL;
}

/* The CDI spec is compared with what the daemon wrote, not read back:
 * an unchanged publish touches no file; a change is written. The metrics
 * file is written on each change with mode 0644 whatever the umask. */
static void test_publish_in_memory(void)
{
	char conf[1024], cdi[512], prom[512];
	struct vfa_err e = { "", 0 };
	struct vfa_fleet *f;
	struct stat st;
	mode_t old;
	int r;

	snprintf(conf, sizeof(conf), "%s[serve]\ncdi-dir = /tmp/vfagent-tail-cdi.%d\nmetrics-file = /tmp/vfagent-tail-%d.prom\n",
		 POOL7, (int)getpid(), (int)getpid());
	snprintf(cdi, sizeof(cdi), "/tmp/vfagent-tail-cdi.%d/" VFA_CDI_FILE, (int)getpid());
	snprintf(prom, sizeof(prom), "/tmp/vfagent-tail-%d.prom", (int)getpid());
	if (start(conf, true, false) || !(f = fleet_on_fake())) {
		T("tail.publish.start", 0, "cannot set up the fake host");
		return;
	}
	vfa_model_enable(A, NULL, NULL);
	old = umask(077);
	f->umask = 077;
	r = vfa_fleet_publish(f, A, false, &e);
	T("tail.publish_first", r == 0 && stat(cdi, &st) == 0 && stat(prom, &st) == 0 &&
	  (st.st_mode & 0777) == 0644, "r=%d %s; mode %o", r, e.msg, (unsigned)st.st_mode & 0777);
	{
		FILE *w = fopen(cdi, "w");

		if (w) {
			fputs("edited", w);
			fclose(w);
		}
	}
	r = vfa_fleet_publish(f, A, false, &e);
	T("tail.publish_cdi_not_read_back", r == 0 && file_is(cdi, "edited"), "r=%d %s", r, e.msg);
	/* The sweep's publish looks at the file: put back. */
	vfa_fleet_recheck(f);
	r = vfa_fleet_publish(f, A, false, &e);
	T("tail.publish_recheck_restores", r == 0 && file_has(cdi, "\"/dev/vfio/10\""), "r=%d %s", r, e.msg);
	/* A VF's group changes (uevents lost): the spec is written again. */
	snprintf(conf, sizeof(conf), "%s/bus/pci/devices/%s/iommu_group", sys_path, vf_pci[0]);
	unlink(conf);
	r = symlink("../../../../kernel/iommu_groups/40", conf);
	vfa_model_uevents_lost(A);
	r |= vfa_fleet_publish(f, A, false, &e);
	T("tail.publish_cdi_change_written", r == 0 && file_has(cdi, "\"/dev/vfio/40\""),
	  "r=%d %s", r, e.msg);
	umask(old);
	unlink(cdi);
	unlink(prom);
	snprintf(conf, sizeof(conf), "/tmp/vfagent-tail-cdi.%d", (int)getpid());
	rmdir(conf);
	fleet_done(f);
	stop();
}

int main(void)
{
	if (access(FIX, R_OK)) {
		t_skip("tail", "run from the source tree: " FIX " not found");
		return t_done();
	}
	test_snapshot_from_model();
	test_uevent_forgets_group();
	test_sweep_in_place();
	test_sweep_reopens_nodes();
	test_publish_in_memory();
	test_pci_pf_no_dump();
	return t_done();
}
