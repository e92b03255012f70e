/* One VF at the pool baseline: its netlink settings, its driver and
 * /dev/vfio node, scrubbing it back for the pool. */
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

/* The settings of a free VF: zero MAC, VLAN 0, the pool's switches. */
void vfa_vf_baseline(const struct vfa_pool *p, unsigned int idx,
		     struct vfnl_vf_set *s)
{
	memset(s, 0, sizeof(*s));
	s->index = idx;
	s->set = VFNL_SET_MAC | VFNL_SET_VLAN | VFNL_SET_SPOOFCHK |
		 VFNL_SET_TRUST | VFNL_SET_LINK_STATE | VFNL_SET_RATE;
	s->spoofchk = p->spoofchk;
	s->trust = p->trust;
	s->link_state = p->link_state;
	s->max_tx_rate = p->max_rate;
}

/* Keeps only the settings that differ from what the driver reports, so
 * a second run sends nothing and drivers are not asked for what they
 * already do (the kernel applies VF attributes one by one). */
void vfa_vf_diff(const struct vfnl_vf *cur, struct vfnl_vf_set *s)
{
	if (!cur)
		return;
	if ((s->set & VFNL_SET_MAC) && (cur->has & VFNL_HAS_MAC) &&
	    !memcmp(cur->mac, s->mac, 6))
		s->set &= ~VFNL_SET_MAC;
	if ((s->set & VFNL_SET_VLAN) && (cur->has & VFNL_HAS_VLAN) &&
	    cur->vlan == s->vlan && cur->qos == s->qos)
		s->set &= ~VFNL_SET_VLAN;
	if ((s->set & VFNL_SET_SPOOFCHK) &&
	    (!(cur->has & VFNL_HAS_SPOOFCHK) || cur->spoofchk == s->spoofchk))
		s->set &= ~VFNL_SET_SPOOFCHK;
	if ((s->set & VFNL_SET_TRUST) &&
	    (!(cur->has & VFNL_HAS_TRUST) || cur->trust == s->trust))
		s->set &= ~VFNL_SET_TRUST;
	if ((s->set & VFNL_SET_LINK_STATE) &&
	    (!(cur->has & VFNL_HAS_LINK_STATE) || cur->link_state == s->link_state))
		s->set &= ~VFNL_SET_LINK_STATE;
	if ((s->set & VFNL_SET_RATE) &&
	    (!(cur->has & VFNL_HAS_RATE) ||
	     (cur->max_tx_rate == s->max_tx_rate && cur->min_tx_rate == s->min_tx_rate)))
		s->set &= ~VFNL_SET_RATE;
}

/* Sends the VF settings s[0..n) to pf in one message; the count sent or
 * -errno with e. */
int vfa_vf_apply(struct vfa_agent *c, struct pf *pf, struct vfnl_vf_set *s, size_t n,
		 struct vfa_err *e)
{
	size_t k = 0;
	int r;

	for (size_t i = 0; i < n; i++)
		if (s[i].set)
			s[k++] = s[i];
	if (!k)
		return 0;
	r = vfnl_set_vfs(c->nl, pf->link->ifindex, s, k);
	if (r == -ENODEV)
		c->model.stale_all = true;	/* the PF went: reread it all */
	if (!r) {
		vfa_model_applied(pf, s, k);
		vfa_model_acked(c, pf);
	}
	if (r)
		return vfa_fail(e, r, "PF %s: setting VF %u: %s%s", pf->netdev,
				s[0].index, *vfnl_errmsg(c->nl) ? vfnl_errmsg(c->nl) : strerror(-r),
				r == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
	return (int)k;
}

/* Who owns a free VF's /dev/vfio node in pool p. */
void vfa_idle_owner(const struct vfa_pool *p, uid_t *u, gid_t *g, mode_t *m)
{
	if (p->keep_owner && p->has_owner) {
		*u = p->uid;
		*g = p->gid;
		*m = p->mode;
	} else {
		*u = 0;
		*g = 0;
		*m = 0600;
	}
}

/* chowns the node only if it differs. Returns 1 if changed. */
int vfa_own_node(struct vfa_agent *c, int group, uid_t u, gid_t g, mode_t m,
		 struct vfa_err *e)
{
	int r = vfio_node_own(c->io, group, u, g, m);

	if (r < 0)
		return vfa_fail(e, r, "/dev/vfio/%d: %s", group, vfio_errmsg(c->io));
	return r;
}

static int host_check(struct vfa_agent *c, struct vfa_err *e)
{
	int r = vfio_check_host(c->io);

	if (r)
		return vfa_fail(e, r, "%s", vfio_errmsg(c->io));
	return 0;
}

/* Puts a VF on vfio-pci, checks its group, waits for its node. */
int vfa_make_ready(struct vfa_agent *c, const char *vf, int *ret_group, bool *changed,
		   struct vfa_err *e)
{
	char drv[VFIO_DRV_LEN];
	int r, g;

	/* The daemon's model: last seen on vfio-pci and its node is there. */
	if (vfa_model_vf_ready(c, vf, &g)) {
		*ret_group = g;
		return 0;
	}
	r = vfio_driver(c->io, vf, drv, sizeof(drv));
	if (r)
		return vfa_fail(e, r, "VF %s: %s", vf, vfio_errmsg(c->io));
	if (strcmp(drv, "vfio-pci")) {
		r = host_check(c, e);
		if (r)
			return r;
		r = vfio_bind(c->io, vf, "vfio-pci");
		if (r)
			return vfa_fail(e, r, "VF %s: binding to vfio-pci: %s", vf, vfio_errmsg(c->io));
		*changed = true;
	}
	r = vfio_group(c->io, vf, &g);
	if (r == -ENOENT)
		return vfa_fail(e, r, "VF %s has no IOMMU group: the IOMMU is off; boot with intel_iommu=on iommu=pt (or amd_iommu=on) and enable VT-d/AMD-Vi in firmware", vf);
	if (r)
		return vfa_fail(e, r, "VF %s: %s", vf, vfio_errmsg(c->io));
	r = vfio_group_viable(c->io, g);
	if (r)
		return vfa_fail(e, r, "VF %s: IOMMU group %d is not viable: %s; bind those to vfio-pci or use another VF",
				vf, g, vfio_errmsg(c->io));
	r = vfio_wait_node(c->io, g, c->node_timeout_ms);
	if (r)
		return vfa_fail(e, r, "/dev/vfio/%d did not appear: %s", g, vfio_errmsg(c->io));
	vfa_model_vf_seen(c, vf, g);
	*ret_group = g;
	return 0;
}

/* The PCI address of VF idx of pf into buf, or -errno with e. */
int vfa_vf_pci(struct vfa_agent *c, struct pf *pf, unsigned int idx, char *buf,
	       size_t len, struct vfa_err *e)
{
	int r;

	if (vfa_model_vf_addr(c, pf, idx, buf, len))
		return 0;	/* the daemon's model: no sysfs look per VF */
	r = vfio_virtfn(c->io, pf->pci, idx, buf, len);
	if (r)
		return vfa_fail(e, r, "PF %s has no VF %u: run vfagent setup", pf->netdev, idx);
	vfa_model_vf_addr_seen(c, pf, idx, buf);
	return 0;
}

/* Has l's VF gone away (sriov_numvfs set to 0 or lower under the lease)?
 * Then nothing of it is left to scrub: its settings and its IOMMU group
 * went with it, and a group number may since name another device. */
static bool vf_gone(struct vfa_agent *c, const struct vfa_lease *l)
{
	char cur[32];
	int r;

	/* The daemon's model knows the PF's VFs (forgotten on any change of
	 * its VF count): no readlink per release. */
	for (unsigned int i = 0; c->model.on && i < c->n_pfs; i++)
		if (!strcmp(c->pfs[i].pci, l->pf_pci) &&
		    vfa_model_vf_addr(c, &c->pfs[i], l->vf, cur, sizeof(cur)))
			return strcmp(cur, l->pci) != 0;
	r = vfio_virtfn(c->io, l->pf_pci, l->vf, cur, sizeof(cur));
	return r == -ENOENT || (r == 0 && strcmp(cur, l->pci));
}

/* Scrubs a VF back to the pool baseline and idles its node. Used by
 * release, by a failed alloc and by reconcile. */
int vfa_scrub(struct vfa_agent *c, const struct vfa_lease *l, struct vfa_err *e)
{
	const struct vfa_pool *p = vfa_config_pool(&c->cfg, l->pool);
	struct vfnl_vf_set s;
	struct pf *pf;
	uid_t u;
	gid_t g;
	mode_t m;
	int r, grp;

	if (!p)
		return vfa_fail(e, ENOENT, "lease %s: pool %s is no longer configured", l->id, l->pool);
	if (vf_gone(c, l))
		return 0;
	r = vfa_pf_resolve(c, l->pf_pci, p, &pf, e);
	if (r)
		return r;
	/* The daemon's model is kept fresh by link events (model.c). */
	r = c->model.on ? 0 : vfa_pf_refresh(c, pf, e);
	if (r)
		return r;
	vfa_vf_baseline(p, l->vf, &s);
	vfa_vf_diff(vfa_pf_vf(pf, l->vf), &s);
	r = vfa_vf_apply(c, pf, &s, 1, e);
	if (r < 0)
		return r;
	vfa_idle_owner(p, &u, &g, &m);
	/* A crash between make_ready and the next journal write leaves the
	 * group unjournaled while the node may already be the VM user's. */
	grp = l->group;
	if (grp < 0 && vfio_group(c->io, l->pci, &grp))
		grp = -1;
	if (grp < 0)
		return 0;
	/* No node (the group's last device left vfio-pci): nothing to idle. */
	r = vfio_node_own(c->io, grp, u, g, m);
	if (r < 0 && r != -ENOENT)
		return vfa_fail(e, r, "/dev/vfio/%d: %s", grp, vfio_errmsg(c->io));
	return 0;
}
