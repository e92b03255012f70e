/* The operations behind the CLI: setup, list, alloc, release, status,
 * and the reconcile step that runs under the state lock before each. */
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

#define NODE_TIMEOUT_MS 5000

struct pf {
	char spec[VFA_NAME_LEN];
	char netdev[IF_NAMESIZE];
	char pci[16];
	struct vfpci_addr addr;
	struct vfpci_sriov sriov;	/* valid once pf_sriov() succeeded */
	unsigned int max_vfs;		/* the kernel's sriov_totalvfs (binds) */
	bool have_sriov;
	struct vfnl_link *link;		/* heap: VF table included */
	const struct vfa_pool *pool;
};

struct vfa_agent {
	char state_dir[256];
	int node_timeout_ms;
	struct vfa_config cfg;
	struct vfnl *nl;
	struct vfpci *pci;
	struct vfio_ctx *io;
	struct vfa_state *st;
	struct vfa_virt *virt;
	bool virt_tried;
	struct vfa_err virt_err;	/* why virt is NULL */
	int virt_errno;			/* its -errno: -ENOTSUP = no libvirt here */
	char persist_dir[256];		/* "" = no persistent state */
	struct vfa_state *pst;		/* persistent journal, opened on need */
	struct pf pfs[VFA_MAX_POOLS * VFA_MAX_PFS];
	unsigned int n_pfs;
	json_object *notes;		/* what reconcile repaired or found */
	struct vfa_lease reclaimed[64];	/* leases reconcile finished releasing */
	size_t n_reclaimed;
	bool check_domains;		/* reconcile asks libvirt about each domain */
	struct pf_seen {		/* vfa_check_pfs: the last look at each PF */
		char spec[VFA_NAME_LEN];
		bool missing;
		bool up;
		uint32_t num_vf;
	} seen[VFA_MAX_POOLS * VFA_MAX_PFS];
	unsigned int n_seen;
};

static void pf_cache_clear(struct vfa_agent *c)
{
	for (unsigned int i = 0; i < c->n_pfs; i++)
		free(c->pfs[i].link);
	c->n_pfs = 0;
}

/* Frees everything the agent holds; accepts NULL. */
void vfa_agent_close(struct vfa_agent *c)
{
	if (!c)
		return;
	pf_cache_clear(c);
	vfa_virt_close(c->virt);
	vfa_state_close(c->st);
	vfa_state_close(c->pst);
	vfio_ctx_free(c->io);
	vfpci_close(c->pci);
	vfnl_close(c->nl);
	json_object_put(c->notes);
	free(c);
}

/* Opens what every operation needs: config, rtnetlink, libpci, sysfs and
 * the state dir. *ret is the caller's (vfa_agent_close). */
int vfa_agent_open(const struct vfa_opts *o, struct vfa_agent **ret,
		   struct vfa_err *e)
{
	struct vfa_agent *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return vfa_fail(e, ENOMEM, "out of memory");
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", o->state_dir);
	r = snprintf(c->persist_dir, sizeof(c->persist_dir), "%s",
		     o->persist_dir ? o->persist_dir : VFA_PERSIST_DIR);
	if (r < 0 || (size_t)r >= sizeof(c->persist_dir)) {
		free(c);
		return vfa_usage(e, ENAMETOOLONG, "--persist-dir: path longer than %zu bytes",
				 sizeof(c->persist_dir) - 1);
	}
	c->node_timeout_ms = o->node_timeout_ms > 0 ? o->node_timeout_ms : NODE_TIMEOUT_MS;
	c->notes = json_object_new_array();
	r = vfa_config_load(o->config, &c->cfg, e);
	if (r)
		goto fail;
	r = vfnl_open(&c->nl);
	if (r) {
		vfa_fail(e, r, "rtnetlink: %s", strerror(-r));
		goto fail;
	}
	r = vfpci_open(o->sys_root, &c->pci);
	if (r) {
		vfa_fail(e, r, "libpci: %s", strerror(-r));
		goto fail;
	}
	r = vfio_ctx_new(o->sys_root, o->dev_root, &c->io);
	if (r) {
		vfa_fail(e, r, "vfio: %s", strerror(-r));
		goto fail;
	}
	r = vfa_state_open(o->state_dir, &c->st, e);
	if (r)
		goto fail;
	*ret = c;
	return 0;
fail:
	vfa_agent_close(c);
	return r;
}

/* Rereads the config; on error the old one stays and e says why. */
int vfa_agent_reload(struct vfa_agent *c, struct vfa_err *e)
{
	struct vfa_config *cfg = malloc(sizeof(*cfg));
	int r;

	if (!cfg)
		return vfa_fail(e, ENOMEM, "out of memory");
	r = vfa_config_load(c->cfg.path, cfg, e);
	if (!r) {
		pf_cache_clear(c);
		c->cfg = *cfg;
	}
	free(cfg);
	return r;
}

const struct vfa_config *vfa_agent_config(const struct vfa_agent *c)
{
	return &c->cfg;
}

static json_object *vjfmt(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));
static json_object *vjfmt(const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	return json_object_new_string(buf);
}

static json_object *jfmt(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static json_object *jfmt(const char *fmt, ...)
{
	json_object *o;
	va_list ap;

	va_start(ap, fmt);
	o = vjfmt(fmt, ap);
	va_end(ap);
	return o;
}

/* Records what reconcile repaired or found; shown with the result. */
static void note(struct vfa_agent *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct vfa_agent *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_object_array_add(c->notes, vjfmt(fmt, ap));
	va_end(ap);
}

/* Test hook: VFAGENT_CRASH_AT=NAME kills the process at that point of an
 * alloc, release or setup (tests/README.md, crash matrix), so the lab can
 * prove a kill -9 anywhere loses and doubles no VF. */
static void crash_point(const char *name)
{
	const char *at = getenv("VFAGENT_CRASH_AT");

	if (at && !strcmp(at, name))
		raise(SIGKILL);
}

/* Copies src into dst, or -ENAMETOOLONG: nothing journaled is ever cut. */
static int put_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

/* Writes a lease to the journal and, when persistent, to the persistent
 * journal as well (runtime first: a crash between the two leaves a lease
 * the next command finishes). */
static int journal(struct vfa_agent *c, const struct vfa_lease *l, struct vfa_err *e)
{
	int r = vfa_lease_save(c->st, l, e);

	if (r || !l->persistent || !c->persist_dir[0])
		return r;
	if (!c->pst) {
		r = vfa_persist_open(c->persist_dir, true, &c->pst, e);
		if (r)
			return r;
	}
	return vfa_lease_save(c->pst, l, e);
}

/* Drops a lease, the persistent copy first: no crash leaves a persistent
 * lease without its runtime one. */
static int unjournal(struct vfa_agent *c, const char *pci, struct vfa_err *e)
{
	int r;

	if (!c->pst) {
		r = vfa_persist_open(c->persist_dir, false, &c->pst, e);
		if (r)
			return r;
	}
	if (c->pst) {
		r = vfa_lease_drop(c->pst, pci, e);
		if (r)
			return r;
	}
	return vfa_lease_drop(c->st, pci, e);
}

/* The libvirt connection, opened once per operation at most; e gets the
 * reason when there is none. */
static struct vfa_virt *virt(struct vfa_agent *c, struct vfa_err *e)
{
	if (!c->virt && !c->virt_tried) {
		c->virt_tried = true;
		c->virt_errno = vfa_virt_open(c->cfg.libvirt_uri, &c->virt, &c->virt_err);
	}
	if (!c->virt && e)
		*e = c->virt_err;
	return c->virt;
}

/* Resolves a PF given as netdev or PCI address, through netlink's parent
 * device attributes, and reads its SR-IOV capability. */
static int pf_resolve(struct vfa_agent *c, const char *spec, const struct vfa_pool *p,
		      struct pf **ret, struct vfa_err *e)
{
	struct vfpci_addr a;
	struct pf *pf;
	int r;

	/* A PF is named by the config (netdev or PCI) and by leases (PCI):
	 * one look per operation whichever name is used. */
	for (unsigned int i = 0; i < c->n_pfs; i++)
		if (!strcmp(c->pfs[i].spec, spec) || !strcmp(c->pfs[i].pci, spec) ||
		    !strcmp(c->pfs[i].netdev, spec)) {
			if (p && !c->pfs[i].pool)
				c->pfs[i].pool = p;
			*ret = &c->pfs[i];
			return 0;
		}
	if (c->n_pfs >= sizeof(c->pfs) / sizeof(c->pfs[0]))
		return vfa_fail(e, ENOSPC, "too many PFs");
	pf = &c->pfs[c->n_pfs];
	memset(pf, 0, sizeof(*pf));
	pf->link = calloc(1, sizeof(*pf->link));
	if (!pf->link)
		return vfa_fail(e, ENOMEM, "out of memory");
	snprintf(pf->spec, sizeof(pf->spec), "%s", spec);
	pf->pool = p;
	if (vfpci_addr_parse(spec, &a) == 0) {
		char s[VFPCI_ADDR_LEN];

		r = vfnl_find_pci(c->nl, vfpci_addr_str(&a, s), pf->link);
	} else {
		r = vfnl_get_link(c->nl, 0, spec, pf->link);
	}
	if (r) {
		r = vfa_fail(e, r, "PF %s: %s", spec, r == -ENODEV ?
			     "no such network device (ip link shows the names)" :
			     vfnl_errmsg(c->nl));
		goto fail;
	}
	snprintf(pf->netdev, sizeof(pf->netdev), "%s", pf->link->name);
	if (strcmp(pf->link->parent_bus, "pci") ||
	    vfpci_addr_parse(pf->link->parent_dev, &pf->addr) < 0) {
		r = vfa_fail(e, ENODEV, "PF %s: not a PCI network device", spec);
		goto fail;
	}
	vfpci_addr_str(&pf->addr, pf->pci);
	c->n_pfs++;
	*ret = pf;
	return 0;
fail:
	free(pf->link);
	pf->link = NULL;
	return r;
}

/* The kernel may allow fewer VFs than config space's TotalVFs (igb: 7 of
 * 8); without sysfs (fake trees) config space is all we know. */
static void pf_max_vfs(struct vfa_agent *c, struct pf *pf)
{
	if (vfio_totalvfs(c->io, pf->pci, &pf->max_vfs) || pf->max_vfs > pf->sriov.total_vfs)
		pf->max_vfs = pf->sriov.total_vfs;
	pf->have_sriov = true;
}

/* The PF's SR-IOV capability, read from config space when first needed:
 * setup and list need it, the warm alloc path does not (each config read
 * is slow on emulated and some real hardware). */
static int pf_sriov(struct vfa_agent *c, struct pf *pf, struct vfa_err *e)
{
	int r;

	if (pf->have_sriov)
		return 0;
	r = vfpci_sriov(c->pci, &pf->addr, &pf->sriov);
	if (r)
		return vfa_fail(e, r, "PF %s (%s): %s", pf->netdev, pf->pci,
				r == -ENOENT ? "no SR-IOV capability: this device cannot create VFs" :
				r == -EACCES ? "cannot read PCI config space beyond 64 bytes (needs root with CAP_SYS_ADMIN)" :
				vfpci_errmsg(c->pci));
	pf_max_vfs(c, pf);
	return 0;
}

/* Does the kernel let pf have the pool's VF count? Checked for every PF
 * before setup touches any. */
static int pf_check_vfs(struct vfa_agent *c, struct pf *pf, struct vfa_err *e)
{
	const struct vfa_pool *p = pf->pool;
	int r = pf_sriov(c, pf, e);

	if (r || p->vfs <= pf->max_vfs)
		return r;
	return vfa_usage(e, ERANGE, "%s:%d: pool %s asks for vfs = %u but the kernel allows %u on PF %s (sriov_totalvfs; config space TotalVFs is %u): set vfs = %u or fewer",
			 c->cfg.path, p->line, p->name, p->vfs, pf->max_vfs, pf->netdev,
			 pf->sriov.total_vfs, pf->max_vfs);
}

static int pf_refresh(struct vfa_agent *c, struct pf *pf, struct vfa_err *e)
{
	int r = vfnl_get_link(c->nl, pf->link->ifindex, NULL, pf->link);

	if (r)
		return vfa_fail(e, r, "PF %s: %s", pf->netdev, vfnl_errmsg(c->nl));
	return 0;
}

static const struct vfnl_vf *pf_vf(const struct pf *pf, unsigned int idx)
{
	for (uint32_t i = 0; i < pf->link->n_vfs; i++)
		if (pf->link->vfs[i].index == idx)
			return &pf->link->vfs[i];
	return NULL;
}

/* The settings of a free VF: zero MAC, VLAN 0, the pool's switches. */
static void baseline(const struct vfa_pool *p, unsigned int idx,
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
static void diff(const struct vfnl_vf *cur, struct vfnl_vf_set *s)
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

static int apply(struct vfa_agent *c, struct pf *pf, struct vfnl_vf_set *s, size_t n,
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
	if (r)
		return vfa_fail(e, r, "PF %s: setting VF %u: %s%s", pf->netdev,
				s[0].index, *vfnl_errmsg(c->nl) ? vfnl_errmsg(c->nl) : strerror(-r),
				r == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
	return (int)k;
}

static void idle_owner(const struct vfa_pool *p, uid_t *u, gid_t *g, mode_t *m)
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
static int own_node(struct vfa_agent *c, int group, uid_t u, gid_t g, mode_t m,
		    struct vfa_err *e)
{
	uid_t cu;
	gid_t cg;
	mode_t cm;
	int r = vfio_node_stat(c->io, group, &cu, &cg, &cm);

	if (!r && cu == u && cg == g && (cm & 07777) == m)
		return 0;
	r = vfio_node_chown(c->io, group, u, g, m);
	if (r)
		return vfa_fail(e, r, "/dev/vfio/%d: %s", group, vfio_errmsg(c->io));
	return 1;
}

static int host_check(struct vfa_agent *c, struct vfa_err *e)
{
	int r = vfio_check_host(c->io);

	if (r)
		return vfa_fail(e, r, "%s", vfio_errmsg(c->io));
	return 0;
}

/* Puts a VF on vfio-pci, checks its group, waits for its node. */
static int make_ready(struct vfa_agent *c, const char *vf, int *ret_group, bool *changed,
		      struct vfa_err *e)
{
	char drv[VFIO_DRV_LEN];
	int r, g;

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
	*ret_group = g;
	return 0;
}

static int vf_pci(struct vfa_agent *c, struct pf *pf, unsigned int idx, char *buf,
		  size_t len, struct vfa_err *e)
{
	int r = vfio_virtfn(c->io, pf->pci, idx, buf, len);

	if (r)
		return vfa_fail(e, r, "PF %s has no VF %u: run vfagent setup", pf->netdev, idx);
	return 0;
}

/* Has l's VF gone away (sriov_numvfs set to 0 or lower under the lease)?
 * Then nothing of it is left to scrub: its settings and its IOMMU group
 * went with it, and a group number may since name another device. */
static bool vf_gone(struct vfa_agent *c, const struct vfa_lease *l)
{
	char cur[32];
	int r = vfio_virtfn(c->io, l->pf_pci, l->vf, cur, sizeof(cur));

	return r == -ENOENT || (r == 0 && strcmp(cur, l->pci));
}

/* Scrubs a VF back to the pool baseline and idles its node. Used by
 * release, by a failed alloc and by reconcile. */
static int scrub(struct vfa_agent *c, const struct vfa_lease *l, struct vfa_err *e)
{
	const struct vfa_pool *p = vfa_config_pool(&c->cfg, l->pool);
	struct vfnl_vf_set s;
	struct pf *pf;
	uid_t u, cu;
	gid_t g, cg;
	mode_t m, cm;
	int r, grp;

	if (!p)
		return vfa_fail(e, ENOENT, "lease %s: pool %s is no longer configured", l->id, l->pool);
	if (vf_gone(c, l))
		return 0;
	r = pf_resolve(c, l->pf_pci, p, &pf, e);
	if (r)
		return r;
	r = pf_refresh(c, pf, e);
	if (r)
		return r;
	baseline(p, l->vf, &s);
	diff(pf_vf(pf, l->vf), &s);
	r = apply(c, pf, &s, 1, e);
	if (r < 0)
		return r;
	idle_owner(p, &u, &g, &m);
	/* A crash between make_ready and the next journal write leaves the
	 * group unjournaled while the node may already be the VM user's. */
	grp = l->group;
	if (grp < 0 && vfio_group(c->io, l->pci, &grp))
		grp = -1;
	if (grp >= 0 && vfio_node_stat(c->io, grp, &cu, &cg, &cm) == 0) {
		r = own_node(c, grp, u, g, m, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Is the domain holding l gone for good: undefined, or stopped when the
 * lease was live only? Asked by UUID: a renamed domain (its old name is
 * "undefined") is the same domain; its new name is journaled for display.
 * Unknown (libvirt unreachable) is "no". */
static bool domain_gone(struct vfa_agent *c, struct vfa_lease *l)
{
	char name[VFA_DOMAIN_LEN], uuid[VFA_UUID_LEN];
	struct vfa_virt *v;
	struct vfa_err e;
	bool running = true;
	int r;

	v = virt(c, &e);
	if (!v)
		return false;
	if (!l->uuid[0])	/* journaled before UUIDs */
		return vfa_virt_domain(v, l->domain, &running, uuid, &e) == -ENOENT ||
		       (!running && !l->persistent);
	r = vfa_virt_domain_uuid(v, l->uuid, &running, name, &e);
	if (r == 0 && strcmp(name, l->domain)) {
		note(c, "%s %s: domain %s is now named %s", l->pci, l->id, l->domain, name);
		memcpy(l->domain, name, strlen(name) + 1);
		journal(c, l, &e);
	}
	return r == -ENOENT || (r == 0 && !running && !l->persistent);
}

/* A ready lease against the kernel: the VF still exists, is on vfio-pci
 * (unless attached), and carries the lease's MAC and VLAN. Repairs what it
 * can, notes the rest. Called with the VF's lock held. */
static void check_ready(struct vfa_agent *c, const struct vfa_lease *l)
{
	struct vfa_err e;
	char cur[32], drv[VFIO_DRV_LEN];
	const struct vfa_pool *p = vfa_config_pool(&c->cfg, l->pool);
	const struct vfnl_vf *vf;
	uint8_t mac[6];
	struct pf *pf;

	if (!p) {
		note(c, "%s %s: pool %s is no longer configured (lease kept)", l->pci, l->id, l->pool);
		return;
	}
	if (vfio_virtfn(c->io, l->pf_pci, l->vf, cur, sizeof(cur)) ||
	    strcmp(cur, l->pci)) {
		note(c, "%s %s: the VF is gone (sriov_numvfs changed?); lease kept, release it", l->pci, l->id);
		return;
	}
	if (!l->attached && !vfio_driver(c->io, l->pci, drv, sizeof(drv)) &&
	    strcmp(drv, "vfio-pci")) {
		bool ch = false;
		int g;

		if (make_ready(c, l->pci, &g, &ch, &e) == 0)
			note(c, "%s %s: was on driver \"%s\", rebound to vfio-pci", l->pci, l->id, drv);
		else
			note(c, "%s %s: not on vfio-pci and could not be rebound: %s", l->pci, l->id, e.msg);
	}
	if (pf_resolve(c, l->pf_pci, p, &pf, &e) || vfa_parse_mac(l->mac, mac))
		return;
	vf = pf_vf(pf, l->vf);
	if (vf && (vf->has & VFNL_HAS_MAC) &&
	    (memcmp(vf->mac, mac, 6) || vf->vlan != l->vlan || vf->qos != l->qos)) {
		struct vfnl_vf_set s = { .index = l->vf,
			.set = VFNL_SET_MAC | VFNL_SET_VLAN,
			.vlan = l->vlan, .qos = l->qos };

		memcpy(s.mac, mac, 6);
		if (apply(c, pf, &s, 1, &e) >= 0)
			note(c, "%s %s: MAC/VLAN differed from the lease, set back to %s vlan %u", l->pci, l->id, l->mac, l->vlan);
		else
			note(c, "%s %s: MAC/VLAN differ from the lease: %s", l->pci, l->id, e.msg);
	}
}

/* Takes a lease's VF back from its domain if it was attached. 0 when the
 * domain no longer has it (the VF may be scrubbed); otherwise the lease is
 * kept, saved as "detaching", and -EINPROGRESS or the error is returned. */
static int undo_attach(struct vfa_agent *c, struct vfa_lease *l, struct vfa_err *e)
{
	struct vfa_virt *v;
	int r;

	if (!l->domain[0] || !l->attached)
		return 0;
	v = virt(c, e);
	r = v ? vfa_virt_detach(v, l->uuid, l->domain, l->pci, l->persistent, e) : -ENOTCONN;
	if (r == 0)
		return 0;
	snprintf(l->state, sizeof(l->state), "detaching");
	journal(c, l, NULL);
	return r;
}

/* Scrubs a lease's VF and drops the lease, noting why; reclaimed leases
 * are also reported as released by a release command running reconcile. */
static void give_back(struct vfa_agent *c, const struct vfa_lease *l,
		      const char *why, bool reclaimed)
{
	struct vfa_err e;

	if (scrub(c, l, &e) || unjournal(c, l->pci, &e)) {
		note(c, "%s %s: %s, but the VF could not be scrubbed: %s", l->pci,
		     l->id, why, e.msg);
		return;
	}
	note(c, "%s %s: %s; VF scrubbed and back in pool %s", l->pci, l->id, why,
	     l->pool);
	if (reclaimed && c->n_reclaimed < sizeof(c->reclaimed) / sizeof(c->reclaimed[0]))
		c->reclaimed[c->n_reclaimed++] = *l;
}

/* Finishes or undoes what a dead process left, and checks each ready
 * lease against the kernel. Runs under the state lock. */
static void reconcile(struct vfa_agent *c)
{
	struct vfa_lease *ls = NULL;
	json_object *bad = json_object_new_array();
	size_t n = 0;

	if (vfa_lease_list(c->st, &ls, &n, bad) < 0) {
		note(c, "journal: cannot read the lease directory");
		json_object_put(bad);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(bad); i++)
		note(c, "journal: %s is unreadable and was ignored (kept for inspection)",
		     json_object_get_string(json_object_array_get_idx(bad, i)));
	json_object_put(bad);
	for (size_t i = 0; i < n; i++) {
		struct vfa_lease cur, *l = &cur;
		char why[200];
		struct vfa_err e;
		int fd;

		/* Whoever changes a lease holds its VF lock: if it is taken, a
		 * live process is at work on it; if not, the list above may be
		 * stale (that process just finished), so read the lease again
		 * under the lock and judge only what is there now. */
		fd = vfa_vf_lock(c->st, ls[i].pci, false);
		if (fd < 0)
			continue;
		if (vfa_lease_load(c->st, ls[i].pci, &cur)) {
			close(fd);
			continue;
		}
		if (!strcmp(l->state, "allocating") || !strcmp(l->state, "releasing")) {
			const char *what = !strcmp(l->state, "allocating") ?
				"interrupted alloc rolled back" : "interrupted release finished";

			/* An attach may have happened before the crash. */
			if (undo_attach(c, l, &e))
				note(c, "%s %s: %s, but domain %s still holds the VF (%s); kept as detaching",
				     l->pci, l->id, what, l->domain, e.msg);
			else
				give_back(c, l, what, false);
		} else if (!strcmp(l->state, "detaching")) {
			bool held = true;
			struct vfa_virt *v = virt(c, &e);

			snprintf(why, sizeof(why), "domain %s released the device", l->domain);
			/* Only a cheap look while the guest holds it; the detach
			 * (and, if persistent, the config) once it let go. */
			if (v && !vfa_virt_holds(v, l->uuid, l->domain, l->pci, &held, &e) && !held &&
			    !vfa_virt_detach(v, l->uuid, l->domain, l->pci, l->persistent, &e))
				give_back(c, l, why, true);
		} else if (c->check_domains && l->domain[0] && l->attached &&
			   domain_gone(c, l)) {
			snprintf(why, sizeof(why), "domain %s stopped", l->domain);
			give_back(c, l, why, true);
		} else {
			check_ready(c, l);
		}
		close(fd);
	}
	free(ls);
}

/* ---- rebuild: what a reboot (or a wiped /run) must not lose ---- */

/* The pool, PF and index of VF pci if a pool PF has it, or will have it
 * once setup creates its VFs (from the SR-IOV offset and stride). */
static int pool_vf(struct vfa_agent *c, const char *pci, const struct vfa_pool **ret_p,
		   struct pf **ret_pf, unsigned int *ret_idx)
{
	for (unsigned int i = 0; i < c->cfg.n_pools; i++) {
		const struct vfa_pool *p = &c->cfg.pools[i];

		for (unsigned int j = 0; j < p->n_pf; j++) {
			struct vfa_err e;
			struct pf *pf;

			if (pf_resolve(c, p->pf[j], p, &pf, &e))
				continue;
			for (unsigned int k = 0; k < p->vfs; k++) {
				char vf[32];
				struct vfpci_addr a;

				if (k < pf->link->num_vf &&
				    !vfio_virtfn(c->io, pf->pci, k, vf, sizeof(vf))) {
					if (strcmp(vf, pci))
						continue;
				} else if (pf_sriov(c, pf, &e) ||
					   vfpci_vf_addr(&pf->addr, &pf->sriov, k, &a) ||
					   strcmp(vfpci_addr_str(&a, vf), pci)) {
					continue;
				}
				*ret_p = p;
				*ret_pf = pf;
				*ret_idx = k;
				return 0;
			}
		}
	}
	return -ENOENT;
}

static int random_bytes(void *buf, size_t n)
{
	return getrandom(buf, n, 0) == (ssize_t)n ? 0 : -EIO;
}

static void new_id(char id[17])
{
	uint8_t rnd[8] = { 0 };

	random_bytes(rnd, sizeof(rnd));
	for (int i = 0; i < 8; i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
}

/* vfa_virt_hostdevs callback: a pool VF that a domain's config (or live
 * XML) names, and no lease holds, becomes that domain's lease. */
static int adopt(const char *uuid, const char *name, const char *pci,
		 const char *mac, bool in_config, void *ud)
{
	struct vfa_agent *c = ud;
	struct vfa_lease l = { 0 }, cur;
	const struct vfa_pool *p;
	struct vfa_err e;
	struct pf *pf;
	uint8_t m[6];
	unsigned int idx;

	if (vfa_lease_load(c->st, pci, &cur) != -ENOENT || pool_vf(c, pci, &p, &pf, &idx))
		return 0;	/* leased (or unreadable: taken), or not ours */
	new_id(l.id);
	snprintf(l.state, sizeof(l.state), "ready");
	if (put_str(l.pool, sizeof(l.pool), p->name) || put_str(l.pf, sizeof(l.pf), pf->netdev) ||
	    put_str(l.pf_pci, sizeof(l.pf_pci), pf->pci) || put_str(l.pci, sizeof(l.pci), pci) ||
	    put_str(l.uuid, sizeof(l.uuid), uuid))
		return 0;
	/* A name too long to journal: the UUID stands in for display. */
	if (put_str(l.domain, sizeof(l.domain), name))
		memcpy(l.domain, l.uuid, sizeof(l.uuid));
	l.vf = idx;
	if (vfio_group(c->io, pci, &l.group))
		l.group = -1;
	if (vfa_parse_mac(mac, m))
		memset(m, 0, sizeof(m));
	vfa_mac_str(m, l.mac);
	l.vlan = p->vlan;
	l.qos = p->qos;
	l.attached = true;
	l.persistent = in_config;
	l.pid = getpid();
	l.created = time(NULL);
	if (journal(c, &l, &e))
		note(c, "%s: named by domain %s but could not be journaled: %s", pci, l.domain, e.msg);
	else
		note(c, "%s %s: named as hostdev by domain %s (%s): leased to it", pci, l.id,
		     l.domain, in_config ? "saved config" : "live");
	return 0;
}

/* Copies each persistent lease the runtime journal lacks back into it. */
static void restore_persistent(struct vfa_agent *c)
{
	struct vfa_lease *ls = NULL, cur;
	struct vfa_err e;
	size_t n = 0;

	if (!c->pst && vfa_persist_open(c->persist_dir, false, &c->pst, &e)) {
		note(c, "persistent state: %s", e.msg);
		return;
	}
	if (!c->pst || vfa_lease_list(c->pst, &ls, &n, NULL))
		return;
	for (size_t i = 0; i < n; i++) {
		if (vfa_lease_load(c->st, ls[i].pci, &cur) != -ENOENT)
			continue;
		if (vfa_lease_save(c->st, &ls[i], &e))
			note(c, "%s %s: persistent lease not restored: %s", ls[i].pci, ls[i].id, e.msg);
		else
			note(c, "%s %s: persistent lease of domain %s restored from %s", ls[i].pci,
			     ls[i].id, ls[i].domain, c->persist_dir);
	}
	free(ls);
}

/* Is there a local libvirt to ask? Two stats, where loading libvirt and
 * failing to connect would cost every command on a host with libvirt
 * installed but not running. Other URIs are simply tried. */
static bool libvirt_there(const struct vfa_config *cfg)
{
	const char *u = cfg->libvirt_uri;

	if (*u && strcmp(u, "qemu:///system"))
		return true;
	return access("/run/libvirt/libvirt-sock", F_OK) == 0 ||
	       access("/run/libvirt/virtqemud-sock", F_OK) == 0;
}

/* Once per boot (or after the runtime journal was wiped): the persistent
 * leases, then every VF a defined domain names as a hostdev, so libvirt's
 * saved configs and the journal agree on who holds what. Until libvirt
 * answers, each command retries (restoring persistent leases is idempotent;
 * with no libvirt socket that costs two stats). */
static void rebuild(struct vfa_agent *c)
{
	struct vfa_virt *v;
	struct vfa_err e;
	int r;

	if (!vfa_rebuild_needed(c->state_dir))
		return;
	restore_persistent(c);
	if (VFAGENT_LIBVIRT && !libvirt_there(&c->cfg))
		return;
	v = virt(c, &e);
	if (v) {
		r = vfa_virt_hostdevs(v, adopt, c, &e);
		if (r) {
			note(c, "rebuild from libvirt domains: %s", e.msg);
			return;
		}
	} else if (c->virt_errno != -ENOTSUP) {
		return;
	}
	r = vfa_rebuild_done(c->state_dir);
	if (r)
		note(c, "journal %s/rebuilt: %s", c->state_dir, strerror(-r));
}

/* Starts one operation: fresh view of the PFs, the state lock, reconcile. */
static int begin(struct vfa_agent *c, struct vfa_err *e)
{
	int r;

	pf_cache_clear(c);
	json_object_put(c->notes);
	c->notes = json_object_new_array();
	c->n_reclaimed = 0;
	if (!c->virt)
		c->virt_tried = false;	/* the daemon retries libvirt per operation */
	r = vfa_state_lock(c->st, e);
	if (r)
		return r;
	rebuild(c);
	reconcile(c);
	return 0;
}

static int leases_of(struct vfa_agent *c, struct vfa_lease **ret, size_t *ret_n,
		     struct vfa_err *e)
{
	int r = vfa_lease_list(c->st, ret, ret_n, NULL);

	if (r)
		return vfa_fail(e, r, "journal %s: %s", c->state_dir, strerror(-r));
	return 0;
}

/* begin() for commands that only read: the leases, then the lock is let go. */
static int begin_read(struct vfa_agent *c, struct vfa_lease **ret_ls,
		      size_t *ret_n, struct vfa_err *e)
{
	int r = begin(c, e);

	if (r)
		return r;
	r = leases_of(c, ret_ls, ret_n, e);
	vfa_state_unlock(c->st);
	return r;
}

static json_object *finish(struct vfa_agent *c, json_object *o)
{
	json_object_object_add(o, "reconcile", json_object_get(c->notes));
	return o;
}

/* A result document holding val under key, with the reconcile notes. */
static json_object *result(struct vfa_agent *c, const char *key, json_object *val)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, key, val);
	return finish(c, o);
}


static const struct vfa_lease *lease_on(const struct vfa_lease *ls, size_t n,
					const char *pci)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ls[i].pci, pci))
			return &ls[i];
	return NULL;
}

/* ---- setup ---- */

/* A leased VF that setup just created (the lease outlived a reboot): on
 * vfio-pci for its domain's next start, with the lease's MAC and VLAN
 * (added to *s), its group journaled. The node's owner is libvirt's. */
static int ready_leased(struct vfa_agent *c, struct pf *pf, const struct vfa_lease *held,
			struct vfnl_vf_set *s, json_object *changes, struct vfa_err *e)
{
	struct vfa_lease l = *held;
	bool ch = false;
	int r, grp;

	r = make_ready(c, l.pci, &grp, &ch, e);
	if (r)
		return r;
	if (vfa_parse_mac(l.mac, s->mac))
		memset(s->mac, 0, sizeof(s->mac));	/* adopted from a domain XML */
	s->set |= VFNL_SET_MAC | VFNL_SET_VLAN;
	s->vlan = l.vlan;
	s->qos = l.qos;
	diff(pf_vf(pf, l.vf), s);
	json_object_array_add(changes, jfmt("%s vf %u (%s): kept for %s (lease %s)",
					    pf->netdev, l.vf, l.pci, l.domain[0] ? l.domain : "its holder", l.id));
	if (grp == l.group)
		return 0;
	l.group = grp;
	return journal(c, &l, e);
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

	r = pf_check_vfs(c, pf, e);
	if (r)
		return r;
	for (size_t i = 0; i < nl; i++)
		if (!strcmp(ls[i].pf_pci, pf->pci))
			leased++;
	if (!(pf->link->flags & IFF_UP)) {
		r = vfnl_pf_up(c->nl, pf->link->ifindex);
		if (r)
			return vfa_fail(e, r, "PF %s: bringing it up: %s", pf->netdev, vfnl_errmsg(c->nl));
		json_object_array_add(changes, jfmt(
			"%s: brought up without addresses", pf->netdev));
		crash_point("setup.up");
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
		json_object_array_add(changes, jfmt(
			"%s: %u VFs created (host-driver autoprobe off)", pf->netdev, p->vfs));
		created = true;
		crash_point("setup.vfs");
	}
	r = pf_refresh(c, pf, e);
	if (r)
		return r;
	for (unsigned int i = 0; i < p->vfs; i++) {
		bool ch = false;
		uid_t u;
		gid_t g;
		mode_t m;
		int grp;

		r = vf_pci(c, pf, i, vf, sizeof(vf), e);
		if (r)
			return r;
		baseline(p, i, &sets[i]);
		if (lease_on(ls, nl, vf)) {
			sets[i].set = 0;	/* a leased VF keeps its settings */
			if (created) {
				r = ready_leased(c, pf, lease_on(ls, nl, vf), &sets[i], changes, e);
				if (r)
					return r;
			}
			continue;
		}
		r = make_ready(c, vf, &grp, &ch, e);
		if (r)
			return r;
		if (ch)
			json_object_array_add(changes, jfmt(
				"%s vf %u (%s): bound to vfio-pci", pf->netdev, i, vf));
		if (ch)
			crash_point("setup.bound");
		diff(pf_vf(pf, i), &sets[i]);
		idle_owner(p, &u, &g, &m);
		r = own_node(c, grp, u, g, m, e);
		if (r < 0)
			return r;
		if (r)
			json_object_array_add(changes, jfmt(
				"/dev/vfio/%d: owner %u:%u mode %04o", grp, u, g, m));
	}
	r = apply(c, pf, sets, p->vfs, e);
	if (r < 0)
		return r;
	if (r)
		json_object_array_add(changes, jfmt(
			"%s: baseline applied to %d VFs in one message", pf->netdev, r));
	crash_point("setup.applied");
	return 0;
}

/* Makes the host match the config. */
int vfa_setup(struct vfa_agent *c, const struct vfa_opts *o, json_object **ret,
	      struct vfa_err *e)
{
	json_object *changes = json_object_new_array();
	struct vfa_lease *ls = NULL;
	size_t nl = 0;
	int r = begin(c, e);

	(void)o;		/* setup takes everything from the config */
	if (r) {
		json_object_put(changes);
		return r;
	}
	r = leases_of(c, &ls, &nl, e);
	/* Every PF resolved and checked before any is touched. */
	for (unsigned int i = 0; !r && i < c->cfg.n_pools; i++) {
		const struct vfa_pool *p = &c->cfg.pools[i];

		for (unsigned int j = 0; !r && j < p->n_pf; j++) {
			struct pf *pf;

			r = pf_resolve(c, p->pf[j], p, &pf, e);
			/* The config caught the same name twice; this is the same
			 * PF under two names (netdev and PCI address). */
			if (!r && pf->pool != p)
				r = vfa_usage(e, EINVAL, "%s: PF %s (%s) is in pools %s and %s; a PF belongs to one pool",
					      c->cfg.path, p->pf[j], pf->pci, pf->pool->name, p->name);
		}
	}
	for (unsigned int k = 0; !r && k < c->n_pfs; k++)
		if (c->pfs[k].pool)
			r = pf_check_vfs(c, &c->pfs[k], e);
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
	finish(c, *ret);
	return 0;
}

/* ---- alloc ---- */

static void exhausted_msg(struct vfa_agent *c, const struct vfa_pool *p,
			  const struct vfa_lease *ls, size_t n, unsigned int size,
			  struct vfa_err *e)
{
	char who[600] = "";
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(ls[i].pool, p->name))
			continue;
		len += (size_t)snprintf(who + len, len < sizeof(who) ? sizeof(who) - len : 0,
					"%s%s vf%u=%s%s%s", len ? ", " : "", ls[i].pf, ls[i].vf,
					ls[i].id, ls[i].domain[0] ? "@" : "", ls[i].domain);
		if (len >= sizeof(who))
			break;
	}
	e->exit = VFA_EXIT_EXHAUSTED;
	snprintf(e->msg, sizeof(e->msg), "pool %s is exhausted: all %u VFs are leased (%s); release one (vfagent release --lease ID) or raise vfs in %s",
		 p->name, size, who, c->cfg.path);
}

int vfa_alloc(struct vfa_agent *c, const struct vfa_opts *o, json_object **ret,
	      struct vfa_err *e)
{
	const struct vfa_pool *p;
	struct vfa_lease l = { 0 }, *ls = NULL;
	struct vfnl_vf_set s;
	struct pf *pf = NULL;
	unsigned int size = 0;
	size_t nl = 0;
	int r, vfl = -1;
	bool locked = true, journaled = false, running = false, ch = false;
	uint8_t mac[6];
	char skipped[VFA_ERR_LEN] = "", taken[17] = "";
	unsigned int usable = 0;

	r = begin(c, e);
	if (r)
		return r;
	p = vfa_config_pool(&c->cfg, o->pool);
	if (!p) {
		char names[512] = "";

		for (unsigned int i = 0; i < c->cfg.n_pools; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i ? ", " : "", c->cfg.pools[i].name);
		r = vfa_usage(e, ENOENT, "unknown pool \"%s\" (pools in %s: %s)", o->pool,
			     c->cfg.path, *names ? names : "none");
		goto out;
	}
	/* Everything the user named is checked before anything changes. */
	if (o->domain) {
		struct vfa_virt *v;

		if (put_str(l.domain, sizeof(l.domain), o->domain)) {
			r = vfa_usage(e, ENAMETOOLONG, "domain name of %zu bytes: vfagent journals names of up to %zu bytes; rename the domain (virsh domrename) or use a shorter name",
				      strlen(o->domain), sizeof(l.domain) - 1);
			goto out;
		}
		v = virt(c, e);
		if (!v) {
			r = -ENOTCONN;
			goto out;
		}
		/* From here on the domain is its UUID: the name may change. */
		r = vfa_virt_domain(v, o->domain, &running, l.uuid, e);
		if (r)
			goto out;
		if (o->live && !running) {
			r = vfa_fail(e, EINVAL, "domain %s is not running: start it, or attach with --persistent only", o->domain);
			goto out;
		}
		/* A live attach needs a free hot-plug slot: refuse now, not in libvirt. */
		if (running && (o->live || !o->persistent)) {
			r = vfa_slots_require(v, o->domain, e);
			if (r)
				goto out;
		}
	}
	r = leases_of(c, &ls, &nl, e);
	if (r)
		goto out;
	/* A PF that cannot serve (missing, down, short of VFs) is skipped
	 * and noted; the alloc fails only when none can. */
	for (unsigned int j = 0; j < p->n_pf && !l.pci[0]; j++) {
		struct vfa_err e2;
		struct pf *cand;

		if (pf_resolve(c, p->pf[j], p, &cand, &e2) == 0) {
			if (!(cand->link->flags & IFF_UP))
				vfa_fail(&e2, ENETDOWN, "PF %s is down: run vfagent setup (it brings the PF up without addresses)",
					 cand->netdev);
			else if (cand->link->num_vf < p->vfs)
				vfa_fail(&e2, ENODEV, "PF %s has %u of the %u VFs the pool wants: run vfagent setup",
					 cand->netdev, cand->link->num_vf, p->vfs);
			else
				e2.msg[0] = '\0';
		}
		if (e2.msg[0]) {
			size_t len = strlen(skipped);

			snprintf(skipped + len, sizeof(skipped) - len, "%s%s", len ? "; " : "", e2.msg);
			note(c, "pool %s: skipped: %s", p->name, e2.msg);
			continue;
		}
		pf = cand;
		usable++;
		size += p->vfs;
		for (unsigned int i = 0; i < p->vfs; i++) {
			char vf[sizeof(l.pci)];
			struct vfa_lease cur;

			r = vf_pci(c, pf, i, vf, sizeof(vf), e);
			if (r)
				goto out;
			if (o->pci && strcmp(vf, o->pci))
				continue;
			if (lease_on(ls, nl, vf)) {
				if (o->pci)
					snprintf(taken, sizeof(taken), "%s", lease_on(ls, nl, vf)->id);
				continue;
			}
			/* The list may have missed a lease (an unreadable file, one
			 * renamed while listed): only a VF with no lease file at all,
			 * checked under its lock, is free. */
			vfl = vfa_vf_lock(c->st, vf, true);
			if (vfl < 0) {
				r = vfa_fail(e, vfl, "lock for %s: %s", vf, strerror(-vfl));
				goto out;
			}
			if (vfa_lease_load(c->st, vf, &cur) != -ENOENT) {
				if (o->pci)
					snprintf(taken, sizeof(taken), "%s", cur.id);
				close(vfl);
				vfl = -1;
				continue;
			}
			snprintf(l.pci, sizeof(l.pci), "%s", vf);
			l.vf = i;
			break;
		}
	}
	if (!l.pci[0] && !usable) {
		r = vfa_fail(e, ENODEV, "pool %s has no PF that can serve: %s", p->name, skipped);
		goto out;
	}
	if (!l.pci[0] && o->pci) {
		r = *taken ? vfa_fail(e, EBUSY, "VF %s of pool %s is leased (lease %s): release it first, or alloc without --pci",
				      o->pci, p->name, taken) :
			     vfa_usage(e, ENOENT, "VF %s is not a VF of pool %s (vfagent list shows them)%s%s",
				       o->pci, p->name, *skipped ? "; unusable: " : "", skipped);
		if (*taken)
			e->exit = VFA_EXIT_EXHAUSTED;
		goto out;
	}
	if (!l.pci[0]) {
		exhausted_msg(c, p, ls, nl, size, e);
		if (*skipped) {
			size_t len = strlen(e->msg);

			snprintf(e->msg + len, sizeof(e->msg) - len, " (unusable: %s)", skipped);
		}
		r = -EBUSY;
		goto out;
	}
	/* The lease, journaled before any hardware is touched. */
	new_id(l.id);
	if (o->has_mac) {
		memcpy(mac, o->mac, 6);
	} else {
		/* Locally administered unicast, random. */
		random_bytes(mac, 6);
		mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
	}
	vfa_mac_str(mac, l.mac);
	for (size_t i = 0; i < nl; i++)
		if (!strcmp(ls[i].mac, l.mac)) {
			r = vfa_fail(e, EADDRINUSE, "MAC %s is already leased (%s, lease %s)", l.mac, ls[i].pci, ls[i].id);
			goto out;
		}
	snprintf(l.state, sizeof(l.state), "allocating");
	if (put_str(l.pool, sizeof(l.pool), p->name) || put_str(l.pf, sizeof(l.pf), pf->netdev) ||
	    put_str(l.pf_pci, sizeof(l.pf_pci), pf->pci)) {
		r = vfa_fail(e, ENAMETOOLONG, "pool %s, PF %s: a name too long to journal", p->name, pf->netdev);
		goto out;
	}
	l.group = -1;
	if (o->holder)
		snprintf(l.holder, sizeof(l.holder), "%s", o->holder);
	l.vlan = o->has_vlan ? o->vlan : p->vlan;
	l.qos = o->has_vlan ? o->qos : p->qos;
	l.pid = getpid();
	l.created = time(NULL);
	r = journal(c, &l, e);
	if (r)
		goto out;
	journaled = true;
	crash_point("journaled");
	vfa_state_unlock(c->st);	/* others may pick other VFs now */
	locked = false;

	/* MAC, VLAN and the pool's switches in one message. */
	baseline(p, l.vf, &s);
	memcpy(s.mac, mac, 6);
	s.vlan = l.vlan;
	s.qos = l.qos;
	diff(pf_vf(pf, l.vf), &s);
	s.set |= VFNL_SET_MAC | VFNL_SET_VLAN;
	r = apply(c, pf, &s, 1, e);
	if (r < 0)
		goto out;
	crash_point("netlink");
	r = make_ready(c, l.pci, &l.group, &ch, e);
	if (r)
		goto out;
	if (p->has_owner) {
		r = own_node(c, l.group, p->uid, p->gid, p->mode, e);
		if (r < 0)
			goto out;
	}
	crash_point("owned");
	if (o->domain) {
		unsigned int fl = (o->live ? VFA_LIVE : 0) | (o->persistent ? VFA_PERSISTENT : 0);

		if (!fl)
			fl = running ? VFA_LIVE : VFA_PERSISTENT;
		/* Journaled as attached first: a crash during or after the
		 * attach must detach before the VF can go back to the pool. */
		l.attached = true;
		l.persistent = fl & VFA_PERSISTENT;
		r = journal(c, &l, e);
		if (r)
			goto out;
		crash_point("attaching");
		r = vfa_virt_attach(c->virt, l.uuid, l.domain, l.pci, fl, e);
		if (r)
			goto out;
		crash_point("attached");
	}
	snprintf(l.state, sizeof(l.state), "ready");
	r = journal(c, &l, e);
	if (r)
		goto out;
	*ret = vfa_lease_json(&l);
	json_object_object_add(*ret, "cold", json_object_new_boolean(ch));
	finish(c, *ret);
out:
	if (r && journaled) {
		/* Nothing half-done: out of the domain, scrub, idle the node,
		 * drop the lease. A domain that keeps the VF keeps the lease. */
		struct vfa_err e2;
		int u = undo_attach(c, &l, &e2);

		if (u) {
			size_t len = strlen(e->msg);

			/* Only libvirt knows whether the attach got through; when it
			 * cannot be asked, say so rather than guess. */
			if (u == -EINPROGRESS)
				snprintf(e->msg + len, sizeof(e->msg) - len,
					 "; domain %s still holds %s, which stays leased (%s) until it lets go",
					 l.domain, l.pci, l.id);
			else
				snprintf(e->msg + len, sizeof(e->msg) - len,
					 "; whether domain %s holds %s could not be checked, so it stays leased (%s) until a later command finds it free",
					 l.domain, l.pci, l.id);
		} else if (scrub(c, &l, &e2) == 0) {
			unjournal(c, l.pci, &e2);
		}
	}
	if (vfl >= 0)
		close(vfl);
	if (locked)
		vfa_state_unlock(c->st);
	free(ls);
	return r;
}

/* ---- release ---- */

/* uuid: of the domain named --domain, "" when libvirt does not know it;
 * a lease journaled with a UUID matches by UUID then (renames, reused
 * names), by the journaled name otherwise. */
static bool release_matches(const struct vfa_opts *o, const char *uuid,
			    const struct vfa_lease *l)
{
	return (o->pci && !strcmp(l->pci, o->pci)) ||
	       (o->lease && !strcmp(l->id, o->lease)) ||
	       (o->holder && !strcmp(l->holder, o->holder)) ||
	       (o->domain && (uuid[0] && l->uuid[0] ? !strcmp(l->uuid, uuid) :
			      !strcmp(l->domain, o->domain)));
}

static int release_one(struct vfa_agent *c, const struct vfa_opts *o, const char *uuid,
		       struct vfa_lease *l, json_object *done, json_object *pending,
		       struct vfa_err *e)
{
	int fd = vfa_vf_lock(c->st, l->pci, true), r = 0;
	char id[sizeof(l->id)];

	if (fd < 0)
		return vfa_fail(e, fd, "lock for %s: %s", l->pci, strerror(-fd));
	/* Reread under the VF lock: another release may have won, and the VF
	 * may since have been leased again to someone else. */
	memcpy(id, l->id, sizeof(id));
	if (vfa_lease_load(c->st, l->pci, l) || strcmp(l->id, id) ||
	    !release_matches(o, uuid, l)) {
		close(fd);
		return 0;
	}
	if (l->domain[0] && (l->attached || !strcmp(l->state, "detaching"))) {
		struct vfa_virt *v = virt(c, e);

		if (!v) {
			r = -ENOTCONN;
			goto out;
		}
		/* The intent first: after a crash past the detach, the next
		 * command finishes the release instead of keeping a lease on a
		 * VF no domain holds. */
		if (strcmp(l->state, "detaching")) {
			snprintf(l->state, sizeof(l->state), "releasing");
			r = journal(c, l, e);
			if (r)
				goto out;
		}
		crash_point("release.detach");
		r = vfa_virt_detach(v, l->uuid, l->domain, l->pci, l->persistent, e);
		if (r == -EINPROGRESS) {
			snprintf(l->state, sizeof(l->state), "detaching");
			r = journal(c, l, e);
			if (!r)
				json_object_array_add(pending, vfa_lease_json(l));
			goto out;
		}
		if (r) {
			/* Still attached: the lease stays as it was. */
			if (!strcmp(l->state, "releasing")) {
				snprintf(l->state, sizeof(l->state), "ready");
				journal(c, l, NULL);
			}
			goto out;
		}
		crash_point("release.detached");
	}
	snprintf(l->state, sizeof(l->state), "releasing");
	r = journal(c, l, e);
	crash_point("release.releasing");
	if (!r)
		r = scrub(c, l, e);
	crash_point("release.scrubbed");
	if (!r)
		r = unjournal(c, l->pci, e);
	if (!r)
		json_object_array_add(done, vfa_lease_json(l));
out:
	close(fd);
	return r;
}


int vfa_release(struct vfa_agent *c, const struct vfa_opts *o, json_object **ret,
	      struct vfa_err *e)
{
	json_object *done = json_object_new_array(), *pending = json_object_new_array();
	struct vfa_lease *ls = NULL, *todo[VFNL_MAX_VFS * 4];
	size_t n = 0, nt = 0;
	char uuid[VFA_UUID_LEN] = "";
	int r = begin(c, e);

	if (r)
		goto fail;
	if (o->domain && virt(c, NULL)) {
		struct vfa_err e2;
		bool running;

		if (vfa_virt_domain(c->virt, o->domain, &running, uuid, &e2))
			uuid[0] = '\0';
	}
	r = leases_of(c, &ls, &n, e);
	for (size_t i = 0; !r && i < n && nt < sizeof(todo) / sizeof(todo[0]); i++)
		if (release_matches(o, uuid, &ls[i]))
			todo[nt++] = &ls[i];
	vfa_state_unlock(c->st);
	/* Leases that reconcile just finished releasing count as released. */
	for (size_t i = 0; !r && i < c->n_reclaimed; i++) {
		if (release_matches(o, uuid, &c->reclaimed[i]))
			json_object_array_add(done, vfa_lease_json(&c->reclaimed[i]));
	}
	if (!r && nt == 0 && json_object_array_length(done) == 0)
		r = vfa_fail(e, ENOENT, "no lease matches %s %s (vfagent status lists them)",
			     o->pci ? "--pci" : o->lease ? "--lease" : o->holder ? "--holder" : "--domain",
			     o->pci ? o->pci : o->lease ? o->lease : o->holder ? o->holder : o->domain);
	for (size_t i = 0; !r && i < nt; i++)
		r = release_one(c, o, uuid, todo[i], done, pending, e);
	free(ls);
	if (r)
		goto fail;
	*ret = json_object_new_object();
	json_object_object_add(*ret, "released", done);
	json_object_object_add(*ret, "pending", pending);
	finish(c, *ret);
	return json_object_array_length(pending) ? -EINPROGRESS : 0;
fail:
	json_object_put(done);
	json_object_put(pending);
	return r;
}

/* ---- status and list ---- */

int vfa_status(struct vfa_agent *c, const struct vfa_opts *o, json_object **ret,
	      struct vfa_err *e)
{
	struct vfa_lease *ls = NULL;
	json_object *pools;
	size_t n = 0;
	int r = begin_read(c, &ls, &n, e);

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
			if (pf_resolve(c, p->pf[j], p, &pf, &e2) == 0)
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
	*ret = result(c, "pools", pools);
	return 0;
}

static json_object *owner_json(uid_t u, gid_t g, mode_t m)
{
	struct passwd *pw = getpwuid(u);
	struct group *gr = getgrgid(g);
	char buf[160];

	snprintf(buf, sizeof(buf), "%s:%s %04o", pw ? pw->pw_name : "?",
		 gr ? gr->gr_name : "?", m & 07777);
	return json_object_new_string(buf);
}

static const char *link_state_str(uint32_t s)
{
	return s == IFLA_VF_LINK_STATE_ENABLE ? "enable" :
	       s == IFLA_VF_LINK_STATE_DISABLE ? "disable" : "auto";
}

static json_object *vf_json(struct vfa_agent *c, struct pf *pf, unsigned int i,
			    const struct vfa_lease *ls, size_t nl)
{
	json_object *o = json_object_new_object();
	const struct vfnl_vf *v = pf_vf(pf, i);
	const struct vfa_lease *l;
	struct vfnl_link *vl;
	char vf[32], drv[VFIO_DRV_LEN] = "", mac[18], node[32];
	int g = -1;

	json_object_object_add(o, "vf", json_object_new_int(i));
	if (vfio_virtfn(c->io, pf->pci, i, vf, sizeof(vf)))
		return o;
	json_object_object_add(o, "pci", json_object_new_string(vf));
	vfio_driver(c->io, vf, drv, sizeof(drv));
	json_object_object_add(o, "driver", drv[0] ? json_object_new_string(drv) : NULL);
	vl = calloc(1, sizeof(*vl));
	if (vl && vfnl_find_pci(c->nl, vf, vl) == 0)
		json_object_object_add(o, "netdev", json_object_new_string(vl->name));
	else
		json_object_object_add(o, "netdev", NULL);
	free(vl);
	if (vfio_group(c->io, vf, &g) == 0) {
		uid_t u;
		gid_t gg;
		mode_t m;

		json_object_object_add(o, "iommu_group", json_object_new_int(g));
		snprintf(node, sizeof(node), "/dev/vfio/%d", g);
		if (vfio_node_stat(c->io, g, &u, &gg, &m) == 0) {
			json_object_object_add(o, "vfio_node", json_object_new_string(node));
			json_object_object_add(o, "node_owner", owner_json(u, gg, m));
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
	l = lease_on(ls, nl, vf);
	json_object_object_add(o, "lease", l ? vfa_lease_json(l) : NULL);
	return o;
}

struct pci_links {
	char pci[64][16];
	unsigned int n;
};

static void collect_pci(const struct vfnl_link *l, bool removed, void *ud)
{
	struct pci_links *pl = ud;

	(void)removed;
	if (!strcmp(l->parent_bus, "pci") && pl->n < 64 &&
	    strlen(l->parent_dev) < sizeof(pl->pci[0]))
		memcpy(pl->pci[pl->n++], l->parent_dev, strlen(l->parent_dev) + 1);
}

/* Every other PCI netdev with an SR-IOV capability: list shows the whole
 * host, pools or not. */
static void add_unpooled_pfs(struct vfa_agent *c)
{
	struct pci_links pl = { .n = 0 };
	struct vfpci_sriov sr;
	struct vfpci_addr a;

	if (vfnl_dump_links(c->nl, collect_pci, &pl))
		return;
	for (unsigned int i = 0; i < pl.n; i++) {
		bool known = false;
		struct vfa_err e;
		struct pf *pf;

		for (unsigned int k = 0; k < c->n_pfs; k++)
			known |= !strcmp(c->pfs[k].pci, pl.pci[i]);
		if (known || vfpci_addr_parse(pl.pci[i], &a) ||
		    vfpci_sriov(c->pci, &a, &sr))
			continue;
		if (pf_resolve(c, pl.pci[i], NULL, &pf, &e) == 0) {
			pf->sriov = sr;
			pf_max_vfs(c, pf);
		}
	}
}

int vfa_list(struct vfa_agent *c, const struct vfa_opts *o, json_object **ret,
	      struct vfa_err *e)
{
	struct vfa_lease *ls = NULL;
	json_object *out;
	size_t nl = 0;
	int r = begin_read(c, &ls, &nl, e);

	if (r)
		return r;
	struct pf *only = NULL;	/* list PF: reconcile may have cached others */

	if (o->pf)
		r = pf_resolve(c, o->pf, NULL, &only, e);
	for (unsigned int i = 0; !r && !o->pf && i < c->cfg.n_pools; i++)
		for (unsigned int j = 0; !r && j < c->cfg.pools[i].n_pf; j++) {
			struct pf *pf;

			r = pf_resolve(c, c->cfg.pools[i].pf[j], &c->cfg.pools[i], &pf, e);
		}
	if (!r && !o->pf)
		add_unpooled_pfs(c);
	if (r) {
		free(ls);
		return r;
	}
	out = json_object_new_array();
	for (unsigned int i = 0; i < c->n_pfs; i++) {
		struct pf *pf = &c->pfs[i];
		json_object *po, *vfs;
		char id[32];

		if (only && pf != only)
			continue;
		po = json_object_new_object();
		vfs = json_object_new_array();

		json_object_object_add(po, "pf", json_object_new_string(pf->netdev));
		json_object_object_add(po, "pci", json_object_new_string(pf->pci));
		json_object_object_add(po, "pool", pf->pool ? json_object_new_string(pf->pool->name) : NULL);
		json_object_object_add(po, "up", json_object_new_boolean(pf->link->flags & IFF_UP));
		if (pf_sriov(c, pf, e)) {
			json_object_object_add(po, "error", json_object_new_string(e->msg));
			json_object_array_add(out, po);
			continue;
		}
		json_object_object_add(po, "total_vfs", json_object_new_int(pf->max_vfs));
		if (pf->max_vfs != pf->sriov.total_vfs)
			json_object_object_add(po, "total_vfs_config",
					       json_object_new_int(pf->sriov.total_vfs));
		json_object_object_add(po, "num_vfs", json_object_new_int(pf->link->num_vf));
		snprintf(id, sizeof(id), "%04x", pf->sriov.vf_device);
		json_object_object_add(po, "vf_device", json_object_new_string(id));
		json_object_object_add(po, "truncated", json_object_new_boolean(pf->link->truncated));
		for (unsigned int k = 0; k < pf->link->num_vf && k < VFNL_MAX_VFS; k++)
			json_object_array_add(vfs, vf_json(c, pf, k, ls, nl));
		json_object_object_add(po, "vfs", vfs);
		json_object_array_add(out, po);
	}
	free(ls);
	*ret = result(c, "pfs", out);
	return 0;
}

/* ---- daemon hooks ---- */

int vfa_reconcile(struct vfa_agent *c, bool domains, json_object **ret_notes,
		  struct vfa_err *e)
{
	int r;

	c->check_domains = domains;
	r = begin(c, e);
	c->check_domains = false;
	if (r)
		return r;
	vfa_state_unlock(c->st);
	*ret_notes = json_object_get(c->notes);
	return 0;
}

struct vfa_virt *vfa_agent_virt(struct vfa_agent *c, struct vfa_err *e)
{
	if (c->virt && !vfa_virt_alive(c->virt))
		vfa_agent_virt_lost(c);
	if (!c->virt)
		c->virt_tried = false;
	return virt(c, e);
}

void vfa_agent_virt_lost(struct vfa_agent *c)
{
	vfa_virt_close(c->virt);
	c->virt = NULL;
	c->virt_tried = false;
}

static struct pf_seen *seen_of(struct vfa_agent *c, const char *spec)
{
	for (unsigned int i = 0; i < c->n_seen; i++)
		if (!strcmp(c->seen[i].spec, spec))
			return &c->seen[i];
	if (c->n_seen >= sizeof(c->seen) / sizeof(c->seen[0]))
		return NULL;
	c->seen[c->n_seen] = (struct pf_seen){ .up = true, .num_vf = UINT32_MAX };
	{
		/* spec lives in c->cfg: copy by length, not snprintf (restrict). */
		size_t n = strnlen(spec, sizeof(c->seen[0].spec) - 1);

		memcpy(c->seen[c->n_seen].spec, spec, n);
		c->seen[c->n_seen].spec[n] = '\0';
	}
	return &c->seen[c->n_seen++];
}

int vfa_check_pfs(struct vfa_agent *c, bool restore, json_object **ret_notes,
		  struct vfa_err *e)
{
	json_object *notes = json_object_new_array();
	struct vfa_lease *ls = NULL;
	size_t nl = 0;

	pf_cache_clear(c);
	vfa_lease_list(c->st, &ls, &nl, NULL);
	for (unsigned int i = 0; i < c->cfg.n_pools; i++) {
		const struct vfa_pool *p = &c->cfg.pools[i];

		for (unsigned int j = 0; j < p->n_pf; j++) {
			struct vfa_err e2;
			struct pf_seen *sn;
			struct pf *pf;
			bool up;
			unsigned int held = 0;

			sn = seen_of(c, p->pf[j]);
			if (!sn)
				continue;
			if (pf_resolve(c, p->pf[j], p, &pf, &e2)) {
				if (!sn->missing)
					json_object_array_add(notes, jfmt("pool %s: %s", p->name, e2.msg));
				sn->missing = true;
				continue;
			}
			if (sn->missing)
				json_object_array_add(notes, jfmt("pool %s: PF %s is back", p->name, pf->netdev));
			sn->missing = false;
			for (size_t k = 0; k < nl; k++)
				held += !strcmp(ls[k].pf_pci, pf->pci);
			up = pf->link->flags & IFF_UP;
			if (!up && sn->up) {
				json_object_array_add(notes, jfmt(
					"PF %s (pool %s) went down: its %u leased VFs have no link%s",
					pf->netdev, p->name, held, restore ? "; bringing it back up" :
					"; run vfagent setup, or set pf-restore = yes in [serve]"));
			}
			if (!up && restore) {
				if (vfnl_pf_up(c->nl, pf->link->ifindex) == 0)
					up = true;
				else
					json_object_array_add(notes, jfmt("PF %s: bringing it up failed: %s",
									  pf->netdev, vfnl_errmsg(c->nl)));
			}
			if (pf->link->num_vf < p->vfs && pf->link->num_vf != sn->num_vf)
				json_object_array_add(notes, jfmt(
					"PF %s (pool %s) has %u of its %u VFs (sriov_numvfs changed behind our back): VFs past %u are unusable, %u leases affected; run vfagent setup",
					pf->netdev, p->name, pf->link->num_vf, p->vfs, pf->link->num_vf, held));
			sn->up = up;
			sn->num_vf = pf->link->num_vf;
		}
	}
	free(ls);
	(void)e;
	*ret_notes = notes;
	return 0;
}

/* ---- watch: the state the daemon streams ---- */

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

	if (vfio_virtfn(c->io, pf->pci, i, vf, sizeof(vf))) {
		json_object_put(o);
		return NULL;
	}
	vfio_driver(c->io, vf, drv, sizeof(drv));
	healthy &= !strcmp(drv, "vfio-pci");
	if (vfio_group(c->io, vf, &grp))
		grp = -1;
	healthy &= grp >= 0 && vfio_node_stat(c->io, grp, &u, &g, &m) == 0;
	json_object_object_add(o, "pool", json_object_new_string(p->name));
	json_object_object_add(o, "pf", json_object_new_string(pf->netdev));
	json_object_object_add(o, "pci", json_object_new_string(vf));
	json_object_object_add(o, "vf", json_object_new_int(i));
	json_object_object_add(o, "iommu_group", grp >= 0 ? json_object_new_int(grp) : NULL);
	json_object_object_add(o, "numa_node", json_object_new_int(numa_node(c, vf)));
	json_object_object_add(o, "driver", drv[0] ? json_object_new_string(drv) : NULL);
	json_object_object_add(o, "health", json_object_new_string(healthy ? "healthy" : "unhealthy"));
	l = lease_on(ls, nl, vf);
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
		bool present = pf_resolve(c, p->pf[j], p, &pf, &e2) == 0;
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
 * @ret: {"pools":[POOL...],"leases":[LEASE...]} (docs/PROTOCOL.md), the
 *	caller's; "leases" holds every journaled lease, PF present or not
 *
 * Reads the kernel and the journal as they are: no reconcile, no state
 * lock (lease files are replaced atomically). Returns 0 or -errno.
 */
int vfa_watch_state(struct vfa_agent *c, json_object **ret, struct vfa_err *e)
{
	struct vfa_lease *ls = NULL;
	json_object *pools, *leases, *o;
	size_t nl = 0;
	int r = leases_of(c, &ls, &nl, e);

	if (r)
		return r;
	pf_cache_clear(c);
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
