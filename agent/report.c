/* What vfagent status, list and watch show: pools, PFs, VFs, leases. */
#include "agent/agent_priv.h"

#include "agent/agent.h"
#include "agent/model.h"

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

/* Per pool: VFs, present, free, leased and the leases; *ret the caller's. */
int vfa_status(struct vfa_agent *c, const struct vfa_opts *o, json_object **ret,
	      struct vfa_err *e)
{
	struct vfa_lease *ls = NULL;
	json_object *pools;
	size_t n = 0;
	int r = vfa_begin_read(c, &ls, &n, e);

	(void)o;		/* status covers every pool */
	if (r)
		return r;
	pools = json_object_new_array();
	for (unsigned int i = 0; i < c->cfg.n_pools; i++) {
		const struct vfa_pool *p = &c->cfg.pools[i];
		json_object *po = json_object_new_object(), *held = json_object_new_array();
		unsigned int present = 0, leased = 0;
		json_object *pfs = json_object_new_array();

		for (unsigned int j = 0; j < p->n_pf; j++) {
			struct pf *pf;
			struct vfa_err e2;

			json_object_array_add(pfs, json_object_new_string(p->pf[j]));
			if (vfa_pf_resolve(c, p->pf[j], p, &pf, &e2) == 0)
				present += pf->link->num_vf < p->vfs ? pf->link->num_vf : p->vfs;
		}
		for (size_t k = 0; k < n; k++)
			if (!strcmp(ls[k].pool, p->name)) {
				json_object_array_add(held, vfa_lease_json(&ls[k]));
				leased++;
			}
		json_object_object_add(po, "pool", json_object_new_string(p->name));
		json_object_object_add(po, "pfs", pfs);
		json_object_object_add(po, "vfs", json_object_new_int(p->n_pf * p->vfs));
		json_object_object_add(po, "present", json_object_new_int(present));
		json_object_object_add(po, "leased", json_object_new_int(leased));
		json_object_object_add(po, "free", json_object_new_int(present > leased ? present - leased : 0));
		json_object_object_add(po, "leases", held);
		json_object_array_add(pools, po);
	}
	free(ls);
	*ret = vfa_result(c, "pools", pools);
	return 0;
}

/* What one list request looked up once for all its VFs: every PCI
 * netdev with its parent device (one link dump, where a dump per VF made
 * list's cost grow with VFs times links), and the last user and group
 * names (the user database is read once per lookup). */
struct list_ctx {
	struct pci_link {
		char pci[16];
		char name[IF_NAMESIZE];
	} *links;
	unsigned int n, cap;
	uid_t uid;
	gid_t gid;
	char user[64], group[64];	/* "" until looked up */
};

static void collect_pci(const struct vfnl_link *l, bool removed, void *ud)
{
	struct list_ctx *x = ud;
	struct pci_link *k;

	(void)removed;
	if (strcmp(l->parent_bus, "pci") || strlen(l->parent_dev) >= sizeof(x->links[0].pci))
		return;
	if (x->n == x->cap) {
		unsigned int cap = x->cap ? 2 * x->cap : 32;
		struct pci_link *n = realloc(x->links, cap * sizeof(*n));

		if (!n)
			return;
		x->links = n;
		x->cap = cap;
	}
	k = &x->links[x->n++];
	memcpy(k->pci, l->parent_dev, strlen(l->parent_dev) + 1);
	memcpy(k->name, l->name, sizeof(k->name));
	k->name[sizeof(k->name) - 1] = '\0';
}

/* The netdev of PCI function pci, or NULL. */
static const char *link_of(const struct list_ctx *x, const char *pci)
{
	for (unsigned int i = 0; i < x->n; i++)
		if (!strcmp(x->links[i].pci, pci))
			return x->links[i].name;
	return NULL;
}

static json_object *owner_json(struct list_ctx *x, uid_t u, gid_t g, mode_t m)
{
	char buf[160];

	if (!x->user[0] || x->uid != u) {
		struct passwd *pw = getpwuid(u);

		snprintf(x->user, sizeof(x->user), "%s", pw ? pw->pw_name : "?");
		x->uid = u;
	}
	if (!x->group[0] || x->gid != g) {
		struct group *gr = getgrgid(g);

		snprintf(x->group, sizeof(x->group), "%s", gr ? gr->gr_name : "?");
		x->gid = g;
	}
	snprintf(buf, sizeof(buf), "%s:%s %04o", x->user, x->group, m & 07777);
	return json_object_new_string(buf);
}

static const char *link_state_str(uint32_t s)
{
	return s == IFLA_VF_LINK_STATE_ENABLE ? "enable" :
	       s == IFLA_VF_LINK_STATE_DISABLE ? "disable" : "auto";
}

static json_object *vf_json(struct vfa_agent *c, struct list_ctx *x, struct pf *pf,
			    unsigned int i, const struct vfa_lease *ls, size_t nl)
{
	json_object *o = json_object_new_object();
	const struct vfnl_vf *v = vfa_pf_vf(pf, i);
	const struct vfa_lease *l;
	const char *netdev;
	char vf[32], drv[VFIO_DRV_LEN] = "", mac[18], node[32];
	int g = -1;

	json_object_object_add(o, "vf", json_object_new_int(i));
	if (vfio_virtfn(c->io, pf->pci, i, vf, sizeof(vf)))
		return o;
	json_object_object_add(o, "pci", json_object_new_string(vf));
	vfio_driver(c->io, vf, drv, sizeof(drv));
	json_object_object_add(o, "driver", drv[0] ? json_object_new_string(drv) : NULL);
	netdev = link_of(x, vf);
	json_object_object_add(o, "netdev", netdev ? json_object_new_string(netdev) : NULL);
	if (vfio_group(c->io, vf, &g) == 0) {
		uid_t u;
		gid_t gg;
		mode_t m;

		json_object_object_add(o, "iommu_group", json_object_new_int(g));
		snprintf(node, sizeof(node), "/dev/vfio/%d", g);
		if (vfio_node_stat(c->io, g, &u, &gg, &m) == 0) {
			json_object_object_add(o, "vfio_node", json_object_new_string(node));
			json_object_object_add(o, "node_owner", owner_json(x, u, gg, m));
		}
	}
	if (v) {
		if (v->has & VFNL_HAS_MAC) {
			vfa_mac_str(v->mac, mac);
			json_object_object_add(o, "mac", json_object_new_string(mac));
		}
		if (v->has & VFNL_HAS_VLAN) {
			json_object_object_add(o, "vlan", json_object_new_int(v->vlan));
			json_object_object_add(o, "qos", json_object_new_int(v->qos));
		}
		if (v->has & VFNL_HAS_SPOOFCHK)
			json_object_object_add(o, "spoofchk", json_object_new_boolean(v->spoofchk));
		if (v->has & VFNL_HAS_TRUST)
			json_object_object_add(o, "trust", json_object_new_boolean(v->trust));
		if (v->has & VFNL_HAS_LINK_STATE)
			json_object_object_add(o, "link_state", json_object_new_string(link_state_str(v->link_state)));
		if (v->has & VFNL_HAS_RATE) {
			json_object_object_add(o, "min_tx_rate", json_object_new_int64(v->min_tx_rate));
			json_object_object_add(o, "max_tx_rate", json_object_new_int64(v->max_tx_rate));
		}
	}
	l = vfa_lease_on(ls, nl, vf);
	json_object_object_add(o, "lease", l ? vfa_lease_json(l) : NULL);
	return o;
}

/* Every other PCI netdev with an SR-IOV capability: list shows the whole
 * host, pools or not. */
static void add_unpooled_pfs(struct vfa_agent *c, const struct list_ctx *x)
{
	struct vfpci_sriov sr;
	struct vfpci_addr a;

	for (unsigned int i = 0; i < x->n; i++) {
		const char *pci = x->links[i].pci;
		bool known = false;
		struct vfa_err e;
		struct pf *pf;

		for (unsigned int k = 0; k < c->n_pfs; k++)
			known |= !strcmp(c->pfs[k].pci, pci);
		if (known || vfpci_addr_parse(pci, &a) ||
		    vfpci_sriov(c->pci, &a, &sr))
			continue;
		if (vfa_pf_resolve(c, pci, NULL, &pf, &e) == 0) {
			pf->sriov = sr;
			vfa_pf_max_vfs(c, pf);
		}
	}
}

/* {"damaged_records": N, "fix": text or null}: journal records the fold
 * skipped, and what to do about them. */
static json_object *journal_json(struct vfa_agent *c)
{
	unsigned int n = vfa_lease_damaged(c->st);
	json_object *o = json_object_new_object();

	json_object_object_add(o, "damaged_records", json_object_new_int64(n));
	json_object_object_add(o, "fix", n ? json_object_new_string(VFA_DAMAGED_FIX) : NULL);
	return o;
}

/* One PF of list and its VFs. */
static json_object *list_pf(struct vfa_agent *c, struct list_ctx *x, struct pf *pf,
			    const struct vfa_lease *ls, size_t nl)
{
	json_object *po = json_object_new_object(), *vfs;
	struct vfa_err e;
	char id[32];

	json_object_object_add(po, "pf", json_object_new_string(pf->netdev));
	json_object_object_add(po, "pci", json_object_new_string(pf->pci));
	json_object_object_add(po, "pool", pf->pool ? json_object_new_string(pf->pool->name) : NULL);
	json_object_object_add(po, "up", json_object_new_boolean(pf->link->flags & IFF_UP));
	if (vfa_pf_sriov(c, pf, &e)) {
		json_object_object_add(po, "error", json_object_new_string(e.msg));
		return po;
	}
	json_object_object_add(po, "total_vfs", json_object_new_int(pf->max_vfs));
	if (pf->max_vfs != pf->sriov.total_vfs)
		json_object_object_add(po, "total_vfs_config",
				       json_object_new_int(pf->sriov.total_vfs));
	json_object_object_add(po, "num_vfs", json_object_new_int(pf->link->num_vf));
	snprintf(id, sizeof(id), "%04x", pf->sriov.vf_device);
	json_object_object_add(po, "vf_device", json_object_new_string(id));
	json_object_object_add(po, "truncated", json_object_new_boolean(pf->link->truncated));
	vfs = json_object_new_array();
	for (unsigned int k = 0; k < pf->link->num_vf && k < VFNL_MAX_VFS; k++)
		json_object_array_add(vfs, vf_json(c, x, pf, k, ls, nl));
	json_object_object_add(po, "vfs", vfs);
	return po;
}

/* Every SR-IOV PF (or o->pf only) and its VFs; *ret the caller's. One
 * link dump per request, whatever the number of PFs and VFs. */
int vfa_list(struct vfa_agent *c, const struct vfa_opts *o, json_object **ret,
	      struct vfa_err *e)
{
	struct list_ctx x = { .links = NULL };
	struct vfa_lease *ls = NULL;
	struct pf *only = NULL;	/* list PF: reconcile may have cached others */
	json_object *out;
	size_t nl = 0;
	int r = vfa_begin_read(c, &ls, &nl, e);

	if (r)
		return r;
	if (o->pf)
		r = vfa_pf_resolve(c, o->pf, NULL, &only, e);
	for (unsigned int i = 0; !r && !o->pf && i < c->cfg.n_pools; i++)
		for (unsigned int j = 0; !r && j < c->cfg.pools[i].n_pf; j++) {
			struct pf *pf;

			r = vfa_pf_resolve(c, c->cfg.pools[i].pf[j], &c->cfg.pools[i], &pf, e);
		}
	if (r)
		goto out;
	if (vfnl_dump_links(c->nl, collect_pci, &x))
		x.n = 0;	/* no netdev names, no unpooled PFs: as before */
	else if (!o->pf)
		add_unpooled_pfs(c, &x);
	out = json_object_new_array();
	for (unsigned int i = 0; i < c->n_pfs; i++)
		if (!only || &c->pfs[i] == only)
			json_object_array_add(out, list_pf(c, &x, &c->pfs[i], ls, nl));
	*ret = vfa_result(c, "pfs", out);
	json_object_object_add(*ret, "journal", journal_json(c));
out:
	free(x.links);
	free(ls);
	return r;
}

static int numa_node(struct vfa_agent *c, const char *pci)
{
	char path[512], buf[16] = "";
	FILE *f;

	if (vfio_path(c->io, false, path, sizeof(path), "/bus/pci/devices/%s/numa_node", pci))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0] ? atoi(buf) : -1;
}

/* VF i of pf for watch: healthy while the PF is up, the VF is on
 * vfio-pci and its /dev/vfio node exists. */
static json_object *watch_vf(struct vfa_agent *c, const struct vfa_pool *p, struct pf *pf,
			     unsigned int i, const struct vfa_lease *ls, size_t nl)
{
	json_object *o = json_object_new_object();
	char vf[32], drv[VFIO_DRV_LEN] = "";
	const struct vfa_lease *l;
	bool healthy = pf->link->flags & IFF_UP;
	uid_t u;
	gid_t g;
	mode_t m;
	int grp = -1;
	struct vfa_err e;

	if (vfa_vf_pci(c, pf, i, vf, sizeof(vf), &e)) {
		json_object_put(o);
		return NULL;
	}
	/* The daemon recomputes this after every change while a watcher is
	 * connected: a VF its model saw on vfio-pci costs a readlink and a
	 * stat (still in that group, node there), not every sysfs look. */
	if (vfa_model_vf_ready(c, vf, &grp)) {
		snprintf(drv, sizeof(drv), "vfio-pci");
	} else {
		vfio_driver(c->io, vf, drv, sizeof(drv));
		if (vfio_group(c->io, vf, &grp))
			grp = -1;
		healthy &= grp >= 0 && vfio_node_stat(c->io, grp, &u, &g, &m) == 0;
	}
	healthy &= !strcmp(drv, "vfio-pci");
	json_object_object_add(o, "pool", json_object_new_string(p->name));
	json_object_object_add(o, "pf", json_object_new_string(pf->netdev));
	json_object_object_add(o, "pci", json_object_new_string(vf));
	json_object_object_add(o, "vf", json_object_new_int(i));
	json_object_object_add(o, "iommu_group", grp >= 0 ? json_object_new_int(grp) : NULL);
	json_object_object_add(o, "numa_node", json_object_new_int(numa_node(c, vf)));
	json_object_object_add(o, "driver", drv[0] ? json_object_new_string(drv) : NULL);
	json_object_object_add(o, "health", json_object_new_string(healthy ? "healthy" : "unhealthy"));
	l = vfa_lease_on(ls, nl, vf);
	json_object_object_add(o, "lease", l ? vfa_lease_json(l) : NULL);
	return o;
}

/* One pool for watch: {"pool","pfs":[...],"vfs":[...]}. */
static json_object *watch_pool(struct vfa_agent *c, const struct vfa_pool *p,
			       const struct vfa_lease *ls, size_t nl)
{
	json_object *po = json_object_new_object(), *pfs = json_object_new_array(),
		    *vfs = json_object_new_array();
	struct vfpci_addr a;

	for (unsigned int j = 0; j < p->n_pf; j++) {
		json_object *pj = json_object_new_object();
		struct vfa_err e2;
		struct pf *pf = NULL;
		bool present = vfa_pf_resolve(c, p->pf[j], p, &pf, &e2) == 0;
		bool pci = vfpci_addr_parse(p->pf[j], &a) == 0;

		json_object_object_add(pj, "pf", json_object_new_string(present ? pf->netdev : p->pf[j]));
		json_object_object_add(pj, "pci", present ? json_object_new_string(pf->pci) :
				       pci ? json_object_new_string(p->pf[j]) : NULL);
		json_object_object_add(pj, "up", json_object_new_boolean(present && (pf->link->flags & IFF_UP)));
		json_object_object_add(pj, "present", json_object_new_boolean(present));
		json_object_array_add(pfs, pj);
		for (unsigned int i = 0; present && i < p->vfs && i < pf->link->num_vf; i++) {
			json_object *v = watch_vf(c, p, pf, i, ls, nl);

			if (v)
				json_object_array_add(vfs, v);
		}
	}
	json_object_object_add(po, "pool", json_object_new_string(p->name));
	json_object_object_add(po, "pfs", pfs);
	json_object_object_add(po, "vfs", vfs);
	return po;
}

/**
 * vfa_watch_state() - the pools as watch streams them, read now
 * @ret: {"pools":[POOL...],"leases":[LEASE...]} (doc/PROTOCOL.md), the
 *	caller's; "leases" holds every journaled lease, PF present or not
 *
 * Reads the kernel and the journal as they are: no reconcile, no state
 * lock (journal records are appended whole, under the journal's lock).
 * Returns 0 or -errno.
 */
int vfa_watch_state(struct vfa_agent *c, json_object **ret, struct vfa_err *e)
{
	struct vfa_lease *ls = NULL;
	json_object *pools, *leases, *o;
	size_t nl = 0;
	int r = vfa_leases_of(c, &ls, &nl, e);

	if (r)
		return r;
	if (c->model.on)
		vfa_model_refresh(c);	/* the daemon's model, up to date */
	else
		vfa_pf_cache_clear(c);
	pools = json_object_new_array();
	leases = json_object_new_array();
	for (unsigned int i = 0; i < c->cfg.n_pools; i++)
		json_object_array_add(pools, watch_pool(c, &c->cfg.pools[i], ls, nl));
	for (size_t k = 0; k < nl; k++)
		json_object_array_add(leases, vfa_lease_json(&ls[k]));
	free(ls);
	o = json_object_new_object();
	json_object_object_add(o, "pools", pools);
	json_object_object_add(o, "leases", leases);
	*ret = o;
	return 0;
}
