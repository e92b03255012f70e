/* vfagent serve: the watch stream (doc/PROTOCOL.md). */
#include "agent/agent.h"
#include "agent/serve_priv.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Queues events for every watcher; one that has more than OUT_CAP unsent
 * gets a last {"event":"overflow"} line and is closed (it reconnects for
 * a new snapshot): a slow watcher does not grow the daemon. */
static void watch_send(struct server *s, json_object *events)
{
	for (size_t i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = s->clients[i];

		if (!c || !c->watcher || c->closing)
			continue;
		for (size_t k = 0; k < json_object_array_length(events); k++)
			srv_client_reply(c, json_object_get(json_object_array_get_idx(events, k)));
		if (srv_out_pending(c) > OUT_CAP) {
			json_object *ov = json_object_new_object();

			json_object_object_add(ov, "event", json_object_new_string("overflow"));
			srv_client_reply(c, ov);
			srv_logmsg(s, 4, "uid %u pid %d: watcher too slow (%zu bytes unread); dropped",
				   (unsigned)c->peer.uid, (int)c->peer.pid, srv_out_pending(c));
			srv_client_close_soon(c);
		}
		if (srv_client_flush(c))
			srv_client_arm(c);
	}
}

/* Looks at the state again and streams what changed to the watchers;
 * with force, looks even when nobody watches (a watch starts). */
static int watch_update(struct server *s, bool force, struct vfa_err *e)
{
	json_object *cur = NULL, *events;
	int r;

	if (!s->n_watchers && !force)
		return 0;
	r = vfa_watch_state(s->agent, &cur, e);
	if (r)
		return r;
	if (s->n_watchers) {
		events = json_object_new_array();
		vfa_watch_diff(s->wstate, cur, &s->seq, events);
		watch_send(s, events);
		json_object_put(events);
	}
	json_object_put(s->wstate);
	s->wstate = cur;
	return 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* A fingerprint of the journal's leases (what watch streams of them). */
static uint64_t leases_fp(struct server *s)
{
	struct vfa_lease *ls = NULL;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t n = 0;

	if (!s->agent || vfa_agent_leases(s->agent, &ls, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct vfa_lease *l = &ls[i];

		h = fnv(h, l->id, strlen(l->id) + 1);
		h = fnv(h, l->pci, strlen(l->pci) + 1);
		h = fnv(h, &l->state, sizeof(l->state));
		h = fnv(h, l->mac, strlen(l->mac) + 1);
		h = fnv(h, l->domain, strlen(l->domain) + 1);
		h = fnv(h, l->holder, strlen(l->holder) + 1);
		h = fnv(h, &l->vlan, sizeof(l->vlan));
		h = fnv(h, &l->attached, sizeof(l->attached));
		h = fnv(h, &l->group, sizeof(l->group));
	}
	free(ls);
	return h;
}

/* After a request that changes nothing itself (status, list): watchers
 * hear of leases another process (a --direct CLI, a worker) changed,
 * without recomputing the whole state when nothing moved. */
void srv_watch_poke(struct server *s)
{
	uint64_t h;

	if (!s->n_watchers)
		return;
	h = leases_fp(s);
	if (h == s->wfp)
		return;
	s->wfp = h;
	srv_watch_changed(s);
}

void srv_watch_changed(struct server *s)
{
	struct vfa_err e = { "", 0 };

	if (watch_update(s, false, &e))
		srv_logmsg(s, 3, "watch: %s", e.msg);
}

/* "watch": the reply with the current seq, the snapshot, then events. */
void srv_watch_start(struct client *c, json_object *id)
{
	struct server *s = c->srv;
	struct vfa_err e = { "", 0 };
	json_object *res, *reply;
	int r = watch_update(s, true, &e);

	if (r) {
		reply = vfa_reply_json(r, NULL, &e);
		if (id)
			json_object_object_add(reply, "id", json_object_get(id));
		srv_client_reply(c, reply);
		return;
	}
	res = json_object_new_object();
	json_object_object_add(res, "seq", json_object_new_int64((int64_t)s->seq));
	reply = vfa_reply_json(0, res, &e);
	if (id)
		json_object_object_add(reply, "id", json_object_get(id));
	srv_client_reply(c, reply);
	srv_client_reply(c, vfa_watch_snapshot(s->wstate, s->seq));
	c->watcher = true;
	s->n_watchers++;
	srv_logmsg(s, 6, "uid %u pid %d: watching", (unsigned)c->peer.uid, (int)c->peer.pid);
}

