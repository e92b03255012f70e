/* vfagent release: detach, scrub and return VFs to the pool. */
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

#include "agent/lease_match.h"
#include "nl/vfnl.h"
#include "pci/vfpci.h"
#include "vfio/vfio.h"

/* Drops l from the journals. A lease that is not persistent has no copy
 * in the persistent journal (vfa_journal writes one only for persistent
 * leases): while that journal is not open, its directory is not looked
 * for (vfa_unjournal's stat, failing ENOENT on every release of a host
 * without one). */
static int unjournal(struct vfa_agent *c, const struct vfa_lease *l, struct vfa_err *e)
{
	if (!l->persistent && !c->pst)
		return vfa_lease_drop(c->st, l->pci, e);
	return vfa_unjournal(c, l->pci, e);
}

static int release_one(struct vfa_agent *c, const struct vfa_opts *o, const char *uuid,
		       struct vfa_lease *l, json_object *done, json_object *pending,
		       struct vfa_err *e)
{
	int fd = vfa_vf_hold(c, l->pci, true), r = 0;
	char id[sizeof(l->id)];

	if (fd < 0)
		return vfa_fail(e, fd, "lock for %s: %s", l->pci, strerror(-fd));
	/* Reread under the VF lock: another release may have won, and the VF
	 * may since have been leased again to someone else. */
	memcpy(id, l->id, sizeof(id));
	if (vfa_lease_load(c->st, l->pci, l) || strcmp(l->id, id) ||
	    !vfa_lease_match(o, uuid, l)) {
		vfa_vf_unhold(c, fd);
		return 0;
	}
	if (l->domain[0] && (l->attached || vfa_lease_state(l) == VFA_LS_DETACHING)) {
		struct vfa_virt *v = vfa_virt_conn(c, e);

		if (!v) {
			r = -ENOTCONN;
			goto out;
		}
		/* The intent first: after a crash past the detach, the next
		 * command finishes the release instead of keeping a lease on a
		 * VF no domain holds. */
		if (vfa_lease_state(l) != VFA_LS_DETACHING) {
			vfa_lease_set_state(l, VFA_LS_RELEASING);
			r = vfa_journal(c, l, e);
			if (r)
				goto out;
		}
		vfa_crash_point("release.detach");
		r = vfa_virt_detach(v, l->uuid, l->domain, l->pci, l->persistent, e);
		if (r == -EINPROGRESS) {
			vfa_lease_set_state(l, VFA_LS_DETACHING);
			r = vfa_journal(c, l, e);
			if (!r)
				json_object_array_add(pending, vfa_lease_json(l));
			goto out;
		}
		if (r) {
			/* Still attached: the lease stays as it was. */
			if (vfa_lease_state(l) == VFA_LS_RELEASING) {
				vfa_lease_set_state(l, VFA_LS_READY);
				vfa_journal(c, l, NULL);
			}
			goto out;
		}
		vfa_crash_point("release.detached");
	}
	/* Its pool gone from the config (removed, renamed): moved to the
	 * pool that has the VF now, or dropped with the VF left as it is
	 * (no pool says what its idle state is). */
	r = vfa_lease_unpooled(c, l, done, e);
	if (r) {
		r = r < 0 ? r : 0;
		goto out;
	}
	vfa_lease_set_state(l, VFA_LS_RELEASING);
	r = vfa_journal(c, l, e);
	vfa_crash_point("release.releasing");
	if (!r)
		r = vfa_scrub(c, l, e);
	vfa_crash_point("release.scrubbed");
	if (!r)
		r = unjournal(c, l, e);
	if (!r)
		json_object_array_add(done, vfa_lease_json(l));
out:
	vfa_vf_unhold(c, fd);
	return r;
}

/* Releases the leases o names; *ret released and pending ones (the
 * caller's); -EINPROGRESS when a detach is pending. */
int vfa_release(struct vfa_agent *c, const struct vfa_opts *o, json_object **ret,
	      struct vfa_err *e)
{
	json_object *done = json_object_new_array(), *pending = json_object_new_array();
	struct vfa_lease *ls = NULL, *todo[VFNL_MAX_VFS * 4];
	size_t n = 0, nt = 0;
	char uuid[VFA_UUID_LEN] = "";
	int r = vfa_begin(c, e);

	if (r)
		goto fail;
	if (o->domain)
		vfa_crash_point("release.domain");
	/* The daemon's: the domain it authorized, even if renamed since. */
	if (o->domain_uuid) {
		vfa_put_str(uuid, sizeof(uuid), o->domain_uuid);
	} else if (o->domain && vfa_virt_conn(c, NULL)) {
		struct vfa_err e2;
		bool running;

		if (vfa_virt_domain(c->virt, o->domain, &running, uuid, &e2))
			uuid[0] = '\0';
	}
	r = vfa_leases_of(c, &ls, &n, e);
	for (size_t i = 0; !r && i < n && nt < sizeof(todo) / sizeof(todo[0]); i++)
		if (vfa_lease_match(o, uuid, &ls[i]))
			todo[nt++] = &ls[i];
	vfa_state_unlock(c->st);
	/* Leases that reconcile just finished releasing count as released. */
	for (size_t i = 0; !r && i < c->n_reclaimed; i++) {
		if (vfa_lease_match(o, uuid, &c->reclaimed[i]))
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
	vfa_finish(c, *ret);
	return json_object_array_length(pending) ? -EINPROGRESS : 0;
fail:
	json_object_put(done);
	json_object_put(pending);
	return r;
}
