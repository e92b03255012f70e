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
#include "tests/unit/t_host.h"

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
	int r = t_open_agent("scale", true, &c, &rp);

	for (unsigned int i = 0; !r && i < 3; i++)
		r = t_lease(c, i, VFA_LS_READY);
	if (!r)
		r = vfa_state_lock(c->st, &e);
	if (r) {
		T("scale.reconcile_setup", 0, "%s", e.msg[0] ? e.msg : strerror(-r));
		goto out;
	}
	vfnl_replay_forget(rp);
	vfa_reconcile_leases(c);
	vfa_state_unlock(c->st);
	t_getlinks(rp, &dumps, &one);
	T_EQ_INT("scale.reconcile_no_link_dump", dumps, 0);
	T_EQ_INT("scale.reconcile_one_getlink_per_pf", one, 1);
	T_EQ_INT("scale.reconcile_sends_no_setlink", vfnl_replay_count(rp, RTM_SETLINK), 0);
	T("scale.reconcile_notes_nothing", json_object_array_length(c->notes) == 0, "notes: %s",
	  json_object_to_json_string(c->notes));
out:
	vfa_agent_close(c);
	t_rm_top();
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
	int r = t_open_agent("scale", true, &c, &rp);

	if (!r) {
		vfnl_replay_forget(rp);
		r = vfa_list(c, &o, &res, &e);
	}
	if (r) {
		T("scale.list_setup", 0, "%s", e.msg[0] ? e.msg : strerror(-r));
		goto out;
	}
	t_getlinks(rp, &dumps, &one);
	T_EQ_INT("scale.list_vfs_shown", vfs_shown(res), 3);
	T_EQ_INT("scale.list_one_link_dump", dumps, 1);
	json_object_put(res);
out:
	vfa_agent_close(c);
	t_rm_top();
}

int main(void)
{
	test_reconcile_reads_pf_once();
	test_list_one_dump();
	return t_done();
}
