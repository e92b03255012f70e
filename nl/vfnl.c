/* vfnl: the NETLINK_ROUTE handle, request builders and the request/reply
 * loop.  Parsing lives in parse.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "nl/vfnl.h"
#include "nl/vfnl_priv.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

struct vfnl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	char *rbuf;		/* receive buffer, grown to the largest datagram */
	size_t rcap;
	bool kernel_msg;	/* errmsg came from the kernel's extended ack */
	bool monitor;		/* subscribed to RTNLGRP_LINK, reads never block */
	char errmsg[256];
	const struct vfnl_transport *tp;	/* instead of sock (tests) */
	void *tp_ud;
};

/* Per request: the kernel's verdict and, for GETLINK, what we looked for. */
struct req_ctx {
	struct vfnl *nl;
	int err;			/* first error, -errno */
	int (*on_msg)(const struct nlmsghdr *nlh, struct req_ctx *c);
	struct vfnl_link *link;		/* scratch for the callbacks */
	int found;
	vfnl_monitor_cb each;		/* dumps: called per link */
	void *ud;
};

__attribute__((format(printf, 2, 3)))
static void set_err(struct vfnl *nl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(nl->errmsg, sizeof(nl->errmsg), fmt, ap);
	va_end(ap);
	nl->kernel_msg = false;
}

/* Opens a NETLINK_ROUTE socket (SOCK_CLOEXEC, ext-ack, cap-ack).
 * Returns 0 or -errno; *ret is owned by the caller (vfnl_close()). */
int vfnl_open(struct vfnl **ret)
{
	struct vfnl *nl;
	int one = 1, r;

	if (!ret)
		return -EINVAL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->rcap = 32768;
	nl->rbuf = malloc(nl->rcap);
	if (!nl->rbuf) {
		r = -ENOMEM;
		goto fail_nl;
	}
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock) {
		r = -errno;
		goto fail_buf;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto fail_sock;
	}
	/* Both are needed for the kernel's error text: EXT_ACK asks for it,
	 * CAP_ACK keeps the echoed request out of the way (and small). */
	if (mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one)) < 0) {
		r = -errno;
		goto fail_sock;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned int)time(NULL);
	*ret = nl;
	return 0;

fail_sock:
	mnl_socket_close(nl->sock);
fail_buf:
	free(nl->rbuf);
fail_nl:
	free(nl);
	return r;
}

/* Opens a handle whose requests go to tp instead of a socket (tests: the
 * replay in replay.c). Returns 0 or -errno; *ret is the caller's
 * (vfnl_close(), which calls tp->free(ud)). On failure ud is not freed. */
int vfnl_open_transport(const struct vfnl_transport *tp, void *ud,
			struct vfnl **ret)
{
	struct vfnl *nl;

	if (!tp || !tp->send || !tp->recv || !ret)
		return -EINVAL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->rcap = 32768;
	nl->rbuf = malloc(nl->rcap);
	if (!nl->rbuf) {
		free(nl);
		return -ENOMEM;
	}
	nl->tp = tp;
	nl->tp_ud = ud;
	nl->seq = 1;
	*ret = nl;
	return 0;
}

/* The ud of nl's transport if that transport is tp: 0, else -ENOENT. */
int vfnl_transport_ud(struct vfnl *nl, const struct vfnl_transport *tp,
		      void **ret_ud)
{
	if (!nl || !tp || nl->tp != tp)
		return -ENOENT;
	*ret_ud = nl->tp_ud;
	return 0;
}

/* Closes the socket and frees nl.  Accepts NULL. */
void vfnl_close(struct vfnl *nl)
{
	if (!nl)
		return;
	if (nl->tp && nl->tp->free)
		nl->tp->free(nl->tp_ud);
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->rbuf);
	free(nl);
}

/* Text of the last failure on this handle ("" if none); owned by nl, valid
 * until the next call on it. */
const char *vfnl_errmsg(const struct vfnl *nl)
{
	return nl ? nl->errmsg : "";
}

/* True when vfnl_errmsg() is the kernel's own extended-ack text, false when
 * it is our description (the kernel sent none). */
bool vfnl_errmsg_is_kernel(const struct vfnl *nl)
{
	return nl && nl->kernel_msg;
}

/* ---- reply handling ---------------------------------------------------- */

/* NLMSG_ERROR: the errno, and NLMSGERR_ATTR_MSG if the kernel sent one
 * (parsed by vfnl_parse_error(), the same walk as iproute2's mnl_utils.c). */
static int cb_error(const struct nlmsghdr *nlh, void *data)
{
	struct req_ctx *c = data;
	char msg[sizeof(c->nl->errmsg)];
	int r = vfnl_parse_error(nlh, nlh->nlmsg_len, msg, sizeof(msg));

	if (r == 0)
		return MNL_CB_STOP;		/* the ACK */
	if (!c->err)
		c->err = r;
	if (r != -EBADMSG && msg[0]) {
		memcpy(c->nl->errmsg, msg, sizeof(msg));
		c->nl->kernel_msg = true;
	}
	return MNL_CB_STOP;
}

/* NLMSG_DONE ends a dump; it carries an int error when the dump failed. */
static int cb_done(const struct nlmsghdr *nlh, void *data)
{
	struct req_ctx *c = data;
	int e;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
		if (e < 0 && !c->err)
			c->err = e;
	}
	return MNL_CB_STOP;
}

static int cb_noop(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(void)data;
	return MNL_CB_OK;
}

static int cb_data(const struct nlmsghdr *nlh, void *data)
{
	struct req_ctx *c = data;
	int r;

	if (!c->on_msg || c->err)
		return MNL_CB_OK;	/* keep draining a dump after an error */
	r = c->on_msg(nlh, c);
	if (r < 0)
		c->err = r;
	return MNL_CB_OK;
}

/* Grows nl->rbuf to hold len bytes. 0 or -ENOMEM (the old one kept). */
static int grow(struct vfnl *nl, size_t len)
{
	char *b = realloc(nl->rbuf, len);

	if (!b)
		return -ENOMEM;
	nl->rbuf = b;
	nl->rcap = len;
	return 0;
}

/* Tests only (vfnl_priv.h): the receive buffer at cap bytes. */
int vfnl_set_rcap(struct vfnl *nl, size_t cap)
{
	return nl && cap ? grow(nl, cap) : -EINVAL;
}

/* One datagram from a transport into nl->rbuf. */
static ssize_t recv_transport(struct vfnl *nl)
{
	const void *d;
	ssize_t n = nl->tp->recv(nl->tp_ud, &d);

	if (n < 0)
		return n;
	if ((size_t)n > nl->rcap && grow(nl, (size_t)n) < 0)
		return -ENOMEM;
	memcpy(nl->rbuf, d, (size_t)n);
	return n;
}

/* Receives one datagram into nl->rbuf. size_first: peek at its length
 * first and grow the buffer to it (replies that carry link tables, whose
 * size grows with the VF count: a cut dump part cannot be read again).
 * Otherwise (ACKs, notifications: small, bounded by the kernel) one
 * recvmsg into the buffer as it is; if MSG_TRUNC says the datagram was
 * cut, it is lost: the buffer grows to its size for the next one and
 * -EMSGSIZE is returned. */
static ssize_t recv_one(struct vfnl *nl, bool size_first)
{
	int dontwait = nl->monitor ? MSG_DONTWAIT : 0;
	struct sockaddr_nl sa;
	struct iovec iov;
	struct msghdr msg;
	int fd;
	ssize_t n;

	if (nl->tp)
		return recv_transport(nl);
	fd = mnl_socket_get_fd(nl->sock);
	for (;;) {
		if (size_first) {
			do
				n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | dontwait);
			while (n < 0 && errno == EINTR);
			if (n < 0)
				return -errno;
			if ((size_t)n > nl->rcap && grow(nl, (size_t)n) < 0)
				return -ENOMEM;
		}
		memset(&sa, 0, sizeof(sa));
		iov.iov_base = nl->rbuf;
		iov.iov_len = nl->rcap;
		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &sa;
		msg.msg_namelen = sizeof(sa);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		/* MSG_TRUNC: n is the datagram's real length even if cut. */
		do
			n = recvmsg(fd, &msg, MSG_TRUNC | dontwait);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
		if ((msg.msg_flags & MSG_TRUNC) || (size_t)n > nl->rcap) {
			if ((size_t)n > nl->rcap && grow(nl, (size_t)n) < 0)
				return -ENOMEM;
			return -EMSGSIZE;
		}
		if (sa.nl_pid != 0)
			continue;		/* not from the kernel */
		return n;
	}
}

/* Sends the request in buf and runs replies through c until the ACK, the
 * end of the dump, or an error.  Returns 0 or -errno; on failure errmsg is
 * set (the kernel's text when it sent one). */
static int transact(struct vfnl *nl, struct nlmsghdr *nlh, struct req_ctx *c,
		    const char *what)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_NOOP] = cb_noop,
		[NLMSG_ERROR] = cb_error,
		[NLMSG_DONE] = cb_done,
		[NLMSG_OVERRUN] = cb_noop,
	};
	unsigned int seq = nlh->nlmsg_seq;
	/* A GETLINK's reply holds VF tables (its size grows with the VF
	 * count, and a dump part cut cannot be asked again): sized first.
	 * A SETLINK's is its ACK only (CAP_ACK: no echoed request). */
	bool size_first = nlh->nlmsg_type == RTM_GETLINK;
	ssize_t n;
	int r;

	c->nl = nl;
	if (nl->tp)
		r = nl->tp->send(nl->tp_ud, nlh, nlh->nlmsg_len);
	else
		r = mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
	if (r < 0) {
		set_err(nl, "%s: send: %s", what, strerror(-r));
		return r;
	}
	for (;;) {
		n = recv_one(nl, size_first);
		if (n < 0) {
			set_err(nl, "%s: receive: %s", what, strerror((int)-n));
			return (int)n;
		}
		errno = 0;
		r = mnl_cb_run2(nl->rbuf, (size_t)n, seq, nl->portid, cb_data, c,
				ctl, NLMSG_MIN_TYPE);
		if (r == MNL_CB_ERROR && !c->err)
			c->err = errno > 0 ? -errno : -EPROTO;	/* seq/portid */
		if (r <= MNL_CB_STOP)
			break;
	}
	if (c->err) {
		if (!nl->kernel_msg || nl->errmsg[0] == '\0')
			set_err(nl, "%s: %s", what, strerror(-c->err));
		return c->err;
	}
	return 0;
}

/* Starts a request: header + ifinfomsg.  buf must be zeroed by the caller
 * and hold at least MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifinfomsg)). */
static struct nlmsghdr *put_link_hdr(void *buf, uint16_t type, uint16_t flags,
				     uint32_t seq, int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nlh;
}

#define HDR_MIN (MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifinfomsg)))

static void begin(struct vfnl *nl)
{
	nl->kernel_msg = false;
	nl->errmsg[0] = '\0';
}

/* ---- GETLINK ----------------------------------------------------------- */

static int on_link(const struct nlmsghdr *nlh, struct req_ctx *c)
{
	if (nlh->nlmsg_type != RTM_NEWLINK || c->found)
		return 0;
	if (c->each) {
		int r = vfnl_parse_link(nlh, nlh->nlmsg_len, c->link);

		if (r < 0)
			return r;
		c->each(c->link, false, c->ud);
		return 0;
	}
	c->found = 1;
	return vfnl_parse_link(nlh, nlh->nlmsg_len, c->link);
}

static int get_link(struct vfnl *nl, int ifindex, const char *name,
		    uint32_t mask, struct vfnl_link *ret)
{
	char buf[256];
	struct nlmsghdr *nlh;
	struct req_ctx c;
	struct vfnl_link *l;
	int r;

	begin(nl);
	if (ifindex < 0 || (ifindex == 0 && (!name || !name[0])) ||
	    (ifindex == 0 && strlen(name) >= IF_NAMESIZE)) {
		set_err(nl, "RTM_GETLINK: bad link %d/%s", ifindex,
			name ? name : "(null)");
		return -EINVAL;
	}
	l = malloc(sizeof(*l));	/* vfnl_parse_link writes it */
	if (!l)
		return -ENOMEM;
	memset(buf, 0, sizeof(buf));
	nlh = put_link_hdr(buf, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK,
			   ++nl->seq, ifindex);
	if ((ifindex == 0 && !mnl_attr_put_strz_check(nlh, sizeof(buf), IFLA_IFNAME, name)) ||
	    !mnl_attr_put_check(nlh, sizeof(buf), IFLA_EXT_MASK, sizeof(mask), &mask)) {
		r = -EMSGSIZE;
		set_err(nl, "RTM_GETLINK: request too long");
		goto out;
	}
	memset(&c, 0, sizeof(c));
	c.on_msg = on_link;
	c.link = l;
	r = transact(nl, nlh, &c, "RTM_GETLINK");
	if (r < 0)
		goto out;
	if (!c.found) {
		r = -ENODEV;
		set_err(nl, "RTM_GETLINK: no link in the reply");
		goto out;
	}
	memcpy(ret, l, vfnl_link_size(l));
out:
	free(l);
	return r;
}

/* Resolves a netdev name to its ifindex.  Returns 0, -ENODEV if there is
 * no such link, or -errno. */
int vfnl_ifindex(struct vfnl *nl, const char *name, int *ret_ifindex)
{
	struct vfnl_link *l;
	int r;

	if (!nl || !name || !ret_ifindex)
		return -EINVAL;
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	r = get_link(nl, 0, name, RTEXT_FILTER_SKIP_STATS, l);
	if (r == 0)
		*ret_ifindex = l->ifindex;
	free(l);
	return r;
}

/* Reads one link with its VFs, by ifindex, or by name when ifindex is 0.
 * Returns 0 or -errno (-ENODEV: no such link); ret is caller memory,
 * written only on success. */
int vfnl_get_link(struct vfnl *nl, int ifindex, const char *name,
		  struct vfnl_link *ret)
{
	if (!nl || !ret)
		return -EINVAL;
	return get_link(nl, ifindex, name,
			RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS, ret);
}

/* Finds the netdev whose parent device is the PCI function pci_addr by a
 * link dump (no VFs, no stats: small), then reads that link with its VFs.
 * Returns 0, -ENODEV if none, or -errno; ret is written only on success. */
/* Lists every link (without VF tables) through cb. Returns 0 or -errno. */
int vfnl_dump_links(struct vfnl *nl, vfnl_monitor_cb cb, void *ud)
{
	char buf[128];
	struct nlmsghdr *nlh;
	struct req_ctx c;
	uint32_t mask = RTEXT_FILTER_SKIP_STATS;
	int r;

	if (!nl || !cb)
		return -EINVAL;
	begin(nl);
	memset(&c, 0, sizeof(c));
	c.link = calloc(1, sizeof(*c.link));
	if (!c.link)
		return -ENOMEM;
	memset(buf, 0, sizeof(buf));
	nlh = put_link_hdr(buf, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP,
			   ++nl->seq, 0);
	if (!mnl_attr_put_check(nlh, sizeof(buf), IFLA_EXT_MASK, sizeof(mask), &mask)) {
		r = -EMSGSIZE;
		goto out;
	}
	c.on_msg = on_link;
	c.each = cb;
	c.ud = ud;
	r = transact(nl, nlh, &c, "RTM_GETLINK dump");
out:
	free(c.link);
	return r;
}

struct find_pci {
	const char *pci;
	int ifindex;
};

static void match_pci(const struct vfnl_link *l, bool removed, void *ud)
{
	struct find_pci *f = ud;

	(void)removed;
	if (!f->ifindex && strcmp(l->parent_dev, f->pci) == 0 &&
	    (l->parent_bus[0] == '\0' || strcmp(l->parent_bus, "pci") == 0))
		f->ifindex = l->ifindex;
}

int vfnl_find_pci(struct vfnl *nl, const char *pci_addr, struct vfnl_link *ret)
{
	struct find_pci f = { .pci = pci_addr };
	int r;

	if (!nl || !pci_addr || !ret)
		return -EINVAL;
	r = vfnl_dump_links(nl, match_pci, &f);
	if (r < 0)
		return r;
	if (!f.ifindex) {
		set_err(nl, "no netdev has parent device %s", pci_addr);
		return -ENODEV;
	}
	/* The dump had no VFs; the link may also have changed name since. */
	return get_link(nl, f.ifindex, NULL,
			RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS, ret);
}

/* ---- SETLINK ----------------------------------------------------------- */

#define VFNL_SET_ALL (VFNL_SET_MAC | VFNL_SET_VLAN | VFNL_SET_SPOOFCHK | \
		      VFNL_SET_TRUST | VFNL_SET_LINK_STATE | VFNL_SET_RATE)

/* IFLA_VF_SPOOFCHK and IFLA_VF_TRUST share one layout. */
static bool put_switch(struct nlmsghdr *nlh, size_t buflen, uint16_t type,
		       uint32_t vf, bool on)
{
	struct ifla_vf_spoofchk v;

	memset(&v, 0, sizeof(v));
	v.vf = vf;
	v.setting = on;
	return mnl_attr_put_check(nlh, buflen, type, sizeof(v), &v);
}

static bool put_vf(struct nlmsghdr *nlh, size_t buflen, const struct vfnl_vf_set *s)
{
	struct nlattr *info, *list;

	info = mnl_attr_nest_start_check(nlh, buflen, IFLA_VF_INFO);
	if (!info)
		return false;
	if (s->set & VFNL_SET_MAC) {
		struct ifla_vf_mac m;

		memset(&m, 0, sizeof(m));
		m.vf = s->index;
		memcpy(m.mac, s->mac, sizeof(s->mac));
		if (!mnl_attr_put_check(nlh, buflen, IFLA_VF_MAC, sizeof(m), &m))
			return false;
	}
	if ((s->set & VFNL_SET_VLAN) && s->vlan_proto == 0) {
		struct ifla_vf_vlan v;

		memset(&v, 0, sizeof(v));
		v.vf = s->index;
		v.vlan = s->vlan;
		v.qos = s->qos;
		if (!mnl_attr_put_check(nlh, buflen, IFLA_VF_VLAN, sizeof(v), &v))
			return false;
	} else if (s->set & VFNL_SET_VLAN) {
		struct ifla_vf_vlan_info v;

		memset(&v, 0, sizeof(v));
		v.vf = s->index;
		v.vlan = s->vlan;
		v.qos = s->qos;
		v.vlan_proto = htons(s->vlan_proto);
		list = mnl_attr_nest_start_check(nlh, buflen, IFLA_VF_VLAN_LIST);
		if (!list ||
		    !mnl_attr_put_check(nlh, buflen, IFLA_VF_VLAN_INFO, sizeof(v), &v))
			return false;
		mnl_attr_nest_end(nlh, list);
	}
	if (s->set & VFNL_SET_RATE) {
		struct ifla_vf_rate r;

		memset(&r, 0, sizeof(r));
		r.vf = s->index;
		r.min_tx_rate = s->min_tx_rate;
		r.max_tx_rate = s->max_tx_rate;
		if (!mnl_attr_put_check(nlh, buflen, IFLA_VF_RATE, sizeof(r), &r))
			return false;
	}
	if ((s->set & VFNL_SET_SPOOFCHK) &&
	    !put_switch(nlh, buflen, IFLA_VF_SPOOFCHK, s->index, s->spoofchk))
		return false;
	if (s->set & VFNL_SET_LINK_STATE) {
		struct ifla_vf_link_state v;

		memset(&v, 0, sizeof(v));
		v.vf = s->index;
		v.link_state = s->link_state;
		if (!mnl_attr_put_check(nlh, buflen, IFLA_VF_LINK_STATE, sizeof(v), &v))
			return false;
	}
	if ((s->set & VFNL_SET_TRUST) &&
	    !put_switch(nlh, buflen, IFLA_VF_TRUST, s->index, s->trust))
		return false;
	mnl_attr_nest_end(nlh, info);
	return true;
}

/* Builds one RTM_SETLINK (NLM_F_REQUEST|NLM_F_ACK) carrying every VF
 * setting in one IFLA_VFINFO_LIST, into buf (no I/O).  Returns the message
 * length, -EMSGSIZE if buflen is too small, -EINVAL on bad input (no sets,
 * more than VFNL_MAX_VFS, unknown VFNL_SET_* bits).  Values are not judged:
 * the kernel and the driver do that. */
int vfnl_build_set_vfs(void *buf, size_t buflen, uint32_t seq, int ifindex,
		       const struct vfnl_vf_set *sets, size_t n)
{
	struct nlmsghdr *nlh;
	struct nlattr *list;
	size_t i;

	if (!buf || ifindex <= 0 || !sets || n == 0 || n > VFNL_MAX_VFS)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (sets[i].set & ~(uint32_t)VFNL_SET_ALL)
			return -EINVAL;
	if (buflen < HDR_MIN)
		return -EMSGSIZE;
	if (buflen > UINT32_MAX)
		buflen = UINT32_MAX;
	memset(buf, 0, HDR_MIN);
	nlh = put_link_hdr(buf, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq,
			   ifindex);
	list = mnl_attr_nest_start_check(nlh, buflen, IFLA_VFINFO_LIST);
	if (!list)
		return -EMSGSIZE;
	for (i = 0; i < n; i++)
		if (!put_vf(nlh, buflen, &sets[i]))
			return -EMSGSIZE;
	/* nla_len is 16 bits: a longer nest would wrap silently. */
	if ((char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)list > UINT16_MAX)
		return -EMSGSIZE;
	mnl_attr_nest_end(nlh, list);
	return (int)nlh->nlmsg_len;
}

/* Bytes one VF can take in the message (all settings, VLAN_LIST form). */
#define VF_MAX_BYTES (MNL_ATTR_HDRLEN + \
	MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(struct ifla_vf_mac)) + \
	MNL_ATTR_HDRLEN + MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(struct ifla_vf_vlan_info)) + \
	MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(struct ifla_vf_rate)) + \
	MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(struct ifla_vf_spoofchk)) + \
	MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(struct ifla_vf_link_state)) + \
	MNL_ATTR_HDRLEN + MNL_ALIGN(sizeof(struct ifla_vf_trust)))

/* Applies n VF settings in one RTM_SETLINK with one ACK.  Returns 0 or
 * -errno with the kernel's text in vfnl_errmsg().  The kernel applies the
 * IFLA_VF_INFO entries in order and stops at the first one that fails;
 * what came before it in the same message stays applied. */
int vfnl_set_vfs(struct vfnl *nl, int ifindex, const struct vfnl_vf_set *sets,
		 size_t n)
{
	struct req_ctx c;
	size_t len;
	void *buf;
	int r;

	if (!nl)
		return -EINVAL;
	begin(nl);
	if (n > VFNL_MAX_VFS) {
		set_err(nl, "RTM_SETLINK: %zu VFs in one message (max %d)", n,
			VFNL_MAX_VFS);
		return -EINVAL;
	}
	len = HDR_MIN + MNL_ATTR_HDRLEN + n * VF_MAX_BYTES;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	r = vfnl_build_set_vfs(buf, len, ++nl->seq, ifindex, sets, n);
	if (r < 0) {
		set_err(nl, "RTM_SETLINK: cannot build the request: %s", strerror(-r));
		goto out;
	}
	memset(&c, 0, sizeof(c));
	r = transact(nl, buf, &c, "RTM_SETLINK (VFs)");
out:
	free(buf);
	return r;
}

/* Starts an RTM_SETLINK (with ACK) for ifindex in buf; NULL on bad input. */
static struct nlmsghdr *setlink_hdr(struct vfnl *nl, char *buf, size_t len,
				    int ifindex)
{
	if (!nl)
		return NULL;
	begin(nl);
	if (ifindex <= 0) {
		set_err(nl, "RTM_SETLINK: bad ifindex %d", ifindex);
		return NULL;
	}
	memset(buf, 0, len);
	return put_link_hdr(buf, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, ++nl->seq,
			    ifindex);
}

/* Sets IFF_UP on or off (ifi_change = IFF_UP only).  Returns 0 or -errno. */
int vfnl_set_up(struct vfnl *nl, int ifindex, bool up)
{
	char buf[HDR_MIN];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct req_ctx c;

	nlh = setlink_hdr(nl, buf, sizeof(buf), ifindex);
	if (!nlh)
		return -EINVAL;
	ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = IFF_UP;
	memset(&c, 0, sizeof(c));
	return transact(nl, nlh, &c, up ? "RTM_SETLINK (up)" : "RTM_SETLINK (down)");
}

/* Brings a PF up with no addresses.  Two messages, on purpose: do_setlink()
 * applies ifi_flags (IFF_UP) before IFLA_AF_SPEC, so in one message the
 * link would come up with the old mode and generate its IPv6 link-local
 * address (and send DAD/RS, the igb "Tx Unit Hang" trigger) before "none"
 * took effect.  Returns 0 or -errno; if the first step fails the link was
 * not touched. */
int vfnl_pf_up(struct vfnl *nl, int ifindex)
{
	char buf[HDR_MIN + 64];
	struct nlmsghdr *nlh;
	struct nlattr *spec, *inet6;
	struct req_ctx c;
	int r;

	nlh = setlink_hdr(nl, buf, sizeof(buf), ifindex);
	if (!nlh)
		return -EINVAL;
	spec = mnl_attr_nest_start_check(nlh, sizeof(buf), IFLA_AF_SPEC);
	inet6 = spec ? mnl_attr_nest_start_check(nlh, sizeof(buf), AF_INET6) : NULL;
	if (!inet6 || !mnl_attr_put_u8_check(nlh, sizeof(buf),
					     IFLA_INET6_ADDR_GEN_MODE,
					     IN6_ADDR_GEN_MODE_NONE)) {
		set_err(nl, "RTM_SETLINK: request too long");
		return -EMSGSIZE;
	}
	mnl_attr_nest_end(nlh, inet6);
	mnl_attr_nest_end(nlh, spec);
	memset(&c, 0, sizeof(c));
	r = transact(nl, nlh, &c, "RTM_SETLINK (IPv6 addrgenmode none)");
	if (r < 0)
		return r;
	return vfnl_set_up(nl, ifindex, true);
}

/* ---- link notifications ------------------------------------------------ */

/* Opens a handle subscribed to RTNLGRP_LINK for vfnl_monitor_read(); its
 * fd (vfnl_fd) becomes readable when links change. Caller owns *ret. */
int vfnl_monitor_open(struct vfnl **ret)
{
	struct vfnl *nl;
	int r;

	r = vfnl_open(&nl);
	if (r)
		return r;
	mnl_socket_close(nl->sock);
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock) {
		r = -errno;
		goto fail;
	}
	if (mnl_socket_bind(nl->sock, 1u << (RTNLGRP_LINK - 1), MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto fail;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->monitor = true;
	*ret = nl;
	return 0;
fail:
	vfnl_close(nl);
	return r;
}

int vfnl_fd(const struct vfnl *nl)
{
	return nl && nl->sock ? mnl_socket_get_fd(nl->sock) : -EBADF;
}

/* Drains pending notifications without blocking: cb gets each changed link
 * (parsed without its VF table: the kernel does not put one in
 * notifications) or, for a removed link, only its ifindex. Returns the
 * number of links seen, or -errno (-ENOBUFS: some were lost, re-read). */
int vfnl_monitor_read(struct vfnl *nl, vfnl_monitor_cb cb, void *ud)
{
	return vfnl_monitor_read_n(nl, 0, cb, ud);
}

/* As vfnl_monitor_read, reading at most max datagrams (0: until none is
 * left); what is left keeps the fd readable. */
int vfnl_monitor_read_n(struct vfnl *nl, unsigned int max, vfnl_monitor_cb cb,
			void *ud)
{
	struct vfnl_link *l = malloc(sizeof(*l));	/* each use writes it */
	unsigned int got = 0;
	int seen = 0;

	if (!l)
		return -ENOMEM;
	while (!max || got++ < max) {
		ssize_t n = recv_one(nl, false);
		const struct nlmsghdr *nlh;
		int left;

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			break;
		if (n == -EMSGSIZE)
			n = -ENOBUFS;	/* one was cut: lost, re-read */
		if (n < 0) {
			free(l);
			return (int)n;
		}
		left = (int)n;
		for (nlh = (const struct nlmsghdr *)nl->rbuf; mnl_nlmsg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_type == RTM_NEWLINK &&
			    vfnl_parse_link(nlh, nlh->nlmsg_len, l) == 0) {
				cb(l, false, ud);
				seen++;
			} else if (nlh->nlmsg_type == RTM_DELLINK &&
				   nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
				const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

				memset(l, 0, offsetof(struct vfnl_link, vfs));
				l->ifindex = ifi->ifi_index;
				cb(l, true, ud);
				seen++;
			}
		}
	}
	free(l);
	return seen;
}
