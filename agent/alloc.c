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
#include <sys/random.h>
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

/* Leases a free VF of o->pool; *ret the lease (the caller's), or -errno
 * with e (exit 3 when the pool is exhausted). */
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

	r = vfa_begin(c, e);
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

		if (vfa_put_str(l.domain, sizeof(l.domain), o->domain)) {
			r = vfa_usage(e, ENAMETOOLONG, "domain name of %zu bytes: vfagent journals names of up to %zu bytes; rename the domain (virsh domrename) or use a shorter name",
				      strlen(o->domain), sizeof(l.domain) - 1);
			goto out;
		}
		v = vfa_virt_conn(c, e);
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
	r = vfa_leases_of(c, &ls, &nl, e);
	if (r)
		goto out;
	/* A PF that cannot serve (missing, down, short of VFs) is skipped
	 * and noted; the alloc fails only when none can. */
	for (unsigned int j = 0; j < p->n_pf && !l.pci[0]; j++) {
		struct vfa_err e2;
		struct pf *cand;

		if (vfa_pf_resolve(c, p->pf[j], p, &cand, &e2) == 0) {
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
			vfa_note(c, "pool %s: skipped: %s", p->name, e2.msg);
			continue;
		}
		pf = cand;
		usable++;
		size += p->vfs;
		for (unsigned int i = 0; i < p->vfs; i++) {
			char vf[sizeof(l.pci)];
			struct vfa_lease cur;

			r = vfa_vf_pci(c, pf, i, vf, sizeof(vf), e);
			if (r)
				goto out;
			if (o->pci && strcmp(vf, o->pci))
				continue;
			if (vfa_lease_on(ls, nl, vf)) {
				if (o->pci)
					snprintf(taken, sizeof(taken), "%s", vfa_lease_on(ls, nl, vf)->id);
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
	vfa_new_id(l.id);
	if (o->has_mac) {
		memcpy(mac, o->mac, 6);
	} else {
		/* Locally administered unicast, random. */
		vfa_random_bytes(mac, 6);
		mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
	}
	vfa_mac_str(mac, l.mac);
	for (size_t i = 0; i < nl; i++)
		if (!strcmp(ls[i].mac, l.mac)) {
			r = vfa_fail(e, EADDRINUSE, "MAC %s is already leased (%s, lease %s)", l.mac, ls[i].pci, ls[i].id);
			goto out;
		}
	snprintf(l.state, sizeof(l.state), "allocating");
	if (vfa_put_str(l.pool, sizeof(l.pool), p->name) || vfa_put_str(l.pf, sizeof(l.pf), pf->netdev) ||
	    vfa_put_str(l.pf_pci, sizeof(l.pf_pci), pf->pci)) {
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
	r = vfa_journal(c, &l, e);
	if (r)
		goto out;
	journaled = true;
	vfa_crash_point("journaled");
	vfa_state_unlock(c->st);	/* others may pick other VFs now */
	locked = false;

	/* MAC, VLAN and the pool's switches in one message. */
	vfa_vf_baseline(p, l.vf, &s);
	memcpy(s.mac, mac, 6);
	s.vlan = l.vlan;
	s.qos = l.qos;
	vfa_vf_diff(vfa_pf_vf(pf, l.vf), &s);
	s.set |= VFNL_SET_MAC | VFNL_SET_VLAN;
	r = vfa_vf_apply(c, pf, &s, 1, e);
	if (r < 0)
		goto out;
	vfa_crash_point("netlink");
	r = vfa_make_ready(c, l.pci, &l.group, &ch, e);
	if (r)
		goto out;
	if (p->has_owner) {
		r = vfa_own_node(c, l.group, p->uid, p->gid, p->mode, e);
		if (r < 0)
			goto out;
	}
	vfa_crash_point("owned");
	if (o->domain) {
		unsigned int fl = (o->live ? VFA_LIVE : 0) | (o->persistent ? VFA_PERSISTENT : 0);

		if (!fl)
			fl = running ? VFA_LIVE : VFA_PERSISTENT;
		/* Journaled as attached first: a crash during or after the
		 * attach must detach before the VF can go back to the pool. */
		l.attached = true;
		l.persistent = fl & VFA_PERSISTENT;
		r = vfa_journal(c, &l, e);
		if (r)
			goto out;
		vfa_crash_point("attaching");
		r = vfa_virt_attach(c->virt, l.uuid, l.domain, l.pci, fl, e);
		if (r)
			goto out;
		vfa_crash_point("attached");
	}
	snprintf(l.state, sizeof(l.state), "ready");
	r = vfa_journal(c, &l, e);
	if (r)
		goto out;
	*ret = vfa_lease_json(&l);
	json_object_object_add(*ret, "cold", json_object_new_boolean(ch));
	vfa_finish(c, *ret);
out:
	if (r && journaled) {
		/* Nothing half-done: out of the domain, scrub, idle the node,
		 * drop the lease. A domain that keeps the VF keeps the lease. */
		struct vfa_err e2;
		int u = vfa_undo_attach(c, &l, &e2);

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
		} else if (vfa_scrub(c, &l, &e2) == 0) {
			vfa_unjournal(c, l.pci, &e2);
		}
	}
	if (vfl >= 0)
		close(vfl);
	if (locked)
		vfa_state_unlock(c->st);
	free(ls);
	return r;
}
