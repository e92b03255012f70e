/* Writing a whole buffer: the journal's records (pwrite at its end),
 * the published files (write) and the client's request lines (send). */
#include "agent/io.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

static ssize_t write_once(int fd, const char *p, size_t n, off_t at)
{
	if (at >= 0)
		return pwrite(fd, p, n, at);
	if (at == VFA_IO_SEND)
		return send(fd, p, n, MSG_NOSIGNAL);	/* a closed peer: EPIPE, not a signal */
	return write(fd, p, n);
}

/**
 * vfa_write_all() - all len bytes of buf to fd, at offset at (pwrite,
 * moving on as it writes), or at VFA_IO_POS (write) or VFA_IO_SEND (send
 * without SIGPIPE); a write cut short or interrupted (EINTR) goes on
 *
 * Returns 0 or -errno (what was written before the error stays written).
 */
int vfa_write_all(int fd, const void *buf, size_t len, off_t at)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write_once(fd, p, len, at);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
		if (at >= 0)
			at += w;
	}
	return 0;
}
