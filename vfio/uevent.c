/* Kernel uevents (NETLINK_KOBJECT_UEVENT) about what vfio cares for: a
 * PCI function bound, unbound, added or removed, and a /dev/vfio/<group>
 * node added or removed. The socket is separate from the parser: the
 * parser takes the bytes of one message (recorded ones in the unit
 * tests), the socket only receives them. Mechanism only. */
#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vfio/vfio.h"

#define UEV_GROUP_KERNEL 1	/* the kernel's multicast group (udev's is 2) */
#define UEV_RCVBUF (1 << 20)	/* sriov_numvfs of a big PF is a burst */

struct vfio_uev_sock {
	int fd;
};

static const struct {
	const char *name;
	enum vfio_uev_action action;
} actions[] = {
	{ "add", VFIO_UEV_ADD },
	{ "remove", VFIO_UEV_REMOVE },
	{ "bind", VFIO_UEV_BIND },
	{ "unbind", VFIO_UEV_UNBIND },
	{ "change", VFIO_UEV_CHANGE },
};

static enum vfio_uev_action action_of(const char *s)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(s, actions[i].name))
			return actions[i].action;
	return VFIO_UEV_OTHER;
}

/* The group of a vfio node name "vfio/<N>" (not "vfio/vfio", the
 * container; not "vfio/noiommu-N"); -1 otherwise. */
static int node_group(const char *devname)
{
	const char *p = devname + 5;
	long g = 0;

	if (strncmp(devname, "vfio/", 5) || !*p)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9' || g > INT_MAX / 10)
			return -1;
		g = g * 10 + (*p - '0');
	}
	return g <= INT_MAX ? (int)g : -1;
}

static void copy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;	/* longer than any name we compare with */
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Parses one kernel uevent: "ACTION@DEVPATH" then NUL-separated
 * KEY=VALUE strings, buf[0..len). Fills *ret (subsystem, action, the PCI
 * name of a pci event, the driver of a bind, the group of a /dev/vfio
 * node, -1 if none). -EBADMSG for anything else (udev's "libudev"
 * messages, a header without '@', no ACTION or SUBSYSTEM). */
int vfio_uevent_parse(const char *buf, size_t len, struct vfio_uevent *ret)
{
	struct vfio_uevent ev = { .group = -1 };
	bool has_action = false, has_subsys = false;
	size_t off;

	if (!len || !memchr(buf, '\0', len) || !strchr(buf, '@'))
		return -EBADMSG;
	for (off = strlen(buf) + 1; off < len;) {
		const char *kv = buf + off;
		const char *end = memchr(kv, '\0', len - off);
		size_t n = end ? (size_t)(end - kv) : len - off;
		char val[256];

		if (!end)
			break;	/* a last string without its NUL: ignored */
		off += n + 1;
		if (!strchr(kv, '='))
			continue;
		copy(val, sizeof(val), strchr(kv, '=') + 1);
		if (!strncmp(kv, "ACTION=", 7)) {
			ev.action = action_of(val);
			has_action = true;
		} else if (!strncmp(kv, "SUBSYSTEM=", 10)) {
			copy(ev.subsystem, sizeof(ev.subsystem), val);
			has_subsys = true;
		} else if (!strncmp(kv, "PCI_SLOT_NAME=", 14)) {
			copy(ev.pci, sizeof(ev.pci), val);
		} else if (!strncmp(kv, "DRIVER=", 7)) {
			copy(ev.driver, sizeof(ev.driver), val);
		} else if (!strncmp(kv, "DEVNAME=", 8)) {
			ev.group = node_group(val);
		}
	}
	if (!has_action || !has_subsys)
		return -EBADMSG;
	if (strcmp(ev.subsystem, "pci"))
		ev.pci[0] = '\0';
	if (strcmp(ev.subsystem, "vfio"))
		ev.group = -1;
	*ret = ev;
	return 0;
}

/* Opens a non-blocking socket on the kernel's uevents. *ret is the
 * caller's (vfio_uevent_close); -errno (-EPERM: not root in the init
 * namespaces, for instance). */
int vfio_uevent_open(struct vfio_uev_sock **ret)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = UEV_GROUP_KERNEL };
	struct vfio_uev_sock *u = malloc(sizeof(*u));
	int sz = UEV_RCVBUF, r;

	if (!u)
		return -ENOMEM;
	u->fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       NETLINK_KOBJECT_UEVENT);
	if (u->fd < 0) {
		r = -errno;
		free(u);
		return r;
	}
	/* Best effort: the default buffer is smaller; ENOBUFS is handled. */
	if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(u->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		vfio_uevent_close(u);
		return r;
	}
	*ret = u;
	return 0;
}

/* The socket's fd, for the caller's poll loop. */
int vfio_uevent_fd(const struct vfio_uev_sock *u)
{
	return u->fd;
}

/* Reads every queued uevent, calling cb for each the kernel sent and
 * vfio_uevent_parse() understood. Returns how many were read, or
 * -ENOBUFS when the kernel dropped some (the socket overflowed: whatever
 * the caller derived from events is to be forgotten; the queue is read
 * on at the next call), another -errno on a socket error. */
int vfio_uevent_read(struct vfio_uev_sock *u, vfio_uevent_cb cb, void *ud)
{
	char buf[8192];
	int n = 0;

	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
				     .msg_iov = &iov, .msg_iovlen = 1 };
		struct vfio_uevent ev;
		ssize_t len = recvmsg(u->fd, &mh, MSG_DONTWAIT);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? n : -errno;
		}
		/* Only the kernel's own (port 0); a truncated one is dropped. */
		if (from.nl_pid != 0 || (mh.msg_flags & MSG_TRUNC))
			continue;
		n++;
		if (vfio_uevent_parse(buf, (size_t)len, &ev) == 0)
			cb(&ev, ud);
	}
}

/* Closes the socket; accepts NULL. */
void vfio_uevent_close(struct vfio_uev_sock *u)
{
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	free(u);
}
