/* Reconcile: leases against the kernel and libvirt before each
 * operation, and the rebuild of what a reboot must not lose. */
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
#include <time.h>
#include <unistd.h>

#include "nl/vfnl.h"
#include "pci/vfpci.h"
#include "vfio/vfio.h"

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

	v = vfa_virt_conn(c, &e);
	if (!v)
		return false;
	if (!l->uuid[0])	/* journaled before UUIDs */
		return vfa_virt_domain(v, l->domain, &running, uuid, &e) == -ENOENT ||
		       (!running && !l->persistent);
	r = vfa_virt_domain_uuid(v, l->uuid, &running, name, &e);
	if (r == 0 && strcmp(name, l->domain)) {
		vfa_repaired(c, VFA_REPAIR_RENAMED, "%s %s: domain %s is now named %s",
			     l->pci, l->id, l->domain, name);
		memcpy(l->domain, name, strlen(name) + 1);
		vfa_journal(c, l, &e);
	}
	return r == -ENOENT || (r == 0 && !running && !l->persistent);
}

/* The PF of l, found through the names pool p gives its PFs: a GETLINK
 * each, cached for the operation, so a reconcile reads each pool PF once.
 * The lease names its PF by PCI address, and resolving that (no pool PF
 * has it) costs a dump of every link, reading every PF's statistics: per
 * PF that was a cost growing with the square of the PFs. */
static int lease_pf(struct vfa_agent *c, const struct vfa_pool *p, const struct vfa_lease *l,
		    struct pf **ret, struct vfa_err *e)
{
	for (unsigned int j = 0; j < p->n_pf; j++) {
		struct vfa_err e2;
		struct pf *pf;

		if (vfa_pf_resolve(c, p->pf[j], p, &pf, &e2) == 0 && !strcmp(pf->pci, l->pf_pci)) {
			*ret = pf;
			return 0;
		}
	}
	return vfa_pf_resolve(c, l->pf_pci, p, ret, e);
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
		vfa_note(c, "%s %s: pool %s is no longer configured (lease kept)", l->pci, l->id, l->pool);
		return;
	}
	if (vfio_virtfn(c->io, l->pf_pci, l->vf, cur, sizeof(cur)) ||
	    strcmp(cur, l->pci)) {
		vfa_note(c, "%s %s: the VF is gone (sriov_numvfs changed?); lease kept, release it", l->pci, l->id);
		return;
	}
	if (!l->attached && !vfio_driver(c->io, l->pci, drv, sizeof(drv)) &&
	    strcmp(drv, "vfio-pci")) {
		bool ch = false;
		int g;

		vfa_model_vf_forget(c, l->pci);	/* the driver just said otherwise */
		if (vfa_make_ready(c, l->pci, &g, &ch, &e) == 0)
			vfa_repaired(c, VFA_REPAIR_DRIVER, "%s %s: was on driver \"%s\", rebound to vfio-pci",
				     l->pci, l->id, drv);
		else
			vfa_note(c, "%s %s: not on vfio-pci and could not be rebound: %s", l->pci, l->id, e.msg);
	}
	if (lease_pf(c, p, l, &pf, &e) || vfa_parse_mac(l->mac, mac))
		return;
	vf = vfa_pf_vf(pf, l->vf);
	if (vf && (vf->has & VFNL_HAS_MAC) &&
	    (memcmp(vf->mac, mac, 6) || vf->vlan != l->vlan || vf->qos != l->qos)) {
		struct vfnl_vf_set s = { .index = l->vf,
			.set = VFNL_SET_MAC | VFNL_SET_VLAN,
			.vlan = l->vlan, .qos = l->qos };

		memcpy(s.mac, mac, 6);
		if (vfa_vf_apply(c, pf, &s, 1, &e) >= 0)
			vfa_repaired(c, VFA_REPAIR_NETCFG, "%s %s: MAC/VLAN differed from the lease, set back to %s vlan %u",
				     l->pci, l->id, l->mac, l->vlan);
		else
			vfa_note(c, "%s %s: MAC/VLAN differ from the lease: %s", l->pci, l->id, e.msg);
	}
}

/* Takes a lease's VF back from its domain if it was attached. 0 when the
 * domain no longer has it (the VF may be scrubbed); otherwise the lease is
 * kept, saved as "detaching", and -EINPROGRESS or the error is returned. */
int vfa_undo_attach(struct vfa_agent *c, struct vfa_lease *l, struct vfa_err *e)
{
	struct vfa_virt *v;
	int r;

	if (!l->domain[0] || !l->attached)
		return 0;
	v = vfa_virt_conn(c, e);
	r = v ? vfa_virt_detach(v, l->uuid, l->domain, l->pci, l->persistent, e) : -ENOTCONN;
	if (r == 0)
		return 0;
	vfa_lease_set_state(l, VFA_LS_DETACHING);
	vfa_journal(c, l, NULL);
	return r;
}

/* Scrubs a lease's VF and drops the lease, noting why; reclaimed leases
 * are also reported as released by a release command running reconcile. */
static void give_back(struct vfa_agent *c, const struct vfa_lease *l,
		      const char *why, bool reclaimed)
{
	struct vfa_err e;

	if (vfa_scrub(c, l, &e) || vfa_unjournal(c, l->pci, &e)) {
		vfa_note(c, "%s %s: %s, but the VF could not be scrubbed: %s", l->pci,
			 l->id, why, e.msg);
		return;
	}
	vfa_repaired(c, VFA_REPAIR_RECLAIMED, "%s %s: %s; VF scrubbed and back in pool %s",
		     l->pci, l->id, why, l->pool);
	if (reclaimed && c->n_reclaimed < sizeof(c->reclaimed) / sizeof(c->reclaimed[0]))
		c->reclaimed[c->n_reclaimed++] = *l;
}

static int pool_vf(struct vfa_agent *c, const char *pci, const struct vfa_pool **ret_p,
		   struct pf **ret_pf, unsigned int *ret_idx);

/**
 * vfa_lease_repool - a lease whose pool is not configured (a fence's pool
 * not known yet, lease.c vfa_lease_fence; or the pool removed or
 * renamed) is moved to the configured pool that has its VF, journaled.
 * Returns 0 when l's pool is configured now, -ENOENT when no pool has the
 * VF, another -errno with e (may be NULL) when the journal write failed.
 */
static int vfa_lease_repool(struct vfa_agent *c, struct vfa_lease *l, struct vfa_err *e)
{
	const struct vfa_pool *p;
	struct pf *pf;
	unsigned int idx;

	if (vfa_config_pool(&c->cfg, l->pool))
		return 0;
	if (pool_vf(c, l->pci, &p, &pf, &idx) ||
	    vfa_put_str(l->pool, sizeof(l->pool), p->name) ||
	    vfa_put_str(l->pf, sizeof(l->pf), pf->netdev) ||
	    vfa_put_str(l->pf_pci, sizeof(l->pf_pci), pf->pci))
		return -ENOENT;
	l->vf = idx;
	if (vfio_group(c->io, l->pci, &l->group))
		l->group = -1;
	return vfa_journal(c, l, e);
}

/**
 * vfa_lease_unpooled - releases lease l (fenced or not) if no configured
 * pool has its VF (its pool was removed, or renamed and the VF left out): no pool
 * says what the VF's idle state is, so it is not scrubbed; the lease is
 * dropped, added to done, and the VF left as it is, said in a note.
 * Returns 1 when so, 0 when a pool has the VF (vfa_lease_repool moved the
 * lease there: release it as any other), -errno with e.
 */
int vfa_lease_unpooled(struct vfa_agent *c, struct vfa_lease *l, json_object *done,
		       struct vfa_err *e)
{
	int r = vfa_lease_repool(c, l, e);

	if (r != -ENOENT)
		return r;
	r = vfa_unjournal(c, l->pci, e);
	if (r)
		return r;
	vfa_note(c, "%s %s: lease released: no configured pool has this VF (lease pool %s), so the VF was left as it is, not scrubbed (its MAC, VLAN and driver are what the last holder left)",
		 l->pci, l->id, l->pool);
	json_object_array_add(done, vfa_lease_json(l));
	return 1;
}

/* A fenced lease is never freed here: nobody knows who holds its VF. Its
 * pool and PF are filled in once a pool has the VF (vfa_lease_repool), so
 * that an admin's release can scrub it; every look notes it (the daemon's
 * sweep logs a note once while it stays the same). */
static void check_fenced(struct vfa_agent *c, struct vfa_lease *l)
{
	vfa_lease_repool(c, l, NULL);
	vfa_note(c, "%s %s: fenced: " VFA_FENCE_WHY "; once you know none does: vfagent release --pci %s%s",
		 l->pci, l->id, l->pci,
		 vfa_config_pool(&c->cfg, l->pool) ? "" : " (no configured pool has this VF: the release drops the lease and leaves the VF as it is)");
}

/* Finishes or undoes what a dead process left, and checks each ready
 * lease against the kernel. Runs under the state lock. */
void vfa_reconcile_leases(struct vfa_agent *c)
{
	struct vfa_lease *ls = NULL;
	json_object *bad = json_object_new_array();
	size_t n = 0;

	if (vfa_lease_list(c->st, &ls, &n, bad) < 0) {
		vfa_note(c, "journal: cannot read the lease directory");
		json_object_put(bad);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(bad); i++)
		vfa_note(c, "%s: " VFA_DAMAGED_FIX,
			 json_object_get_string(json_object_array_get_idx(bad, i)));
	json_object_put(bad);
	for (size_t i = 0; i < n; i++) {
		enum vfa_lease_state st;
		struct vfa_lease cur, *l = &cur;
		char why[512];	/* "domain <name> released the device" */
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
		st = vfa_lease_state(l);
		if (st == VFA_LS_ALLOCATING || st == VFA_LS_RELEASING) {
			const char *what = st == VFA_LS_ALLOCATING ?
				"interrupted alloc rolled back" : "interrupted release finished";

			/* An attach may have happened before the crash. */
			if (vfa_undo_attach(c, l, &e))
				vfa_note(c, "%s %s: %s, but domain %s still holds the VF (%s); kept as detaching",
					 l->pci, l->id, what, l->domain, e.msg);
			else
				give_back(c, l, what, false);
		} else if (st == VFA_LS_FENCED) {
			check_fenced(c, l);
		} else if (st == VFA_LS_DETACHING) {
			bool held = true;
			struct vfa_virt *v = vfa_virt_conn(c, &e);

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

			if (vfa_pf_resolve(c, p->pf[j], p, &pf, &e))
				continue;
			for (unsigned int k = 0; k < p->vfs; k++) {
				char vf[32];
				struct vfpci_addr a;

				if (k < pf->link->num_vf &&
				    !vfio_virtfn(c->io, pf->pci, k, vf, sizeof(vf))) {
					if (strcmp(vf, pci))
						continue;
				} else if (vfa_pf_sriov(c, pf, &e) ||
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
	int r;

	r = vfa_lease_load(c->st, pci, &cur);
	if (r == 0 && cur.uuid[0] && strcmp(cur.uuid, uuid))
		vfa_note(c, "%s %s: leased to %s, but domain %s also names it as hostdev; its next start will fail or take the VF: remove it there (virsh detach-device --config)",
			pci, cur.id, cur.domain, name);
	if (r != -ENOENT || pool_vf(c, pci, &p, &pf, &idx))
		return 0;	/* leased (or unreadable: taken), or not ours */
	vfa_new_id(l.id);
	l.owner = VFA_NO_OWNER;	/* a domain's own VF: root's to release */
	vfa_lease_set_state(&l, VFA_LS_READY);
	if (vfa_put_str(l.pool, sizeof(l.pool), p->name) || vfa_put_str(l.pf, sizeof(l.pf), pf->netdev) ||
	    vfa_put_str(l.pf_pci, sizeof(l.pf_pci), pf->pci) || vfa_put_str(l.pci, sizeof(l.pci), pci) ||
	    vfa_put_str(l.uuid, sizeof(l.uuid), uuid))
		return 0;
	/* A name too long to journal: the UUID stands in for display. */
	if (vfa_put_str(l.domain, sizeof(l.domain), name))
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
	l.pid = vfa_self_pid();
	l.created = time(NULL);
	if (vfa_journal(c, &l, &e))
		vfa_note(c, "%s: named by domain %s but could not be journaled: %s", pci, l.domain, e.msg);
	else
		vfa_repaired(c, VFA_REPAIR_ADOPTED, "%s %s: named as hostdev by domain %s (%s): leased to it",
			     pci, l.id, l.domain, in_config ? "saved config" : "live");
	return 0;
}

/* Copies each persistent lease the runtime journal lacks back into it.
 * 0, or -errno with e when the persistent journal cannot be read (newer
 * format, owner or mode refused, I/O) or a lease of it could not be
 * copied: what was copied stays, the rest is tried again next time. */
static int restore_persistent(struct vfa_agent *c, struct vfa_err *e)
{
	struct vfa_lease *ls = NULL, cur;
	size_t n = 0;
	int r;

	if (!c->pst) {
		r = vfa_persist_open(c->persist_dir, false, &c->pst, e);
		if (r)
			return r;
	}
	if (!c->pst)
		return 0;	/* no persistent state (yet, or disabled) */
	r = vfa_lease_list(c->pst, &ls, &n, NULL);
	if (r)
		return vfa_fail(e, -r, "journal %s/journal: %s", c->persist_dir, strerror(-r));
	for (size_t i = 0; i < n; i++) {
		r = vfa_lease_load(c->st, ls[i].pci, &cur);
		if (r == 0)
			continue;
		if (r == -ENOENT)
			r = vfa_lease_save(c->st, &ls[i], e);
		else
			vfa_fail(e, -r, "journal %s: %s", c->state_dir, strerror(-r));
		if (r) {
			free(ls);
			return r;
		}
		vfa_repaired(c, VFA_REPAIR_RESTORED, "%s %s: persistent lease of domain %s restored from %s",
			     ls[i].pci, ls[i].id, ls[i].domain, c->persist_dir);
	}
	free(ls);
	return 0;
}

/* The persistent leases could not be restored (why: e): until they are,
 * any VF that looks free may be a persistent domain's (its saved config
 * names it, its next start takes it), so alloc refuses (vfa_unrestored)
 * rather than hand it to someone else. Status, list, release and setup
 * go on: setup must ready the PFs at boot, and a VF it scrubs that a
 * domain owns gets its lease's MAC/VLAN back from the reconcile after the
 * restore. The daemon logs this note at warning (serve.c). */
static void set_unrestored(struct vfa_agent *c, const struct vfa_err *e)
{
	snprintf(c->unrestored, sizeof(c->unrestored),
		 "persistent leases in %s not restored: %s; until they are, alloc hands out no VF (a persistent domain may own any VF that looks free): fix that (vfagent doctor, check state.journal), every command retries",
		 c->persist_dir, e->msg);
	vfa_note(c, "%s", c->unrestored);
}

/**
 * vfa_agent_unrestored() - why the persistent leases are not restored
 * in this boot (the reconcile note saying so, owned by a), or NULL when
 * they are (or there are none).
 */
const char *vfa_agent_unrestored(const struct vfa_agent *a)
{
	return a->unrestored[0] ? a->unrestored : NULL;
}

/**
 * vfa_unrestored() - alloc's guard: -EAGAIN with e while the persistent
 * leases could not be restored (set_unrestored), else 0.
 */
int vfa_unrestored(const struct vfa_agent *c, struct vfa_err *e)
{
	if (!c->unrestored[0])
		return 0;
	return vfa_fail(e, EAGAIN, "no VF handed out: %s", c->unrestored);
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
 * saved configs and the journal agree on who holds what. Until the
 * persistent journal is read and libvirt answers, each command retries
 * (restoring persistent leases is idempotent; with no libvirt socket that
 * costs two stats). */
void vfa_rebuild(struct vfa_agent *c)
{
	struct vfa_virt *v;
	struct vfa_err e;
	int r;

	if (!vfa_rebuild_needed(c->state_dir)) {
		c->unrestored[0] = '\0';	/* a command restored them in this boot */
		return;
	}
	if (restore_persistent(c, &e)) {
		set_unrestored(c, &e);
		return;		/* not done: the next command retries */
	}
	c->unrestored[0] = '\0';
	if (VFAGENT_LIBVIRT && !libvirt_there(&c->cfg))
		return;
	v = vfa_virt_conn(c, &e);
	if (v) {
		r = vfa_virt_hostdevs(v, adopt, c, &e);
		if (r) {
			vfa_note(c, "rebuild from libvirt domains: %s", e.msg);
			return;
		}
	} else if (c->virt_errno != -ENOTSUP) {
		return;
	}
	r = vfa_rebuild_done(c->state_dir);
	if (r)
		vfa_note(c, "journal %s/rebuilt: %s", c->state_dir, strerror(-r));
}

/* The daemon's reconcile (domains: also ask libvirt about each domain);
 * *ret_notes the caller's. */
int vfa_reconcile(struct vfa_agent *c, bool domains, json_object **ret_notes,
		  struct vfa_err *e)
{
	int r;

	c->check_domains = domains;
	c->model.due = true;	/* the daemon's model: a full look, now */
	r = vfa_begin(c, e);
	c->check_domains = false;
	if (r)
		return r;
	vfa_state_unlock(c->st);
	*ret_notes = json_object_get(c->notes);
	return 0;
}
