/* The CLI's side of the daemon socket: one request line, one reply line. */
#include "agent/agent.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_MAX (4 << 20)

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

int vfa_client_call(const char *path, json_object *req, json_object **ret_reply,
		    struct vfa_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *txt = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	char *buf = NULL, *nl;
	size_t len = 0, cap = 0;
	json_object *reply;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return vfa_usage(e, ENAMETOOLONG, "socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vfa_fail(e, errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		/* No daemon: the caller works directly. */
		return r == -ENOENT || r == -ECONNREFUSED ? r :
		       vfa_fail(e, r, "daemon socket %s: %s", path, strerror(-r));
	}
	r = send_all(fd, txt, strlen(txt));
	if (!r)
		r = send_all(fd, "\n", 1);
	if (r) {
		vfa_fail(e, r, "daemon socket %s: %s", path, strerror(-r));
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > REPLY_MAX || !(nb = realloc(buf, cap))) {
				r = vfa_fail(e, EMSGSIZE, "daemon reply too large");
				goto out;
			}
			buf = nb;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* Not a fallback case: the request may have been acted on. */
			r = vfa_fail(e, n < 0 ? errno : EPIPE,
				     "the daemon closed the connection before replying (it will reconcile the lease journal when it restarts; vfagent status shows the result)");
			goto out;
		}
		len += (size_t)n;
		buf[len] = '\0';
		nl = memchr(buf, '\n', len);
		if (nl)
			break;
	}
	*nl = '\0';
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
