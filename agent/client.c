/* The CLI's side of the daemon socket: one request line, one reply line.
 * Bounded in time: VFAGENT_TIMEOUT seconds (default 120, room for a
 * libvirt attach) for the connect, the send and the reply. */
#include "agent/agent.h"

#include <errno.h>
#include <poll.h>
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

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
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

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads up to the first newline into *buf (NUL-terminated there), within
 * deadline (monotonic ms). 0, -ETIMEDOUT, -EPIPE (closed first), -EMSGSIZE
 * or -errno. */
static int read_line(int fd, long long deadline, char **buf)
{
	size_t len = 0, cap = 0;
	char *nl;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - mono_ms();
		ssize_t n;
		int pr;

		if (cap - len < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > REPLY_MAX || !(nb = realloc(*buf, cap)))
				return -EMSGSIZE;
			*buf = nb;
		}
		if (left <= 0)
			return -ETIMEDOUT;
		pr = poll(&p, 1, left > 3600000 ? 3600000 : (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -errno;
		if (pr == 0)
			continue;	/* the deadline check above ends it */
		n = recv(fd, *buf + len, cap - len - 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno != ECONNRESET)
			return -errno;
		if (n <= 0)
			return -EPIPE;
		len += (size_t)n;
		(*buf)[len] = '\0';
		nl = memchr(*buf, '\n', len);
		if (nl) {
			*nl = '\0';
			return 0;
		}
	}
}

/* One request to the daemon at path. 0 with *ret_reply (the caller's);
 * -ENOENT/-ECONNREFUSED, e untouched, when no daemon listens there (the
 * caller then works directly); else -errno with e set. A daemon that
 * refuses the peer (not allowed, busy) answers with a reply, returned as
 * any other. */
int vfa_client_call(const char *path, json_object *req, json_object **ret_reply,
		    struct vfa_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *txt = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	int tmo = timeout_s();
	struct timeval tv = { .tv_sec = tmo };
	long long deadline = mono_ms() + tmo * 1000LL;
	char *buf = NULL;
	json_object *reply;
	int fd, r, sr;

	if (strlen(path) >= sizeof(sa.sun_path))
		return vfa_usage(e, ENAMETOOLONG, "socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vfa_fail(e, errno, "socket: %s", strerror(errno));
	/* Bounds connect() on a full backlog and send() too. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		/* No daemon: the caller works directly. */
		if (r == -ENOENT || r == -ECONNREFUSED)
			return r;
		if (r == -EAGAIN || r == -EINPROGRESS)
			return vfa_fail(e, EBUSY, "the daemon at %s is busy (no connection taken within %d s); retry, or set VFAGENT_TIMEOUT=SECONDS",
					path, tmo);
		return vfa_fail(e, r, "daemon socket %s: %s", path, strerror(-r));
	}
	sr = send_all(fd, txt, strlen(txt));
	if (!sr)
		sr = send_all(fd, "\n", 1);
	/* A refused peer's write may fail (EPIPE): its reply says why. */
	r = read_line(fd, deadline, &buf);
	if (r == -ETIMEDOUT) {
		r = vfa_fail(e, ETIMEDOUT, "no reply from the daemon at %s within %d s (set VFAGENT_TIMEOUT=SECONDS to wait longer); the request may still complete: vfagent status shows the result",
			     path, tmo);
		goto out;
	}
	if (r == -EMSGSIZE) {
		r = vfa_fail(e, EMSGSIZE, "daemon reply too large");
		goto out;
	}
	if (r && sr) {
		r = vfa_fail(e, sr, "daemon socket %s: sending the request failed (%s) and no reply came", path,
			     strerror(-sr));
		goto out;
	}
	if (r) {
		/* Not a fallback case: the request may have been acted on. */
		r = vfa_fail(e, -r, "the daemon closed the connection before replying (it will reconcile the lease journal when it restarts; vfagent status shows the result)");
		goto out;
	}
	reply = json_tokener_parse(buf);
	if (!reply || !json_object_is_type(reply, json_type_object)) {
		json_object_put(reply);
		r = vfa_fail(e, EBADMSG, "the daemon sent a malformed reply");
		goto out;
	}
	*ret_reply = reply;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}
