/* What a whole-host operation costs in kernel requests, counted on a vfnl
 * replay of the lab's igb PF (tests/fixtures/nl/igb_7vfs_fresh.bin) and a
 * small fake sysfs: reconcile must not grow faster than the leases and
 * PFs it looks at (issue 10, "how cost grows with the host"). Counts,
 * never timings. No root, no kernel. */
#include <dirent.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent_priv.h"
#include "nl/vfnl_priv.h"
#include "tests/unit/t.h"
#include "tests/unit/t_fixture.h"

#define FIX "tests/fixtures/nl/igb_7vfs_fresh.bin"
#define PF_PCI "0000:00:02.0"

static const char *const vf_pci[3] = { "0000:00:12.0", "0000:00:12.2", "0000:00:12.4" };
static char top[128];

static int put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	f = fopen(p, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

/* mkdir -p of top/rel, one component at a time. */
static int mkdirs(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	for (char *s = p + strlen(top) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, 0755) && errno != EEXIST ? -errno : 0;
}

static int ln(const char *target, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	return symlink(target, p) ? -errno : 0;
}

static int copy_dir(const char *src, const char *rel)
{
	return t_copy_dir(top, src, rel);
}

/* The PF's first VFs as sysfs shows them: virtfnN links, on vfio-pci. */
static int fake_sys(void)
{
	char a[256], b[256];
	int r = mkdirs("sys/bus/pci/devices/" PF_PCI);

	r = r ? r : copy_dir("tests/fixtures/pci/igb_pf", "sys/bus/pci/devices/" PF_PCI);

	r = r ? r : mkdirs("sys/bus/pci/drivers/vfio-pci");
	r = r ? r : mkdirs("dev/vfio");
	for (int i = 0; !r && i < 3; i++) {
		snprintf(a, sizeof(a), "sys/bus/pci/devices/%s", vf_pci[i]);
		r = mkdirs(a);
		r = r ? r : copy_dir("tests/fixtures/pci/igb_vf", a);
		snprintf(a, sizeof(a), "../%s", vf_pci[i]);
		snprintf(b, sizeof(b), "sys/bus/pci/devices/" PF_PCI "/virtfn%d", i);
		r = r ? r : ln(a, b);
		snprintf(b, sizeof(b), "sys/bus/pci/devices/%s/driver", vf_pci[i]);
		r = r ? r : ln("../../../../bus/pci/drivers/vfio-pci", b);
	}
	return r;
}

/* An agent over the fake tree and a replay of the recorded PF; *ret_rp
 * the replay (the agent's). */
static int open_agent(struct vfa_agent **ret, struct vfnl_replay **ret_rp)
{
	static unsigned char rec[65536];
	char conf[256], state[256], sys[256], dev[256];
	struct vfa_opts o = { 0 };
	struct vfa_err e = { "", 0 };
	struct vfnl *nl = NULL;
	size_t len;
	FILE *f;
	int r;

	snprintf(top, sizeof(top), "/tmp/vfagent-test-scale.XXXXXX");
	if (!mkdtemp(top))
		return -errno;
	r = fake_sys();
	r = r ? r : put("vfagent.conf", "[pool p]\npf = eth0\nvfs = 7\n");
	if (r)
		return r;
	f = fopen(FIX, "rb");
	if (!f)
		return -errno;
	len = fread(rec, 1, sizeof(rec), f);
	fclose(f);
	r = vfnl_open_replay(rec, len, &nl);
	if (r)
		return r;
	*ret_rp = vfnl_replay_of(nl);
	snprintf(conf, sizeof(conf), "%s/vfagent.conf", top);
	snprintf(state, sizeof(state), "%s/state", top);
	snprintf(sys, sizeof(sys), "%s/sys", top);
	snprintf(dev, sizeof(dev), "%s/dev", top);
	o.config = conf;
	o.state_dir = state;
	o.sys_root = sys;
	o.dev_root = dev;
	o.persist_dir = "";
	r = vfa_agent_open_nl(&o, nl, ret, &e);
	if (r)
		printf("# agent open: %s\n", e.msg);
	return r;
}

/* A ready lease of VF i, as alloc journals it (the PF by PCI address). */
static int lease(struct vfa_agent *c, unsigned int i)
{
	struct vfa_lease l = { .vf = i, .group = 10 + (int)i, .pid = 1, .created = 1 };
	struct vfa_err e = { "", 0 };

	snprintf(l.id, sizeof(l.id), "00000000000000%02x", i);
	vfa_lease_set_state(&l, VFA_LS_READY);
	snprintf(l.pool, sizeof(l.pool), "p");
	snprintf(l.pf, sizeof(l.pf), "eth0");
	snprintf(l.pf_pci, sizeof(l.pf_pci), PF_PCI);
	snprintf(l.pci, sizeof(l.pci), "%s", vf_pci[i]);
	snprintf(l.mac, sizeof(l.mac), "00:00:00:00:00:00");
	return vfa_lease_save(c->st, &l, &e);
}

/* GETLINK requests sent since the last forget: dumps, and single links. */
static void getlinks(const struct vfnl_replay *rp, size_t *ret_dumps, size_t *ret_one)
{
	size_t n = vfnl_replay_count(rp, RTM_GETLINK), d = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		const struct nlmsghdr *m = vfnl_replay_sent(rp, RTM_GETLINK, i, &len);

		d += m && (m->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	}
	*ret_dumps = d;
	*ret_one = n - d;
}

static void rm_top(void)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd))
		printf("# cannot remove %s\n", top);
}

/* Reconcile with three leases on one PF reads that PF once, by the name
 * the pool gives it: no dump of every link (a dump reads the statistics
 * of every PF on the host, once per PF with leases: cost growing with the
 * square of the PFs) and no GETLINK per lease. */
static void test_reconcile_reads_pf_once(void)
{
	struct vfa_agent *c = NULL;
	struct vfnl_replay *rp = NULL;
	struct vfa_err e = { "", 0 };
	size_t dumps = 99, one = 99;
	int r = open_agent(&c, &rp);

	for (unsigned int i = 0; !r && i < 3; i++)
		r = lease(c, i);
	if (!r)
		r = vfa_state_lock(c->st, &e);
	if (r) {
		T("scale.reconcile_setup", 0, "%s", e.msg[0] ? e.msg : strerror(-r));
		goto out;
	}
	vfnl_replay_forget(rp);
	vfa_reconcile_leases(c);
	vfa_state_unlock(c->st);
	getlinks(rp, &dumps, &one);
	T_EQ_INT("scale.reconcile_no_link_dump", dumps, 0);
	T_EQ_INT("scale.reconcile_one_getlink_per_pf", one, 1);
	T_EQ_INT("scale.reconcile_sends_no_setlink", vfnl_replay_count(rp, RTM_SETLINK), 0);
	T("scale.reconcile_notes_nothing", json_object_array_length(c->notes) == 0, "notes: %s",
	  json_object_to_json_string(c->notes));
out:
	vfa_agent_close(c);
	rm_top();
}

/* The VFs list shows with a PCI address. */
static int vfs_shown(json_object *res)
{
	json_object *pfs, *vfs, *pci;
	int n = 0;

	if (!json_object_object_get_ex(res, "pfs", &pfs))
		return -1;
	for (size_t i = 0; i < json_object_array_length(pfs); i++) {
		if (!json_object_object_get_ex(json_object_array_get_idx(pfs, i), "vfs", &vfs))
			continue;
		for (size_t k = 0; k < json_object_array_length(vfs); k++)
			n += json_object_object_get_ex(json_object_array_get_idx(vfs, k), "pci", &pci);
	}
	return n;
}

/* list reads the links once for the whole host: a netdev name per VF
 * was a dump of every link per VF (each dump reading every PF's
 * statistics), a cost growing with VFs times PFs. */
static void test_list_one_dump(void)
{
	struct vfa_agent *c = NULL;
	struct vfnl_replay *rp = NULL;
	struct vfa_opts o = { 0 };
	struct vfa_err e = { "", 0 };
	json_object *res = NULL;
	size_t dumps = 99, one = 99;
	int r = open_agent(&c, &rp);

	if (!r) {
		vfnl_replay_forget(rp);
		r = vfa_list(c, &o, &res, &e);
	}
	if (r) {
		T("scale.list_setup", 0, "%s", e.msg[0] ? e.msg : strerror(-r));
		goto out;
	}
	getlinks(rp, &dumps, &one);
	T_EQ_INT("scale.list_vfs_shown", vfs_shown(res), 3);
	T_EQ_INT("scale.list_one_link_dump", dumps, 1);
	json_object_put(res);
out:
	vfa_agent_close(c);
	rm_top();
}

int main(void)
{
	test_reconcile_reads_pf_once();
	test_list_one_dump();
	return t_done();
}
