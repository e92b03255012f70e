/* The daemon's model after a worker's job (agent/serve_job.c job_done,
 * agent/model.c): the request after a job must not reread every PF, VF
 * and lease. The worker's changes reach the model as anyone's do: its
 * journal records are read on from where the fold stopped, its SETLINKs
 * come as link events (the PF reread, one GETLINK; its VFs kept while
 * uevents say none was recreated), its binds as uevents. Counted on a
 * vfnl replay of the lab's igb PF and a fake sysfs tree whose VF links
 * are removed before that request: a sysfs look fails, so a VF found is
 * one the model kept. Counts, never timings. No root, no kernel. */
#include <dirent.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent_priv.h"
#include "agent/fleet.h"
#include "agent/journal_priv.h"
#include "agent/model.h"
#include "nl/vfnl_priv.h"
#include "vfio/vfio.h"
#include "tests/unit/t.h"
#include "tests/unit/t_host.h"

/* What a sysfs look would need is gone: the VF links of the PF. */
static int sys_forget(void)
{
	char b[256], p[512];

	for (int i = 0; i < T_NVF; i++) {
		snprintf(b, sizeof(b), "sys/bus/pci/devices/" T_PF_PCI "/virtfn%d", i);
		if (t_path(p, sizeof(p), b) || unlink(p))
			return -errno;
	}
	return 0;
}

/* The daemon's agent, warm as after some requests: the model on (with
 * uevents if uev), its PF resolved, the PF's VF addresses and the VFs on
 * vfio-pci (group 10 + i) known. */
static int warm(struct vfa_agent **ret, struct vfnl_replay **ret_rp, bool uev,
		struct pf **ret_pf)
{
	struct vfa_err e = { "", 0 };
	char buf[32];
	int r = t_open_agent("jobmodel", true, ret, ret_rp);

	if (r)
		return r;
	vfa_model_enable(*ret, NULL, NULL);
	vfa_model_uevents(*ret, uev);
	r = vfa_begin(*ret, &e);
	vfa_state_unlock((*ret)->st);
	r = r ? r : vfa_pf_resolve(*ret, "eth0", vfa_config_pool(&(*ret)->cfg, "p"), ret_pf, &e);
	for (unsigned int i = 0; !r && i < T_NVF; i++) {
		r = vfa_vf_pci(*ret, *ret_pf, i, buf, sizeof(buf), &e);
		vfa_model_vf_seen(*ret, t_vf_pci[i], 10 + (int)i);
	}
	if (r)
		printf("# warm: %s\n", e.msg[0] ? e.msg : strerror(-r));
	return r;
}

/* The echo of the worker's SETLINK on pf, as the daemon's monitor reads
 * it (someone else's: not ours just acked). */
static void worker_link_event(struct vfa_agent *c, const struct pf *pf)
{
	struct vfnl_link l;

	memset(&l, 0, sizeof(l));
	l.ifindex = pf->link->ifindex;
	l.flags = pf->link->flags;
	vfa_model_link(c, &l, false);
}

/* VFs the model still gives (address, and on vfio-pci with its group)
 * with sysfs unable to: kept, not reread. */
static unsigned int vfs_kept(struct vfa_agent *c, struct pf *pf)
{
	struct vfa_err e = { "", 0 };
	unsigned int n = 0;
	char buf[32];
	int g;

	for (unsigned int i = 0; i < T_NVF; i++)
		n += vfa_vf_pci(c, pf, i, buf, sizeof(buf), &e) == 0 && !strcmp(buf, t_vf_pci[i]) &&
		     vfa_model_vf_ready(c, t_vf_pci[i], &g) && g == 10 + (int)i;
	return n;
}

/* A worker's job (a lease journaled, a SETLINK on the PF), then the
 * next request: its begin, the lease list, the PF and the VFs. */
static void test_request_after_job(void)
{
	struct vfa_agent *c = NULL, *w = NULL;
	struct vfnl_replay *rp = NULL, *wrp = NULL;
	struct vfa_err e = { "", 0 };
	struct vfa_lease *ls = NULL;
	struct pf *pf = NULL, *pf2 = NULL;
	size_t n = 0, dumps = 99, one = 99;
	unsigned int gen;
	int r = warm(&c, &rp, true, &pf);

	r = r ? r : t_open_agent("jobmodel", false, &w, &wrp);
	r = r ? r : t_lease(c, 0, VFA_LS_READY);		/* a lease the daemon had */
	r = r ? r : vfa_agent_leases(c, &ls, &n);
	free(ls);
	ls = NULL;
	gen = c->st->jgen;
	r = r ? r : t_lease(w, 1, VFA_LS_READY);		/* the worker's */
	if (r) {
		T("jobmodel.setup", 0, "%s", strerror(-r));
		goto out;
	}
	worker_link_event(c, pf);
	vfa_model_job_done(c, false);
	r = sys_forget();
	vfnl_replay_forget(rp);
	r = r ? r : vfa_begin(c, &e);
	vfa_state_unlock(c->st);
	r = r ? r : vfa_agent_leases(c, &ls, &n);
	r = r ? r : vfa_pf_resolve(c, T_PF_PCI, NULL, &pf2, &e);
	if (r) {
		T("jobmodel.request", 0, "%s", e.msg[0] ? e.msg : strerror(-r));
		goto out;
	}
	t_getlinks(rp, &dumps, &one);
	T_EQ_INT("jobmodel.after_job_no_link_dump", dumps, 0);
	T_EQ_INT("jobmodel.after_job_one_getlink_the_pf_changed", one, 1);
	T("jobmodel.after_job_pf_kept", pf2 == pf && c->n_pfs == 1, "n_pfs %u", c->n_pfs);
	T_EQ_INT("jobmodel.after_job_vfs_not_reread", vfs_kept(c, pf2), T_NVF);
	T("jobmodel.after_job_worker_lease_seen",
	  n == 2 && (!strcmp(ls[0].pci, t_vf_pci[1]) || !strcmp(ls[1].pci, t_vf_pci[1])), "%zu leases", n);
	T("jobmodel.after_job_journal_read_on", c->st->jgen == gen, "journal reopened and read over (gen %u -> %u)",
	  gen, c->st->jgen);
out:
	free(ls);
	vfa_agent_close(w);
	vfa_agent_close(c);
	t_rm_top();
}

/* A worker killed half-way (its lease journaled "allocating", its VF
 * lock gone with it): the next begin reconciles and rolls it back. */
static void test_job_died(void)
{
	struct vfa_agent *c = NULL, *w = NULL;
	struct vfnl_replay *rp = NULL, *wrp = NULL;
	struct vfa_err e = { "", 0 };
	struct vfa_lease *ls = NULL;
	struct pf *pf = NULL;
	size_t n = 99;
	int r = warm(&c, &rp, true, &pf);

	r = r ? r : t_open_agent("jobmodel", false, &w, &wrp);
	r = r ? r : t_lease(w, 2, VFA_LS_ALLOCATING);
	if (r) {
		T("jobmodel.died_setup", 0, "%s", strerror(-r));
		goto out;
	}
	vfa_model_job_done(c, true);
	r = vfa_begin(c, &e);
	vfa_state_unlock(c->st);
	r = r ? r : vfa_agent_leases(c, &ls, &n);
	T("jobmodel.died_reconciled", !r && n == 0, "r=%d %s; %zu leases (%s)", r, e.msg, n,
	  n ? vfa_lease_state_str(vfa_lease_state(&ls[0])) : "");
out:
	free(ls);
	vfa_agent_close(w);
	vfa_agent_close(c);
	t_rm_top();
}

/* What uevents do not say is still looked at again: without the uevent
 * socket a link event forgets the PF's VFs (sriov_numvfs may have
 * recreated them unseen); with it, a VF removed or added is forgotten,
 * address included, and lost uevents forget every VF. */
static void test_vfs_forgotten(void)
{
	struct vfa_agent *c = NULL;
	struct vfnl_replay *rp = NULL;
	struct vfio_uevent ev = { .action = VFIO_UEV_REMOVE, .group = -1 };
	struct vfa_err e = { "", 0 };
	struct pf *pf = NULL;
	char buf[32];
	int r = warm(&c, &rp, false, &pf);

	if (r) {
		T("jobmodel.forget_setup", 0, "%s", strerror(-r));
		goto out;
	}
	worker_link_event(c, pf);
	vfa_model_refresh(c);
	T("jobmodel.no_uevents_link_event_forgets_vfs",
	  !vfa_model_vf_addr(c, pf, 0, buf, sizeof(buf)) && c->model.n_vfs == 0, "n_vfs %u",
	  c->model.n_vfs);
	vfa_agent_close(c);
	t_rm_top();
	c = NULL;
	r = warm(&c, &rp, true, &pf);
	if (r) {
		T("jobmodel.forget_setup2", 0, "%s", strerror(-r));
		goto out;
	}
	snprintf(ev.subsystem, sizeof(ev.subsystem), "pci");
	snprintf(ev.pci, sizeof(ev.pci), "%s", t_vf_pci[1]);
	vfa_model_uevent(c, &ev);
	T("jobmodel.uevent_remove_forgets_that_vf",
	  !vfa_model_vf_addr(c, pf, 1, buf, sizeof(buf)) && vfa_model_vf_addr(c, pf, 0, buf, sizeof(buf)) &&
	  c->model.n_vfs == T_NVF - 1, "n_vfs %u", c->model.n_vfs);
	vfa_model_uevents_lost(c);
	T("jobmodel.uevents_lost_forget_all",
	  !vfa_model_vf_addr(c, pf, 0, buf, sizeof(buf)) && c->model.n_vfs == 0, "n_vfs %u",
	  c->model.n_vfs);
	(void)e;
out:
	vfa_agent_close(c);
	t_rm_top();
}

/* Open descriptors of this process. */
static int fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The daemon's fleet publishes from its model: it holds no netlink
 * socket of its own (a spare fd in the daemon). */
static void test_fleet_no_socket(void)
{
	struct vfa_fleet *f = NULL;
	int before = fds(), r = vfa_fleet_new(NULL, NULL, &f), after = fds();

	T("jobmodel.fleet_opens_no_socket", r == 0 && before >= 0 && after == before,
	  "r=%d fds %d -> %d", r, before, after);
	vfa_fleet_free(f);
}

int main(void)
{
	test_fleet_no_socket();
	test_request_after_job();
	test_job_died();
	test_vfs_forgotten();
	return t_done();
}
