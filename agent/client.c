/* The client side of the daemon socket (vfagent-client.h), and the CLI's
 * one-shot call on top. Bounded in time: the CLI waits VFAGENT_TIMEOUT
 * seconds (default 120, room for a libvirt attach) for the connect, the
 * send and the reply. */
#include "agent/agent.h"
#include "agent/io.h"
#include "agent/vfagent-client.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX (4 << 20)
#define TIMEOUT_S 120

struct vfa_client {
	int fd;
	char path[108];
	char *buf;			/* received, not yet returned */
	size_t len, cap;
	struct json_tokener *tok;	/* parses every reply line (reset per line) */
	char *sbuf;			/* the request line being sent, kept for the next */
	size_t slen, scap;
	char err[512];
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int cfail(struct vfa_client *c, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cfail(struct vfa_client *c, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return r;
}

/* Connects to path; see vfagent-client.h. */
int vfa_client_connect(const char *path, int timeout_ms, struct vfa_client **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vfa_client *c = calloc(1, sizeof(*c));
	int tmo = timeout_ms > 0 ? timeout_ms : TIMEOUT_S * 1000;
	struct timeval tv = { .tv_sec = tmo / 1000, .tv_usec = (tmo % 1000) * 1000 };
	size_t n;
	int r;

	*ret = c;
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	n = strlen(path);
	if (n >= sizeof(sa.sun_path) || n >= sizeof(c->path))
		return cfail(c, -ENAMETOOLONG, "socket path too long: %s", path);
	memcpy(c->path, path, n + 1);
	memcpy(sa.sun_path, path, n + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return cfail(c, -errno, "socket: %s", strerror(errno));
	/* Bounds connect() on a full backlog and send() too. */
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		if (r == -EAGAIN || r == -EINPROGRESS)
			return cfail(c, -EBUSY, "the daemon at %s is busy (no connection taken within %d s); retry, or set VFAGENT_TIMEOUT=SECONDS",
				     path, tmo / 1000);
		return cfail(c, r, "daemon socket %s: %s", path, strerror(-r));
	}
	return 0;
}

/* Sends req as one line; see vfagent-client.h. The line is written
 * into c->sbuf (vfa_json_plain: json-c's PLAIN bytes), reused. */
int vfa_client_send(struct vfa_client *c, json_object *req)
{
	int r;

	if (!json_object_object_get_ex(req, "v", NULL))
		json_object_object_add(req, "v", json_object_new_int(1));
	c->slen = 0;
	if (vfa_json_plain(req, JSON_C_TO_STRING_PLAIN, &c->sbuf, &c->slen, &c->scap))
		return cfail(c, -ENOMEM, "out of memory");
	c->sbuf[c->slen++] = '\n';	/* over the NUL it wrote */
	r = vfa_write_all(c->fd, c->sbuf, c->slen, VFA_IO_SEND);
	if (r)
		return cfail(c, r, "daemon socket %s: sending the request failed (%s)", c->path,
			     strerror(-r));
	return 0;
}

/* A complete line in c->buf: its length (newline excluded), or -1. */
static long line_in(const struct vfa_client *c)
{
	const char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;

	return nl ? nl - c->buf : -1;
}

/* Reads more bytes into c->buf, waiting until deadline (-1: forever). */
static int fill(struct vfa_client *c, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		long long left = deadline < 0 ? 3600000 : deadline - mono_ms();
		ssize_t n;
		int pr;

		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 8192;
			char *nb;

			if (cap > REPLY_MAX || !(nb = realloc(c->buf, cap)))
				return cfail(c, -EMSGSIZE, "daemon reply too large");
			c->buf = nb;
			c->cap = cap;
		}
		if (left <= 0)
			return cfail(c, -ETIMEDOUT, "no reply from the daemon at %s in time", c->path);
		pr = poll(&p, 1, left > 3600000 ? 3600000 : (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return cfail(c, -errno, "poll: %s", strerror(errno));
		if (pr == 0)
			continue;	/* the deadline check above ends it */
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno != ECONNRESET)
			return cfail(c, -errno, "daemon socket %s: %s", c->path, strerror(errno));
		if (n <= 0)
			return cfail(c, -EPIPE, "the daemon closed the connection");
		c->len += (size_t)n;
		return 0;
	}
}

/* c->buf up to its NUL as JSON, as json_tokener_parse() would, on the
 * tokener c keeps (none allocated and freed per reply). NULL if malformed
 * or out of memory. */
static json_object *parse_line(struct vfa_client *c)
{
	json_object *o;

	if (!c->tok && !(c->tok = json_tokener_new()))
		return NULL;
	json_tokener_reset(c->tok);
	o = json_tokener_parse_ex(c->tok, c->buf, -1);
	if (json_tokener_get_error(c->tok) != json_tokener_success) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The next line as JSON; see vfagent-client.h. */
int vfa_client_recv(struct vfa_client *c, int timeout_ms, json_object **ret)
{
	long long deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	json_object *o;
	long n;
	int r;

	while ((n = line_in(c)) < 0) {
		r = fill(c, deadline);
		if (r)
			return r;
	}
	c->buf[n] = '\0';
	o = parse_line(c);
	memmove(c->buf, c->buf + n + 1, c->len - (size_t)n - 1);
	c->len -= (size_t)n + 1;
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return cfail(c, -EBADMSG, "the daemon sent a malformed line");
	}
	*ret = o;
	return 0;
}

/* One request, its reply; see vfagent-client.h. */
int vfa_client_request(struct vfa_client *c, json_object *req, int timeout_ms,
		       json_object **ret_reply)
{
	int r = vfa_client_send(c, req);

	return r ? r : vfa_client_recv(c, timeout_ms, ret_reply);
}

/* Starts a watch; see vfagent-client.h. */
int vfa_client_watch(struct vfa_client *c, int timeout_ms, json_object **ret_snapshot)
{
	json_object *req = json_object_new_object(), *reply = NULL, *v;
	int r;

	json_object_object_add(req, "op", json_object_new_string("watch"));
	r = vfa_client_request(c, req, timeout_ms, &reply);
	json_object_put(req);
	if (r)
		return r;
	if (!json_object_object_get_ex(reply, "ok", &v) || !json_object_get_boolean(v)) {
		r = cfail(c, -EPROTO, "watch refused: %s",
			  json_object_object_get_ex(reply, "error", &v) ? json_object_get_string(v) : "?");
		json_object_put(reply);
		return r;
	}
	json_object_put(reply);
	return vfa_client_recv(c, timeout_ms, ret_snapshot);
}

/* The next event; see vfagent-client.h. */
int vfa_client_next_event(struct vfa_client *c, int timeout_ms, json_object **ret_event)
{
	return vfa_client_recv(c, timeout_ms, ret_event);
}

/* The last failure; see vfagent-client.h. */
const char *vfa_client_error(const struct vfa_client *c)
{
	return c ? c->err : "out of memory";
}

/* Closes c; accepts NULL. */
void vfa_client_close(struct vfa_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->tok)
		json_tokener_free(c->tok);
	free(c->sbuf);
	free(c->buf);
	free(c);
}

/* Seconds from $VFAGENT_TIMEOUT (1..86400), else TIMEOUT_S. */
static int timeout_s(void)
{
	const char *v = getenv("VFAGENT_TIMEOUT");
	char *end;
	long t;

	if (!v || !*v)
		return TIMEOUT_S;
	errno = 0;
	t = strtol(v, &end, 10);
	return errno || *end || t < 1 || t > 86400 ? TIMEOUT_S : (int)t;
}

/* One request to the daemon at path. 0 with *ret_reply (the caller's);
 * -ENOENT/-ECONNREFUSED, e untouched, when no daemon listens there (the
 * caller then works directly); else -errno with e set. A daemon that
 * refuses the peer (not allowed, busy) answers with a reply, returned as
 * any other. */
int vfa_client_call(const char *path, json_object *req, json_object **ret_reply,
		    struct vfa_err *e)
{
	int tmo = timeout_s();
	struct vfa_client *c = NULL;
	json_object *reply = NULL;
	int r = vfa_client_connect(path, tmo * 1000, &c), sr;

	if (r == -ENOENT || r == -ECONNREFUSED) {
		vfa_client_close(c);
		return r;	/* no daemon: the caller works directly */
	}
	if (r) {
		r = vfa_fail(e, -r, "%s", vfa_client_error(c));
		goto out;
	}
	/* A refused peer's write may fail (EPIPE): its reply says why. */
	sr = vfa_client_send(c, req);
	r = vfa_client_recv(c, tmo * 1000, &reply);
	if (r == -ETIMEDOUT)
		r = vfa_fail(e, ETIMEDOUT, "no reply from the daemon at %s within %d s (set VFAGENT_TIMEOUT=SECONDS to wait longer); the request may still complete: vfagent status shows the result",
			     path, tmo);
	else if (r == -EMSGSIZE || r == -EBADMSG)
		r = vfa_fail(e, -r, "%s", r == -EMSGSIZE ? "daemon reply too large" :
			     "the daemon sent a malformed reply");
	else if (r && sr)
		r = vfa_fail(e, -sr, "daemon socket %s: sending the request failed (%s) and no reply came",
			     path, strerror(-sr));
	else if (r)
		/* Not a fallback case: the request may have been acted on. */
		r = vfa_fail(e, -r, "the daemon closed the connection before replying (it will reconcile the lease journal when it restarts; vfagent status shows the result)");
	else
		*ret_reply = reply;
out:
	vfa_client_close(c);
	return r;
}
