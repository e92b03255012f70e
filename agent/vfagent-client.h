/* vfagent-client.h: the client library of the vfagent daemon protocol,
 * version 1 (doc/PROTOCOL.md). One connection per struct vfa_client;
 * one JSON object per line each way. Used by the CLI, the bench and the
 * Kubernetes device plugin. Not thread-safe: one thread per connection.
 *
 * Every function returns 0 or -errno; on failure vfa_client_error() says
 * what failed in one line. JSON documents returned are the caller's
 * (json_object_put). */
#ifndef VFAGENT_CLIENT_H
#define VFAGENT_CLIENT_H

#include <json-c/json.h>

struct vfa_client;

/* Connects to the daemon socket at path; timeout_ms bounds the connect and
 * every send (0: 120 s). -ENOENT or -ECONNREFUSED: no daemon there. *ret is
 * the caller's (vfa_client_close), set also on failure so the error can be
 * read, unless out of memory (-ENOMEM, *ret NULL). */
int vfa_client_connect(const char *path, int timeout_ms, struct vfa_client **ret);
/* Sends one request (adds "v":1 if absent). Requests may be pipelined:
 * replies come in request order, each with the request's "id". */
int vfa_client_send(struct vfa_client *c, json_object *req);
/* The next line from the daemon (a reply or an event), waiting up to
 * timeout_ms (< 0: forever). -ETIMEDOUT, -EPIPE (closed), -EBADMSG. */
int vfa_client_recv(struct vfa_client *c, int timeout_ms, json_object **ret);
/* send + recv: the reply to req. */
int vfa_client_request(struct vfa_client *c, json_object *req, int timeout_ms,
		       json_object **ret_reply);
/* Turns the connection into an event stream: *ret_snapshot is the first
 * event ({"event":"snapshot","seq":N,"pools":[...]}); then read events
 * with vfa_client_next_event(). -EPROTO (with the daemon's error) if the
 * daemon refused. */
int vfa_client_watch(struct vfa_client *c, int timeout_ms, json_object **ret_snapshot);
/* The next event of a watch; {"event":"overflow"} means the daemon dropped
 * this watcher: reconnect and watch again. */
int vfa_client_next_event(struct vfa_client *c, int timeout_ms, json_object **ret_event);
/* The last failure, one line ("" if none). Valid until the next call. */
const char *vfa_client_error(const struct vfa_client *c);
/* Closes the connection; accepts NULL. */
void vfa_client_close(struct vfa_client *c);

#endif
