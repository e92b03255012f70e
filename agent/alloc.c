/* vfagent alloc: lease a free VF, journaled before any hardware is
 * touched, rolled back on any failure. */
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

static int unknown_pool(struct vfa_agent *c, const struct vfa_opts *o, struct vfa_err *e)
{
	char names[512] = "";

	for (unsigned int i = 0; i < c->cfg.n_pools; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 i ? ", " : "", c->cfg.pools[i].name);
	return vfa_usage(e, ENOENT, "unknown pool \"%s\" (pools in %s: %s)", o->pool,
			 c->cfg.path, *names ? names : "none");
}

/* Everything the user named about the domain, checked before anything
 * changes: l->domain and l->uuid set, *running whether it runs. */
static int check_domain(struct vfa_agent *c, const struct vfa_opts *o, struct vfa_lease *l,
			bool *running, struct vfa_err *e)
{
	struct vfa_virt *v;
	int r;

	if (!o->domain)
		return 0;
	if (vfa_put_str(l->domain, sizeof(l->domain), o->domain))
		return vfa_usage(e, ENAMETOOLONG, "domain name of %zu bytes: vfagent journals names of up to %zu bytes; rename the domain (virsh domrename) or use a shorter name",
				 strlen(o->domain), sizeof(l->domain) - 1);
	v = vfa_virt_conn(c, e);
	if (!v)
		return -ENOTCONN;
	/* From here on the domain is its UUID: the name may change. */
	r = vfa_virt_domain(v, o->domain, running, l->uuid, e);
	/* Perhaps named by its UUID: the lease shows its name. */
	if (!r && strspn(o->domain, "0123456789abcdefABCDEF-") == strlen(o->domain))
		r = vfa_virt_domain_uuid(v, l->uuid, running, l->domain, e);
	if (r)
		return r;
	if (o->live && !*running)
		return vfa_fail(e, EINVAL, "domain %s is not running: start it, or attach with --persistent only", o->domain);
	/* A live attach needs a free hot-plug slot: refuse now, not in libvirt. */
	if (*running && (o->live || !o->persistent))
		return vfa_slots_require(v, l->domain, e);
	return 0;
}

/* What the VF search found besides a VF: PFs skipped and why, the pool
 * size counted, the lease holding --pci. */
struct pick {
	const struct vfa_lease *ls;
	size_t nl;
	char skipped[VFA_ERR_LEN];
	char taken[17];
	unsigned int size, usable;
};

/* Can pf serve pool p? "" in e2->msg if so. */
static void pf_usable(struct vfa_agent *c, const struct vfa_pool *p, const char *spec,
		      struct pf **ret, struct vfa_err *e2)
{
	struct pf *cand;

	if (vfa_pf_resolve(c, spec, p, &cand, e2))
		return;
	if (!(cand->link->flags & IFF_UP))
		vfa_fail(e2, ENETDOWN, "PF %s is down: run vfagent setup (it brings the PF up without addresses)",
			 cand->netdev);
	else if (cand->link->num_vf < p->vfs)
		vfa_fail(e2, ENODEV, "PF %s has %u of the %u VFs the pool wants: run vfagent setup",
			 cand->netdev, cand->link->num_vf, p->vfs);
	else
		e2->msg[0] = '\0';
	*ret = cand;
}

/* A free VF of pf (o->pci: only that one) into l, its lock in *ret_vfl;
 * 0 with l->pci "" when pf has none. */
static int pick_on(struct vfa_agent *c, const struct vfa_opts *o, const struct vfa_pool *p,
		   struct pf *pf, struct pick *k, struct vfa_lease *l, int *ret_vfl,
		   struct vfa_err *e)
{
	for (unsigned int i = 0; i < p->vfs; i++) {
		const struct vfa_lease *held;
		struct vfa_lease cur;
		char vf[sizeof(l->pci)];
		int vfl, r = vfa_vf_pci(c, pf, i, vf, sizeof(vf), e);

		if (r)
			return r;
		if (o->pci && strcmp(vf, o->pci))
			continue;
		held = vfa_lease_on(k->ls, k->nl, vf);
		if (held) {
			snprintf(k->taken, sizeof(k->taken), "%s", held->id);
			continue;
		}
		/* The list may have missed a lease (an unreadable file, one
		 * renamed while listed): only a VF with no lease file at all,
		 * checked under its lock, is free. */
		vfl = vfa_vf_hold(c, vf, true);
		if (vfl < 0)
			return vfa_fail(e, vfl, "lock for %s: %s", vf, strerror(-vfl));
		if (vfa_lease_load(c->st, vf, &cur) != -ENOENT) {
			snprintf(k->taken, sizeof(k->taken), "%s", cur.id);
			vfa_vf_unhold(c, vfl);
			continue;
		}
		snprintf(l->pci, sizeof(l->pci), "%s", vf);
		l->vf = i;
		*ret_vfl = vfl;
		return 0;
	}
	return 0;
}

/* Why no VF was found: -ENODEV (no PF can serve), -ENOENT (--pci is not
 * in the pool) or -EBUSY (exit 3: leased, or the pool exhausted). */
static int none_free(struct vfa_agent *c, const struct vfa_opts *o, const struct vfa_pool *p,
		     struct pick *k, struct vfa_err *e)
{
	size_t len;

	if (o->pci && !*k->taken)
		return vfa_usage(e, ENOENT, "VF %s is not a VF of pool %s (vfagent list shows them)%s%s",
				 o->pci, p->name, *k->skipped ? "; unusable: " : "", k->skipped);
	if (o->pci) {
		vfa_fail(e, EBUSY, "VF %s of pool %s is leased (lease %s): release it first, or alloc without --pci",
			 o->pci, p->name, k->taken);
		e->exit = VFA_EXIT_EXHAUSTED;
		return -EBUSY;
	}
	if (!k->usable)
		return vfa_fail(e, ENODEV, "pool %s has no PF that can serve: %s", p->name, k->skipped);
	exhausted_msg(c, p, k->ls, k->nl, k->size, e);
	len = strlen(e->msg);
	if (*k->skipped)
		snprintf(e->msg + len, sizeof(e->msg) - len, " (unusable: %s)", k->skipped);
	return -EBUSY;
}

/* The free VF for the lease: l->pci, l->vf, *ret_pf and the VF's lock in
 * *ret_vfl. A PF that cannot serve (missing, down, short of VFs) is
 * skipped and noted; the alloc fails only when none can. */
static int pick_vf(struct vfa_agent *c, const struct vfa_opts *o, const struct vfa_pool *p,
		   struct pick *k, struct vfa_lease *l, struct pf **ret_pf, int *ret_vfl,
		   struct vfa_err *e)
{
	for (unsigned int j = 0; j < p->n_pf; j++) {
		struct vfa_err e2;
		struct pf *pf = NULL;
		int r;

		pf_usable(c, p, p->pf[j], &pf, &e2);
		if (e2.msg[0]) {
			size_t len = strlen(k->skipped);

			snprintf(k->skipped + len, sizeof(k->skipped) - len, "%s%s", len ? "; " : "", e2.msg);
			vfa_note(c, "pool %s: skipped: %s", p->name, e2.msg);
			continue;
		}
		k->usable++;
		k->size += p->vfs;
		r = pick_on(c, o, p, pf, k, l, ret_vfl, e);
		if (r)
			return r;
		if (l->pci[0]) {
			*ret_pf = pf;
			return 0;
		}
	}
	return none_free(c, o, p, k, e);
}

/* The daemon does not reconcile per request (model.c): before it says
 * "exhausted", a lease a crashed holder left may be reclaimed; then the
 * search runs once more. *ls is replaced (the caller frees it). */
static int pick_reconciled(struct vfa_agent *c, const struct vfa_opts *o,
			   const struct vfa_pool *p, struct pick *k, struct vfa_lease **ls,
			   struct vfa_lease *l, struct pf **ret_pf, int *ret_vfl,
			   struct vfa_err *e)
{
	struct vfa_lease *fresh = NULL;
	size_t n = 0;
	int r;

	vfa_reconcile_leases(c);
	r = vfa_leases_of(c, &fresh, &n, e);
	if (r)
		return r;
	free(*ls);
	*ls = fresh;
	*k = (struct pick){ .ls = fresh, .nl = n };
	return pick_vf(c, o, p, k, l, ret_pf, ret_vfl, e);
}

/* The rest of the lease: MAC (o's or random, not leased already), names,
 * VLAN, holder; state "allocating". */
static int fill_lease(const struct vfa_opts *o, const struct vfa_pool *p, const struct pf *pf,
		      const struct pick *k, struct vfa_lease *l, uint8_t mac[6], struct vfa_err *e)
{
	vfa_new_id(l->id);
	if (o->has_mac) {
		memcpy(mac, o->mac, 6);
	} else {
		/* Locally administered unicast, random. */
		vfa_random_bytes(mac, 6);
		mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
	}
	vfa_mac_str(mac, l->mac);
	for (size_t i = 0; i < k->nl; i++)
		if (!strcmp(k->ls[i].mac, l->mac))
			return vfa_fail(e, EADDRINUSE, "MAC %s is already leased (%s, lease %s)", l->mac,
					k->ls[i].pci, k->ls[i].id);
	vfa_lease_set_state(l, VFA_LS_ALLOCATING);
	if (vfa_put_str(l->pool, sizeof(l->pool), p->name) || vfa_put_str(l->pf, sizeof(l->pf), pf->netdev) ||
	    vfa_put_str(l->pf_pci, sizeof(l->pf_pci), pf->pci))
		return vfa_fail(e, ENAMETOOLONG, "pool %s, PF %s: a name too long to journal", p->name, pf->netdev);
	l->group = -1;
	if (o->holder)
		snprintf(l->holder, sizeof(l->holder), "%s", o->holder);
	l->vlan = o->has_vlan ? o->vlan : p->vlan;
	l->qos = o->has_vlan ? o->qos : p->qos;
	l->pid = vfa_self_pid();
	l->created = time(NULL);
	l->owner = o->by_peer ? o->peer_uid : VFA_NO_OWNER;
	return 0;
}

/* Under the state lock: the pool, the domain, a free VF, the lease
 * journaled as "allocating" before any hardware is touched. On success
 * the state lock is let go (others may pick other VFs) and the VF's lock
 * is in *ret_vfl (the caller closes it). */
static int reserve(struct vfa_agent *c, const struct vfa_opts *o, const struct vfa_pool **ret_p,
		   struct pf **ret_pf, struct vfa_lease *l, uint8_t mac[6], bool *running,
		   int *ret_vfl, struct vfa_err *e)
{
	struct pick k = { .ls = NULL };
	struct vfa_lease *ls = NULL;
	const struct vfa_pool *p;
	int r, vfl = -1;

	r = vfa_begin(c, e);
	if (r)
		return r;
	r = vfa_unrestored(c, e);
	if (r)
		goto unlock;
	p = vfa_config_pool(&c->cfg, o->pool);
	r = p ? check_domain(c, o, l, running, e) : unknown_pool(c, o, e);
	if (r)
		goto unlock;
	r = vfa_leases_of(c, &ls, &k.nl, e);
	if (r)
		goto unlock;
	k.ls = ls;
	r = pick_vf(c, o, p, &k, l, ret_pf, &vfl, e);
	if (r == -EBUSY && c->model.on && !o->pci)
		r = pick_reconciled(c, o, p, &k, &ls, l, ret_pf, &vfl, e);
	if (r)
		goto free_leases;
	r = fill_lease(o, p, *ret_pf, &k, l, mac, e);
	if (!r)
		r = vfa_journal(c, l, e);
	if (r)
		goto close_vf;
	vfa_crash_point("journaled");
	*ret_p = p;
	*ret_vfl = vfl;
	free(ls);
	vfa_state_unlock(c->st);
	return 0;
close_vf:
	vfa_vf_unhold(c, vfl);
free_leases:
	free(ls);
unlock:
	vfa_state_unlock(c->st);
	return r;
}

/* Journaled as attached first: a crash during or after the attach must
 * detach before the VF can go back to the pool. */
static int attach(struct vfa_agent *c, const struct vfa_opts *o, bool running,
		  struct vfa_lease *l, struct vfa_err *e)
{
	unsigned int fl = (o->live ? VFA_LIVE : 0) | (o->persistent ? VFA_PERSISTENT : 0);
	int r;

	if (!fl)
		fl = running ? VFA_LIVE : VFA_PERSISTENT;
	l->attached = true;
	l->persistent = fl & VFA_PERSISTENT;
	r = vfa_journal(c, l, e);
	if (r)
		return r;
	vfa_crash_point("attaching");
	r = vfa_virt_attach(c->virt, l->uuid, l->domain, l->pci, fl, e);
	if (r)
		return r;
	vfa_crash_point("attached");
	return 0;
}

/* The journaled lease made real: MAC, VLAN and the pool's switches in one
 * message, vfio-pci, the node's owner, the attach; then "ready". */
static int make_real(struct vfa_agent *c, const struct vfa_opts *o, const struct vfa_pool *p,
		     struct pf *pf, const uint8_t mac[6], bool running, struct vfa_lease *l,
		     bool *cold, struct vfa_err *e)
{
	struct vfnl_vf_set s;
	int r;

	vfa_vf_baseline(p, l->vf, &s);
	memcpy(s.mac, mac, 6);
	s.vlan = l->vlan;
	s.qos = l->qos;
	vfa_vf_diff(vfa_pf_vf(pf, l->vf), &s);
	s.set |= VFNL_SET_MAC | VFNL_SET_VLAN;
	r = vfa_vf_apply(c, pf, &s, 1, e);
	if (r < 0)
		return r;
	vfa_crash_point("netlink");
	r = vfa_make_ready(c, l->pci, &l->group, cold, e);
	if (r)
		return r;
	if (p->has_owner) {
		r = vfa_own_node(c, l->group, p->uid, p->gid, p->mode, e);
		if (r < 0)
			return r;
	}
	vfa_crash_point("owned");
	if (o->domain) {
		r = attach(c, o, running, l, e);
		if (r)
			return r;
	}
	vfa_lease_set_state(l, VFA_LS_READY);
	return vfa_journal(c, l, e);
}

/* Nothing half-done: out of the domain, scrub, idle the node, drop the
 * lease. A domain that keeps the VF keeps the lease (said in e). */
static void roll_back(struct vfa_agent *c, struct vfa_lease *l, struct vfa_err *e)
{
	size_t len = strlen(e->msg);
	struct vfa_err e2;
	int u = vfa_undo_attach(c, l, &e2);

	/* Only libvirt knows whether the attach got through; when it cannot
	 * be asked, say so rather than guess. */
	if (u == -EINPROGRESS)
		snprintf(e->msg + len, sizeof(e->msg) - len,
			 "; domain %s still holds %s, which stays leased (%s) until it lets go",
			 l->domain, l->pci, l->id);
	else if (u)
		snprintf(e->msg + len, sizeof(e->msg) - len,
			 "; whether domain %s holds %s could not be checked, so it stays leased (%s) until a later command finds it free",
			 l->domain, l->pci, l->id);
	else if (vfa_scrub(c, l, &e2))
		snprintf(e->msg + len, sizeof(e->msg) - len,
			 "; %s could not be put back (%s), so it stays leased (%s) until a later command can",
			 l->pci, e2.msg, l->id);
	else
		vfa_unjournal(c, l->pci, &e2);
}

/* Leases a free VF of o->pool (o->pci: exactly that one); *ret the lease
 * (the caller's), or -errno with e (exit 3 when the pool is exhausted or
 * the VF asked for is leased). */
int vfa_alloc(struct vfa_agent *c, const struct vfa_opts *o, json_object **ret,
	      struct vfa_err *e)
{
	struct vfa_lease l = { 0 };
	const struct vfa_pool *p = NULL;
	struct pf *pf = NULL;
	bool running = false, cold = false;
	uint8_t mac[6];
	int r, vfl = -1;

	r = reserve(c, o, &p, &pf, &l, mac, &running, &vfl, e);
	if (r)
		return r;
	r = make_real(c, o, p, pf, mac, running, &l, &cold, e);
	if (r) {
		roll_back(c, &l, e);
		goto close_vf;
	}
	vfa_crash_point("ready");
	*ret = vfa_lease_json(&l);
	json_object_object_add(*ret, "cold", json_object_new_boolean(cold));
	vfa_finish(c, *ret);
close_vf:
	vfa_vf_unhold(c, vfl);
	return r;
}
