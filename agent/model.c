/* The daemon's state model: what vfagent serve last saw of the kernel,
 * kept between requests so that a request does not re-read it.
 *
 * The CLI (and --direct) starts every run from the kernel: vfa_begin()
 * clears the PF cache, rebuilds, reconciles every lease, and each PF is
 * looked up again. The daemon instead keeps, once vfa_model_enable() was
 * called:
 *  - per pool PF (struct pf in c->pfs): its identity (netdev, ifindex,
 *    PCI address) and its last link (flags, num_vf, VF table);
 *  - per VF its PCI address and IOMMU group (pf->vf_pci, until the PF's
 *    VF count changes; a group also until a uevent adds or removes the
 *    function) and, last seen on vfio-pci, its group (c->model.vfs);
 *  - per PF named by PCI address, the ifindex it was found at (kept when
 *    the model drops: one GETLINK, checked, instead of a link dump).
 * The metrics and the CDI spec are published from it (fleet.c).
 * Leases are not part of it: they stay in the journal (lease.c), which
 * workers and --direct CLIs write too; every request lists them.
 *
 * What keeps it true:
 *  - rtnetlink link events (serve.c's monitor): the PF named is marked
 *    stale and reread (one GETLINK) before the next request uses it. A
 *    change made behind the daemon's back (ip link set ... vf N ...)
 *    before a request was sent is seen before that request is served
 *    (the freshness rule), without a read per request; see below;
 *  - our own SETLINKs: applied to the cached VF entry once the kernel
 *    acked them; their own notification, queued before the ack, is read
 *    (one datagram) and dropped then (vfa_model_acked), so it costs no
 *    GETLINK;
 *  - the sweep (every 5 s): verified in place, not dropped (the request
 *    after a sweep must not pay for rereading it): one GETLINK per PF,
 *    the nodes of the VFs trusted on vfio-pci stat'ed (without uevents
 *    their groups reread too), and the leases reconciled;
 *  - errors that say it is stale (a SETLINK or lookup failing with
 *    ENODEV, a /dev/vfio node gone): dropped, reread at the next begin;
 *  - a VF cached as on vfio-pci: the daemon reads the kernel's uevents
 *    (vfio/uevent.c) before each request, as it reads the link events;
 *    a PCI function unbound, bound elsewhere, added or removed, and a
 *    /dev/vfio node removed, forget the VFs they name; lost uevents
 *    (ENOBUFS) forget them all. So a VF is trusted with no sysfs or /dev
 *    look per alloc. Without the uevent socket (vfa_model_uevents() not
 *    called) it is trusted only while still in that IOMMU group with the
 *    group's /dev/vfio node there (a readlink and a stat per alloc).
 *    Removing a node by hand sends no uevent: the chown then fails, and
 *    the sweep finds it within 5 s. A link event from someone else on
 *    a PF whose VF count it leaves as it was keeps the PF's VFs when
 *    uevents are read: VFs recreated by sriov_numvfs sent a remove and
 *    an add each, which forget them (address and group too), and lost
 *    uevents forget every VF. Without uevents any such link event
 *    forgets the VFs of the model;
 *  - a worker's job (serve_job.c: alloc/release --domain in a child
 *    process): nothing is dropped when it ends (vfa_model_job_done).
 *    What it changed reaches the model as anyone's change does, and
 *    before the daemon reads its reply (it made each change before it
 *    wrote the reply, so by the freshness rule below the events are
 *    read first): its lease records are in the journal, which the
 *    daemon reads on from where its fold stopped (one pread; journal.c
 *    vfa_journal_refresh, which follows a compaction's marker); its
 *    SETLINKs come as link events (that PF reread: one GETLINK); its
 *    binds and libvirt's rebinds as uevents (or, without them, the
 *    per-use check); the /dev/vfio node's owner and mode are never
 *    cached (the kept node is fstat'ed at each use). A worker that died
 *    before replying may have left leases mid-transition: the daemon
 *    reconciles at once, as the sweep would.
 *
 * The freshness rule, and why the daemon needs no read of the monitor or
 * uevent socket per request (serve.c srv_request_fresh; agent/loop.c):
 *  1. The kernel queues a link notification (or uevent) on our socket
 *     inside the syscall that made the change, before that syscall
 *     returns. A change "before the request was sent" has returned
 *     before the client's first send() of the request, so its
 *     notification is queued before any byte of the request is.
 *  2. The wakeup that puts an fd on epoll's ready list runs inside that
 *     queueing too. An epoll_wait reports what is on the ready list when
 *     it takes the list (and still readable when it looks at each fd),
 *     as long as it is not cut short by maxevents. The loop treats a
 *     full batch as "maybe not reported" (vfa_loop_first_seen false:
 *     the request drains).
 *  3. The monitor and uevent fds are dispatched before every other fd of
 *     the batch (vfa_loop_add_first), and their callbacks read all that
 *     is queued (srv_model_sync).
 *  4. A request line whose first byte was queued on its client socket
 *     when that turn's epoll_wait took its ready list: by 1 the
 *     notification of any change before it was queued then too, so by 2
 *     the monitor was reported in that batch, and by 3 read before any
 *     client callback.
 *     Such a line is one buffered before this turn's read, or the line
 *     that read's first byte starts or continues: the read runs because
 *     epoll_wait reported that socket readable, and a stream socket
 *     hands out its bytes in order. Lines behind it in the same read may
 *     have arrived after epoll_wait returned (a client pipelining): for
 *     those, and whenever the batch was full or the request is not run
 *     from a loop turn, the request reads both sockets first (2
 *     syscalls), as every request did before.
 *  5. Timers and callbacks of the same turn (the lock retry, a worker's
 *     reply) run requests read in this or an earlier turn: 4 holds for
 *     them as it is, earlier turns' lines all being safe.
 *  What this does not cover, and why it is accepted: epoll_wait takes
 *  the ready list and then looks at each fd on it. A client fd can be on
 *  it before its bytes arrive (level-triggered: an fd reported once is
 *  put back and looked at again in the next epoll_wait). If a change and
 *  then a request both land between the take and the look at that
 *  client's fd (microseconds, inside one epoll_wait of a daemon that was
 *  just answering the same client), the request is reported and the
 *  change's notification only in the next batch: that request is served
 *  from the model as it was, and the change is seen right after it. The
 *  rule without this window costs a syscall per request (an epoll_wait
 *  with timeout 0 on an epoll fd holding the two event sockets, after
 *  the client's read), against two before (a read of each).
 *  Our own notification, read right after the ack (one datagram), may
 *  find someone else's first and leave ours queued: the monitor stays
 *  readable and 3 reads it in the next turn, as a change of someone
 *  else (a GETLINK of that PF): a cost, never a stale model.
 *
 * Reconcile (per lease: lock, reload, kernel checks) runs at start, on
 * the sweep, on libvirt domain events and once before an alloc answers
 * "exhausted"; not per request.
 */
#include "agent/agent_priv.h"
#include "agent/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "nl/vfnl.h"
#include "vfio/vfio.h"

/* Turns the model on for c (the daemon's agent): state is kept between
 * requests from now on; the first begin rebuilds and reconciles. drain
 * (may be NULL) reads the link events queued, feeding vfa_model_link():
 * called right after each SETLINK the kernel acked. */
void vfa_model_enable(struct vfa_agent *c, vfa_model_drain_fn drain, void *ud)
{
	c->model.on = true;
	c->model.due = true;
	vfio_ctx_keep_nodes(c->io, true);	/* no open/close per node change */
	c->model.drain = drain;
	c->model.drain_ud = ud;
}

/* A link event: the cached PF it names, if any, is reread before its next
 * use; a removed one drops the whole cache (a PF's name or index may now
 * belong to another device). Returns false for the echo of our own
 * SETLINK just acked (vfa_model_acked: the cache has it already), true
 * for anything else (the caller looks at the PFs again). */
bool vfa_model_link(struct vfa_agent *c, const struct vfnl_link *l, bool removed)
{
	if (!removed && c->model.own_ifindex && l->ifindex == c->model.own_ifindex &&
	    l->flags == c->model.own_flags)
		return false;
	for (unsigned int i = 0; i < c->n_pfs; i++) {
		if (c->pfs[i].link->ifindex != l->ifindex)
			continue;
		if (removed)
			c->model.stale_all = true;
		c->pfs[i].stale = true;
	}
	return true;
}

/* The kernel acked a SETLINK on pf, whose settings the cache now holds
 * (vfa_model_applied). Its notification is queued by then (the kernel
 * sends it before the ack): read it now and let it not cost a GETLINK.
 * A change another process made to the same PF's VFs in the same instant
 * is taken for ours; the sweep rereads it within 5 s. */
void vfa_model_acked(struct vfa_agent *c, const struct pf *pf)
{
	if (!c->model.on || !c->model.drain)
		return;
	c->model.own_ifindex = pf->link->ifindex;
	c->model.own_flags = pf->link->flags;
	c->model.drain(c->model.drain_ud);
	c->model.own_ifindex = 0;
}

/* The /dev/vfio nodes kept open are opened again (their path checked)
 * at their next use: the sweep bounds how long a link put on their way
 * can go unseen (vfio_ctx_keep_nodes). */
static void nodes_reopen(struct vfa_agent *c)
{
	if (c->model.on) {
		vfio_ctx_keep_nodes(c->io, false);
		vfio_ctx_keep_nodes(c->io, true);
	}
}

/* Forgets everything the model holds; reread at the next begin (never
 * freed here: a request may be holding a PF). */
void vfa_model_invalidate(struct vfa_agent *c)
{
	c->model.stale_all = true;
	nodes_reopen(c);
}

/* A worker's job ended (serve_job.c). Nothing of the model is dropped:
 * what a worker changes reaches it as anyone else's changes do (the
 * header: leases, bindings, links, nodes). died: the worker went before
 * replying (killed half-way): its leases may be left mid-transition, so
 * the next begin reconciles (the daemon also reconciles at once). */
void vfa_model_job_done(struct vfa_agent *c, bool died)
{
	if (c->model.on && died)
		c->model.due = true;
}

/* The next begin looks at everything as the CLI does: the model dropped,
 * the journal rebuilt if needed, every lease reconciled (before setup). */
void vfa_model_full(struct vfa_agent *c)
{
	c->model.stale_all = true;
	c->model.due = true;
}

/* Brings the model up to date at a point where no PF is held (begin,
 * between requests): drops it all if asked, rereads the stale PFs. A PF
 * that cannot be reread, or was renamed, drops it all (the specs may now
 * name something else). */
void vfa_model_refresh(struct vfa_agent *c)
{
	if (!c->model.on)
		return;
	for (unsigned int i = 0; i < c->n_pfs && !c->model.stale_all; i++) {
		struct pf *pf = &c->pfs[i];
		struct vfa_err e;
		uint32_t num;

		if (!pf->stale)
			continue;
		num = pf->link->num_vf;
		if (vfa_pf_refresh(c, pf, &e) || strcmp(pf->link->name, pf->netdev))
			c->model.stale_all = true;
		/* Someone else changed this PF (a worker's SETLINK, ip link):
		 * its VFs may have been recreated (sriov_numvfs) in between.
		 * With uevents each recreated VF's remove and add forgot it
		 * (vfa_model_uevent), so only a changed count drops them all;
		 * without, look at them all again. */
		if (!c->model.uevents || pf->link->num_vf != num) {
			free(pf->vf_pci);
			pf->vf_pci = NULL;
			c->model.n_vfs = 0;
		}
		pf->stale = false;
	}
	if (!c->model.stale_all)
		return;
	vfa_pf_cache_clear(c);
	c->model.n_vfs = 0;
	c->model.stale_all = false;
}

static struct vfa_model_vf *vf_find(struct vfa_agent *c, const char *pci)
{
	for (unsigned int i = 0; i < c->model.n_vfs; i++)
		if (!strcmp(c->model.vfs[i].pci, pci))
			return &c->model.vfs[i];
	return NULL;
}

/* Is VF pci on vfio-pci as last seen, its /dev/vfio node still there?
 * Then *ret_group is its group. False (the caller runs the full check)
 * when the model is off, never saw it, or (no uevents) its node is gone
 * (then it is forgotten). */
bool vfa_model_vf_ready(struct vfa_agent *c, const char *pci, int *ret_group)
{
	struct vfa_model_vf *v;
	int grp = -1;
	uid_t u;
	gid_t g;
	mode_t m;

	if (!c->model.on)
		return false;
	v = vf_find(c, pci);
	if (!v)
		return false;
	if (c->model.uevents) {
		*ret_group = v->group;	/* kept true by uevents */
		return true;
	}
	/* Still in that group (a group number can be reused by a VF
	 * recreated behind our back), and the group's node is there. */
	if (vfio_group(c->io, pci, &grp) || grp != v->group ||
	    vfio_node_stat(c->io, v->group, &u, &g, &m)) {
		vfa_model_vf_forget(c, pci);
		return false;
	}
	*ret_group = v->group;
	return true;
}

/* Forgets what the model knows of VF pci (its driver was seen to change). */
void vfa_model_vf_forget(struct vfa_agent *c, const char *pci)
{
	struct vfa_model_vf *v = vf_find(c, pci);

	if (v)
		*v = c->model.vfs[--c->model.n_vfs];
}

/* Records that VF pci was found on vfio-pci with IOMMU group group. */
void vfa_model_vf_seen(struct vfa_agent *c, const char *pci, int group)
{
	struct vfa_model_vf *v;

	if (!c->model.on)
		return;
	v = vf_find(c, pci);
	if (!v) {
		if (c->model.n_vfs >= VFA_MODEL_VFS)
			return;
		v = &c->model.vfs[c->model.n_vfs++];
		snprintf(v->pci, sizeof(v->pci), "%s", pci);
	}
	v->group = group;
}

/* VF idx of pf's PCI address as last seen, into buf; false (look in
 * sysfs) when the model is off or has not seen it. */
bool vfa_model_vf_addr(struct vfa_agent *c, struct pf *pf, unsigned int idx,
		       char *buf, size_t len)
{
	if (!c->model.on || !pf->vf_pci || idx >= VFNL_MAX_VFS || !pf->vf_pci[idx][0] ||
	    strlen(pf->vf_pci[idx]) >= len)
		return false;
	memcpy(buf, pf->vf_pci[idx], strlen(pf->vf_pci[idx]) + 1);
	return true;
}

/* pf->vf_pci is one allocation: VFNL_MAX_VFS addresses, then as many
 * IOMMU groups (GRP_UNKNOWN until looked up), so that whoever frees the
 * addresses (agent.c, refresh) frees the groups with them. */
#define GRP_UNKNOWN (-2)
#define VF_TABLE_SIZE (VFNL_MAX_VFS * (sizeof(((struct pf *)0)->vf_pci[0]) + sizeof(int)))

static int *vf_groups(const struct pf *pf)
{
	return (int *)(void *)&pf->vf_pci[VFNL_MAX_VFS];
}

/* Records VF idx of pf at PCI address pci (kept until the PF's VF count
 * changes or the model is dropped). */
void vfa_model_vf_addr_seen(struct vfa_agent *c, struct pf *pf, unsigned int idx,
			    const char *pci)
{
	if (!c->model.on || idx >= VFNL_MAX_VFS || strlen(pci) >= sizeof(pf->vf_pci[0]))
		return;
	if (!pf->vf_pci) {
		pf->vf_pci = calloc(1, VF_TABLE_SIZE);
		for (unsigned int i = 0; pf->vf_pci && i < VFNL_MAX_VFS; i++)
			vf_groups(pf)[i] = GRP_UNKNOWN;
	}
	if (pf->vf_pci && strcmp(pf->vf_pci[idx], pci)) {
		memcpy(pf->vf_pci[idx], pci, strlen(pci) + 1);
		vf_groups(pf)[idx] = GRP_UNKNOWN;
	}
}

/* The IOMMU group of VF idx of pf as last seen (-1: none) into
 * *ret_group; false (look in sysfs) when the model has not seen it. A
 * group does not change while the VF exists: forgotten with the VF's
 * address, and on a uevent that adds or removes the function. */
bool vfa_model_vf_group(struct vfa_agent *c, const struct pf *pf, unsigned int idx,
			int *ret_group)
{
	if (!c->model.on || !pf->vf_pci || idx >= VFNL_MAX_VFS || !pf->vf_pci[idx][0] ||
	    vf_groups(pf)[idx] == GRP_UNKNOWN)
		return false;
	*ret_group = vf_groups(pf)[idx];
	return true;
}

/* Records the IOMMU group (-1: none) of VF idx of pf, whose address the
 * model holds (vfa_model_vf_addr_seen). */
void vfa_model_vf_group_seen(struct vfa_agent *c, struct pf *pf, unsigned int idx,
			     int group)
{
	if (c->model.on && pf->vf_pci && idx < VFNL_MAX_VFS && pf->vf_pci[idx][0])
		vf_groups(pf)[idx] = group < 0 ? -1 : group;
}

/* Forgets the group of every VF at pci (NULL: of every VF), and with
 * addr its address too (the function was added or removed: the index
 * may now be another address, looked up again). */
static void groups_forget(struct vfa_agent *c, const char *pci, bool addr)
{
	for (unsigned int i = 0; i < c->n_pfs; i++)
		for (unsigned int k = 0; c->pfs[i].vf_pci && k < VFNL_MAX_VFS; k++)
			if (!pci || !strcmp(c->pfs[i].vf_pci[k], pci)) {
				vf_groups(&c->pfs[i])[k] = GRP_UNKNOWN;
				if (addr)
					c->pfs[i].vf_pci[k][0] = '\0';
			}
}

/* The kernel acked the settings s[0..n) on pf: the cached VF table says
 * so too. */
void vfa_model_applied(struct pf *pf, const struct vfnl_vf_set *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct vfnl_vf *v = NULL;

		for (uint32_t k = 0; k < pf->link->n_vfs && !v; k++)
			if (pf->link->vfs[k].index == s[i].index)
				v = &pf->link->vfs[k];
		if (!v)
			continue;
		if (s[i].set & VFNL_SET_MAC)
			memcpy(v->mac, s[i].mac, 6);
		if (s[i].set & VFNL_SET_VLAN) {
			v->vlan = s[i].vlan;
			v->qos = s[i].qos;
		}
		if (s[i].set & VFNL_SET_SPOOFCHK)
			v->spoofchk = s[i].spoofchk;
		if (s[i].set & VFNL_SET_TRUST)
			v->trust = s[i].trust;
		if (s[i].set & VFNL_SET_LINK_STATE)
			v->link_state = s[i].link_state;
		if (s[i].set & VFNL_SET_RATE) {
			v->min_tx_rate = s[i].min_tx_rate;
			v->max_tx_rate = s[i].max_tx_rate;
		}
	}
}

/* on: the daemon reads the kernel's uevents and feeds vfa_model_uevent()
 * before each request, so the VFs of the model are trusted as they are;
 * off: re-checked per use. Either way the VFs seen so far are forgotten. */
void vfa_model_uevents(struct vfa_agent *c, bool on)
{
	c->model.uevents = on;
	c->model.n_vfs = 0;
}

/* A kernel uevent: a PCI function whose driver changed (unbind, a bind
 * to anything but vfio-pci), added or removed is forgotten; so is every
 * VF of a /dev/vfio node removed. A bind to vfio-pci keeps it (our own
 * bind, recorded right after). */
void vfa_model_uevent(struct vfa_agent *c, const struct vfio_uevent *ev)
{
	if (ev->pci[0]) {
		if (ev->action == VFIO_UEV_BIND && !strcmp(ev->driver, "vfio-pci"))
			return;
		if (ev->action != VFIO_UEV_CHANGE)
			vfa_model_vf_forget(c, ev->pci);
		if (ev->action == VFIO_UEV_ADD || ev->action == VFIO_UEV_REMOVE)
			groups_forget(c, ev->pci, true);
		return;
	}
	if (ev->group < 0 || ev->action != VFIO_UEV_REMOVE)
		return;
	for (unsigned int i = 0; i < c->model.n_vfs;) {
		if (c->model.vfs[i].group == ev->group)
			c->model.vfs[i] = c->model.vfs[--c->model.n_vfs];
		else
			i++;
	}
}

/* uevents were lost (the socket overflowed): every VF is looked at again. */
void vfa_model_uevents_lost(struct vfa_agent *c)
{
	c->model.n_vfs = 0;
	groups_forget(c, NULL, true);
}

/* Without uevents: rereads each group the model holds (a VF recreated
 * behind our back may be in another), forgets those that moved. */
static void groups_recheck(struct vfa_agent *c)
{
	for (unsigned int i = 0; i < c->n_pfs; i++) {
		struct pf *pf = &c->pfs[i];

		for (unsigned int k = 0; pf->vf_pci && k < VFNL_MAX_VFS; k++) {
			int g = -1;

			if (!pf->vf_pci[k][0] || vf_groups(pf)[k] == GRP_UNKNOWN)
				continue;
			if (vfio_group(c->io, pf->vf_pci[k], &g) || g != vf_groups(pf)[k])
				vf_groups(pf)[k] = GRP_UNKNOWN;
		}
	}
}

/* The VFs trusted as on vfio-pci: their /dev/vfio node is stat'ed (its
 * removal by hand sends no uevent); without uevents their group is
 * reread too (vfa_model_vf_ready). Those that fail are forgotten. */
static void vfs_recheck(struct vfa_agent *c)
{
	for (unsigned int i = 0; i < c->model.n_vfs;) {
		struct vfa_model_vf *v = &c->model.vfs[i];
		char pci[sizeof(v->pci)];
		uid_t u;
		gid_t g;
		mode_t m;
		int grp;

		memcpy(pci, v->pci, sizeof(pci));
		if (c->model.uevents ? vfio_node_stat(c->io, v->group, &u, &g, &m) == 0 :
				       vfa_model_vf_ready(c, pci, &grp)) {
			i++;
			continue;
		}
		vfa_model_vf_forget(c, pci);	/* no-op if vf_ready did */
	}
}

/* The sweep (every 5 s): verifies the model in place instead of dropping
 * it, so that the request after a sweep does not pay for rereading it.
 * One GETLINK per PF; a PF gone or renamed drops the model, a PF whose VF
 * count changed drops its VFs; the VFs trusted on vfio-pci are checked
 * (their node; without uevents their group, and each group cached). */
void vfa_model_sweep(struct vfa_agent *c)
{
	if (!c->model.on)
		return;
	vfa_model_refresh(c);	/* what events marked, as before a request */
	for (unsigned int i = 0; i < c->n_pfs; i++) {
		struct pf *pf = &c->pfs[i];
		uint32_t num = pf->link->num_vf;
		struct vfa_err e;

		if (vfa_pf_refresh(c, pf, &e) || strcmp(pf->link->name, pf->netdev)) {
			vfa_model_invalidate(c);
			vfa_model_refresh(c);
			return;
		}
		if (pf->link->num_vf != num) {
			free(pf->vf_pci);
			pf->vf_pci = NULL;
			c->model.n_vfs = 0;
		}
	}
	nodes_reopen(c);	/* the sweep's bound, as when the model drops */
	vfs_recheck(c);
	if (!c->model.uevents)
		groups_recheck(c);
}

/* The netdev of PCI function pci (a PF named by its address) into ret:
 * the daemon asks by the ifindex it found last time (one GETLINK) and
 * checks that it is still that function; otherwise, and in the CLI, a
 * link dump finds it. Returns 0 or -errno (-ENODEV: none). */
int vfa_model_find_pci(struct vfa_agent *c, const char *pci, struct vfnl_link *ret)
{
	struct vfa_model_hint *h = NULL;
	int r;

	for (unsigned int i = 0; c->model.on && i < c->model.n_hints && !h; i++)
		if (!strcmp(c->model.hints[i].pci, pci))
			h = &c->model.hints[i];
	if (h && vfnl_get_link(c->nl, h->ifindex, NULL, ret) == 0 &&
	    !strcmp(ret->parent_bus, "pci") && !strcmp(ret->parent_dev, pci))
		return 0;
	r = vfnl_find_pci(c->nl, pci, ret);
	if (r || !c->model.on || strlen(pci) >= sizeof(h->pci))
		return r;
	if (!h && c->model.n_hints < sizeof(c->model.hints) / sizeof(c->model.hints[0]))
		h = &c->model.hints[c->model.n_hints++];
	if (h) {
		memcpy(h->pci, pci, strlen(pci) + 1);
		h->ifindex = ret->ifindex;
	}
	return 0;
}
