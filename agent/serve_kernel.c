/* The daemon's kernel events: link events (rtnetlink) and uevents keep
 * its state model in step (model.c) between requests and before each, and
 * the PFs are looked at again when one of them changed. */
#include "agent/agent.h"
#include "agent/fleet.h"
#include "agent/loop.h"
#include "agent/model.h"
#include "agent/serve_priv.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "nl/vfnl.h"
#include "vfio/vfio.h"

/* The PFs looked at again (link state, VF count; pf.c): what changed is
 * logged and counted, and the metrics republished. */
void srv_check_pfs(struct server *s)
{
	struct vfa_err e = { "", 0 };
	json_object *notes = NULL;

	if (vfa_check_pfs(s->agent, vfa_agent_config(s->agent)->pf_restore, &notes, &e) == 0) {
		srv_log_notes(s, 4, "watch", notes);
		if (s->fleet && json_object_array_length(notes)) {
			vfa_metrics_repairs(&s->fleet->m, vfa_agent_repairs(s->agent));
			srv_fleet_soon(s);
		}
		json_object_put(notes);
	}
}

static void on_link(const struct vfnl_link *l, bool removed, void *ud)
{
	struct server *s = ud;

	if (vfa_model_link(s->agent, l, removed))
		s->mon_pending = true;
}

/* Reads the link events queued (max datagrams, 0: all); the model
 * (model.c) marks the PFs they name. */
static void mon_read_n(struct server *s, unsigned int max)
{
	if (s->mon && vfnl_monitor_read_n(s->mon, max, on_link, s) < 0) {
		vfa_model_invalidate(s->agent);	/* events lost: reread it all */
		s->mon_pending = true;
	}
}

/* The model's drain, right after the kernel acked our SETLINK: one
 * datagram, the one our SETLINK queued before its ack (unless someone
 * else's came in between: then ours stays queued, the monitor fd stays
 * readable and the loop reads it first in its next turn, model.c). It
 * only reads: the PFs are looked at again by srv_model_sync. */
void srv_mon_read_own(void *ud)
{
	mon_read_n(ud, 1);
}

static void on_uevent(const struct vfio_uevent *ev, void *ud)
{
	struct server *s = ud;

	vfa_model_uevent(s->agent, ev);
}

/* Reads the kernel uevents queued (a VF unbound behind our back, a
 * /dev/vfio node gone): the model forgets the VFs they name. */
static void uev_read(struct server *s)
{
	if (s->uev && vfio_uevent_read(s->uev, on_uevent, s) < 0)
		vfa_model_uevents_lost(s->agent);	/* lost some: forget every VF */
}

static void uev_io(int id, int fd, uint32_t events, void *ud)
{
	(void)id;
	(void)fd;
	(void)events;
	uev_read(ud);
}

/* Opens the uevent socket and tells the model to trust it; without one
 * (not root in the init namespaces) the model re-checks each VF per use. */
void srv_uev_open(struct server *s)
{
	int r = vfio_uevent_open(&s->uev);

	if (!r && vfa_loop_add_first(s->loop, vfio_uevent_fd(s->uev), EPOLLIN, uev_io, s) < 0)
		r = -ENOMEM;
	if (r) {
		vfio_uevent_close(s->uev);
		s->uev = NULL;
		srv_logmsg(s, 4, "kernel uevents: %s; VF bindings are re-checked on every alloc",
			   strerror(-r));
	}
	vfa_model_uevents(s->agent, s->uev != NULL);
}

/* Between requests (and before each): the events the kernel queued (ip
 * link set ... behind our back, a VF unbound) are read, and the PFs they
 * name reread, before the model is used; watchers and the metrics hear
 * of them. fresh: the caller knows that everything queued that the
 * request must see was read already in this turn (srv_request_fresh,
 * model.c): no reads, 2 syscalls fewer. */
void srv_model_sync_req(struct server *s, bool fresh)
{
	if (!fresh) {
		uev_read(s);
		mon_read_n(s, 0);
	}
	if (!s->mon_pending)
		return;
	s->mon_pending = false;
	srv_check_pfs(s);
	srv_watch_changed(s);
	srv_fleet_soon(s);		/* a PF up or down: the metrics say so at once */
}

/* srv_model_sync_req, reading what is queued. */
void srv_model_sync(struct server *s)
{
	srv_model_sync_req(s, false);
}

/* May a request line of c, starting at c->in, skip the drain? Yes when
 * its first byte was queued before this turn's epoll_wait returned (it
 * was buffered before this turn's read, or it is the line holding the
 * first byte that read took) and that epoll_wait reported every ready fd
 * with the event sockets dispatched first. The argument is in model.c's
 * header. */
bool srv_request_fresh(const struct server *s, const struct client *c)
{
	return vfa_loop_first_seen(s->loop) &&
	       (c->rd_turn != vfa_loop_turn(s->loop) || c->rd_safe > 0);
}

/* The loop's callback of the link monitor's fd. */
void srv_mon_io(int id, int fd, uint32_t events, void *ud)
{
	(void)id;
	(void)fd;
	(void)events;
	srv_model_sync(ud);
}
