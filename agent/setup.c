/* vfagent setup: make the host match the config. */
#include "agent/agent_priv.h"

#include "agent/agent.h"

#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "nl/vfnl.h"
#include "pci/vfpci.h"
#include "vfio/vfio.h"

/* A leased VF that setup just created (the lease outlived a reboot): on
 * vfio-pci for its domain's next start, with the lease's MAC and VLAN
 * (added to *s), its group journaled. The node's owner is libvirt's. */
static int ready_leased(struct vfa_agent *c, struct pf *pf, const struct vfa_lease *held,
			struct vfnl_vf_set *s, json_object *changes, struct vfa_err *e)
{
	struct vfa_lease l = *held;
	bool ch = false;
	int r, grp;

	r = vfa_make_ready(c, l.pci, &grp, &ch, e);
	if (r)
		return r;
	if (vfa_parse_mac(l.mac, s->mac))
		memset(s->mac, 0, sizeof(s->mac));	/* adopted from a domain XML */
	s->set |= VFNL_SET_MAC | VFNL_SET_VLAN;
	s->vlan = l.vlan;
	s->qos = l.qos;
	vfa_vf_diff(vfa_pf_vf(pf, l.vf), s);
	json_object_array_add(changes, vfa_jfmt("%s vf %u (%s): kept for %s (lease %s)",
						pf->netdev, l.vf, l.pci, l.domain[0] ? l.domain : "its holder", l.id));
	if (grp == l.group)
		return 0;
	l.group = grp;
	return vfa_journal(c, &l, e);
}

static int setup_pf(struct vfa_agent *c, const struct vfa_pool *p, struct pf *pf,
		    const struct vfa_lease *ls, size_t nl, json_object *changes,
		    struct vfa_err *e)
{
	struct vfnl_vf_set sets[VFNL_MAX_VFS];
	unsigned int leased = 0;
	bool created = false;
	char vf[32];
	int r;

	r = vfa_pf_check_vfs(c, pf, e);
	if (r)
		return r;
	for (size_t i = 0; i < nl; i++)
		if (!strcmp(ls[i].pf_pci, pf->pci))
			leased++;
	if (!(pf->link->flags & IFF_UP)) {
		r = vfnl_pf_up(c->nl, pf->link->ifindex);
		if (r)
			return vfa_fail(e, r, "PF %s: bringing it up: %s", pf->netdev, vfnl_errmsg(c->nl));
		json_object_array_add(changes, vfa_jfmt(
			"%s: brought up without addresses", pf->netdev));
		vfa_crash_point("setup.up");
	}
	if (pf->link->num_vf != p->vfs) {
		/* With no VFs yet (after a reboot) leases restored from
		 * persistent state name VFs that creating them harms not. */
		if (leased && pf->link->num_vf)
			return vfa_fail(e, EBUSY, "PF %s has %u VFs, the pool wants %u, but %u are leased: release them first",
					pf->netdev, pf->link->num_vf, p->vfs, leased);
		r = vfio_set_numvfs(c->io, pf->pci, p->vfs, false);
		if (r)
			return vfa_fail(e, r, "PF %s: creating %u VFs: %s", pf->netdev, p->vfs, vfio_errmsg(c->io));
		json_object_array_add(changes, vfa_jfmt(
			"%s: %u VFs created (host-driver autoprobe off)", pf->netdev, p->vfs));
		created = true;
		vfa_crash_point("setup.vfs");
	}
	r = vfa_pf_refresh(c, pf, e);
	if (r)
		return r;
	for (unsigned int i = 0; i < p->vfs; i++) {
		bool ch = false;
		uid_t u;
		gid_t g;
		mode_t m;
		int grp;

		r = vfa_vf_pci(c, pf, i, vf, sizeof(vf), e);
		if (r)
			return r;
		vfa_vf_baseline(p, i, &sets[i]);
		if (vfa_lease_on(ls, nl, vf)) {
			sets[i].set = 0;	/* a leased VF keeps its settings */
			if (created) {
				r = ready_leased(c, pf, vfa_lease_on(ls, nl, vf), &sets[i], changes, e);
				if (r)
					return r;
			}
			continue;
		}
		r = vfa_make_ready(c, vf, &grp, &ch, e);
		if (r)
			return r;
		if (ch)
			json_object_array_add(changes, vfa_jfmt(
				"%s vf %u (%s): bound to vfio-pci", pf->netdev, i, vf));
		if (ch)
			vfa_crash_point("setup.bound");
		vfa_vf_diff(vfa_pf_vf(pf, i), &sets[i]);
		vfa_idle_owner(p, &u, &g, &m);
		r = vfa_own_node(c, grp, u, g, m, e);
		if (r < 0)
			return r;
		if (r)
			json_object_array_add(changes, vfa_jfmt(
				"/dev/vfio/%d: owner %u:%u mode %04o", grp, u, g, m));
	}
	r = vfa_vf_apply(c, pf, sets, p->vfs, e);
	if (r < 0)
		return r;
	if (r)
		json_object_array_add(changes, vfa_jfmt(
			"%s: baseline applied to %d VFs in one message", pf->netdev, r));
	vfa_crash_point("setup.applied");
	return 0;
}

/* Makes the host match the config. */
static int setup_run(struct vfa_agent *c, const struct vfa_opts *o, json_object **ret,
		     struct vfa_err *e)
{
	json_object *changes = json_object_new_array();
	struct vfa_lease *ls = NULL;
	size_t nl = 0;
	int r = vfa_begin(c, e);

	(void)o;		/* setup takes everything from the config */
	if (r) {
		json_object_put(changes);
		return r;
	}
	r = vfa_leases_of(c, &ls, &nl, e);
	/* Every PF resolved and checked before any is touched. */
	for (unsigned int i = 0; !r && i < c->cfg.n_pools; i++) {
		const struct vfa_pool *p = &c->cfg.pools[i];

		for (unsigned int j = 0; !r && j < p->n_pf; j++) {
			struct pf *pf;

			r = vfa_pf_resolve(c, p->pf[j], p, &pf, e);
			/* The config caught the same name twice; this is the same
			 * PF under two names (netdev and PCI address). */
			if (!r && pf->pool != p)
				r = vfa_usage(e, EINVAL, "%s: PF %s (%s) is in pools %s and %s; a PF belongs to one pool",
					      c->cfg.path, p->pf[j], pf->pci, pf->pool->name, p->name);
		}
	}
	for (unsigned int k = 0; !r && k < c->n_pfs; k++)
		if (c->pfs[k].pool)
			r = vfa_pf_check_vfs(c, &c->pfs[k], e);
	for (unsigned int k = 0; !r && k < c->n_pfs; k++)
		if (c->pfs[k].pool)
			r = setup_pf(c, c->pfs[k].pool, &c->pfs[k], ls, nl, changes, e);
	free(ls);
	vfa_state_unlock(c->st);
	if (r) {
		json_object_put(changes);
		return r;
	}
	*ret = json_object_new_object();
	json_object_object_add(*ret, "changed", json_object_new_boolean(json_object_array_length(changes) > 0));
	json_object_object_add(*ret, "changes", changes);
	vfa_finish(c, *ret);
	return 0;
}

/**
 * vfa_setup() - make the host match the config (PFs up, VFs ready).
 *
 * Never asks libvirt: at boot it runs before libvirtd, whose socket may
 * already listen (socket activation) with nobody behind it until setup is
 * done. Leases held by domains are kept; the daemon, started after
 * libvirt, finishes the once-per-boot rebuild from the domains' XML.
 * Returns 0 or -errno; *ret as vfa_dispatch's.
 */
int vfa_setup(struct vfa_agent *c, const struct vfa_opts *o, json_object **ret,
	      struct vfa_err *e)
{
	int r;

	c->no_libvirt = true;
	r = setup_run(c, o, ret, e);
	c->no_libvirt = false;
	return r;
}
