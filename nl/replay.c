/* A vfnl handle answered from recorded bytes instead of the kernel (tests).
 *
 * It holds recorded RTM_NEWLINK messages (one per link, as the kernel sent
 * them) and answers RTM_GETLINK from them: by ifindex, by IFLA_IFNAME, or
 * every link for a dump. RTM_SETLINK is applied to the recorded bytes as
 * the kernel would (IFF_UP; each VF attribute in order, stopping at the
 * first VF that does not exist) and acked, so a later GETLINK sees it.
 * Every request is kept, so a test can count and read what was sent. A
 * chosen errno can be returned for the next requests of a type; then
 * nothing is applied. Mechanism only: -errno, no printing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "nl/vfnl.h"
#include "nl/vfnl_priv.h"

#define REPLAY_LINKS 16
#define REPLAY_QUEUE 8

struct blob {
	unsigned char *buf;
	size_t len;
	uint16_t type;
};

struct vfnl_replay {
	struct blob links[REPLAY_LINKS];	/* one RTM_NEWLINK each */
	size_t n_links;
	struct blob *sent;			/* every request, in order */
	size_t n_sent, cap_sent;
	struct blob queue[REPLAY_QUEUE];	/* datagrams not yet read */
	size_t q_head, q_n;
	struct blob cur;			/* the datagram last read */
	uint16_t fail_type;
	int fail_err;
	unsigned int fail_count;
};

static void blob_free(struct blob *b)
{
	free(b->buf);
	b->buf = NULL;
	b->len = 0;
}

static void replay_free(void *ud)
{
	struct vfnl_replay *rp = ud;

	if (!rp)
		return;
	for (size_t i = 0; i < rp->n_links; i++)
		blob_free(&rp->links[i]);
	vfnl_replay_forget(rp);
	free(rp->sent);
	for (size_t i = 0; i < rp->q_n; i++)
		blob_free(&rp->queue[(rp->q_head + i) % REPLAY_QUEUE]);
	blob_free(&rp->cur);
	free(rp);
}

/* Queues one datagram of len bytes (the caller fills it); NULL when full. */
static unsigned char *enqueue(struct vfnl_replay *rp, size_t len)
{
	struct blob *b;

	if (rp->q_n >= REPLAY_QUEUE)
		return NULL;
	b = &rp->queue[(rp->q_head + rp->q_n) % REPLAY_QUEUE];
	b->buf = calloc(1, len);
	if (!b->buf)
		return NULL;
	b->len = len;
	rp->q_n++;
	return b->buf;
}

/* NLMSG_ERROR for req: err 0 is the ACK. Capped, as with NETLINK_CAP_ACK. */
static int queue_error(struct vfnl_replay *rp, const struct nlmsghdr *req, int err)
{
	size_t len = NLMSG_LENGTH(sizeof(struct nlmsgerr));
	unsigned char *d = enqueue(rp, NLMSG_ALIGN(len));
	struct nlmsghdr *nlh = (struct nlmsghdr *)d;
	struct nlmsgerr *e;

	if (!d)
		return -ENOBUFS;
	nlh->nlmsg_len = (uint32_t)len;
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_CAPPED;
	nlh->nlmsg_seq = req->nlmsg_seq;
	e = mnl_nlmsg_get_payload(nlh);
	e->error = err;
	memcpy(&e->msg, req, sizeof(e->msg));
	return 0;
}

static const struct ifinfomsg *ifi_of(const struct blob *b)
{
	return mnl_nlmsg_get_payload((const struct nlmsghdr *)b->buf);
}

static const char *name_of(const struct blob *b)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)b->buf;
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
		if (mnl_attr_get_type(a) == IFLA_IFNAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(a);
	return "";
}

/* The recorded link a GETLINK or SETLINK names: ifindex, else IFLA_IFNAME. */
static struct blob *find_link(struct vfnl_replay *rp, const struct nlmsghdr *req)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(req);
	const char *name = NULL;
	const struct nlattr *a;

	mnl_attr_for_each(a, req, sizeof(*ifi))
		if (mnl_attr_get_type(a) == IFLA_IFNAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			name = mnl_attr_get_str(a);
	for (size_t i = 0; i < rp->n_links; i++) {
		if (ifi->ifi_index > 0 && ifi_of(&rp->links[i])->ifi_index == ifi->ifi_index)
			return &rp->links[i];
		if (ifi->ifi_index == 0 && name && !strcmp(name_of(&rp->links[i]), name))
			return &rp->links[i];
	}
	return NULL;
}

/* A copy of link l as a reply to req (its seq, flags). */
static int queue_link(struct vfnl_replay *rp, const struct blob *l,
		      const struct nlmsghdr *req, uint16_t flags)
{
	unsigned char *d = enqueue(rp, l->len);
	struct nlmsghdr *nlh = (struct nlmsghdr *)d;

	if (!d)
		return -ENOBUFS;
	memcpy(d, l->buf, l->len);
	nlh->nlmsg_seq = req->nlmsg_seq;
	nlh->nlmsg_pid = 0;
	nlh->nlmsg_flags = flags;
	return 0;
}

/* A dump: every link in one datagram, NLM_F_MULTI, then NLMSG_DONE. */
static int queue_dump(struct vfnl_replay *rp, const struct nlmsghdr *req)
{
	size_t len = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(int))), off = 0;
	struct nlmsghdr *nlh;
	unsigned char *d;

	for (size_t i = 0; i < rp->n_links; i++)
		len += NLMSG_ALIGN(rp->links[i].len);
	d = enqueue(rp, len);
	if (!d)
		return -ENOBUFS;
	for (size_t i = 0; i < rp->n_links; i++) {
		memcpy(d + off, rp->links[i].buf, rp->links[i].len);
		nlh = (struct nlmsghdr *)(d + off);
		nlh->nlmsg_seq = req->nlmsg_seq;
		nlh->nlmsg_pid = 0;
		nlh->nlmsg_flags = NLM_F_MULTI;
		off += NLMSG_ALIGN(rp->links[i].len);
	}
	nlh = (struct nlmsghdr *)(d + off);
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(int));
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = req->nlmsg_seq;
	return 0;
}

/* The payload of attribute type (struct of at least size bytes, VF number
 * first) for VF vf in the recorded link's IFLA_VFINFO_LIST; NULL if none. */
static void *vf_attr(struct blob *l, uint16_t type, uint32_t vf, size_t size)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)l->buf;
	const struct nlattr *list, *info, *a;

	mnl_attr_for_each(list, nlh, sizeof(struct ifinfomsg)) {
		if (mnl_attr_get_type(list) != IFLA_VFINFO_LIST)
			continue;
		mnl_attr_for_each_nested(info, list) {
			mnl_attr_for_each_nested(a, info) {
				uint32_t n;

				if (mnl_attr_get_type(a) != type ||
				    mnl_attr_get_payload_len(a) < size)
					continue;
				memcpy(&n, mnl_attr_get_payload(a), sizeof(n));
				if (n == vf)
					return mnl_attr_get_payload(a);
			}
		}
	}
	return NULL;
}

/* The IFLA_VF_VLAN_INFO inside VF vf's IFLA_VF_VLAN_LIST, or NULL. */
static struct ifla_vf_vlan_info *vf_vlan_info(struct blob *l, uint32_t vf)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)l->buf;
	const struct nlattr *list, *info, *vl, *a;

	mnl_attr_for_each(list, nlh, sizeof(struct ifinfomsg)) {
		if (mnl_attr_get_type(list) != IFLA_VFINFO_LIST)
			continue;
		mnl_attr_for_each_nested(info, list)
			mnl_attr_for_each_nested(vl, info) {
				if (mnl_attr_get_type(vl) != IFLA_VF_VLAN_LIST)
					continue;
				mnl_attr_for_each_nested(a, vl) {
					struct ifla_vf_vlan_info *v = mnl_attr_get_payload(a);

					if (mnl_attr_get_payload_len(a) >= sizeof(*v) && v->vf == vf)
						return v;
				}
			}
	}
	return NULL;
}

static void set_vlan(struct blob *l, uint32_t vf, uint32_t vlan, uint32_t qos,
		     uint16_t proto_be)
{
	struct ifla_vf_vlan *v = vf_attr(l, IFLA_VF_VLAN, vf, sizeof(*v));
	struct ifla_vf_vlan_info *vi = vf_vlan_info(l, vf);

	if (v) {
		v->vlan = vlan;
		v->qos = qos;
	}
	if (vi) {
		vi->vlan = vlan;
		vi->qos = qos;
		vi->vlan_proto = proto_be;
	}
}

/* Applies one VF attribute of a SETLINK to link l. -EINVAL for a VF the
 * link does not have or a short attribute (the kernel's answers). */
static int apply_vf_attr(struct blob *l, const struct nlattr *a)
{
	uint16_t type = mnl_attr_get_type(a);
	const void *p = mnl_attr_get_payload(a);
	size_t len = mnl_attr_get_payload_len(a);
	uint32_t vf;

	if (type == IFLA_VF_VLAN_LIST) {
		const struct nlattr *in;

		mnl_attr_for_each_nested(in, a) {
			const struct ifla_vf_vlan_info *vi = mnl_attr_get_payload(in);

			if (mnl_attr_get_payload_len(in) < sizeof(*vi) ||
			    !vf_attr(l, IFLA_VF_MAC, vi->vf, sizeof(struct ifla_vf_mac)))
				return -EINVAL;
			set_vlan(l, vi->vf, vi->vlan, vi->qos, vi->vlan_proto);
		}
		return 0;
	}
	if (len < sizeof(vf))
		return -EINVAL;
	memcpy(&vf, p, sizeof(vf));
	if (!vf_attr(l, IFLA_VF_MAC, vf, sizeof(struct ifla_vf_mac)))
		return -EINVAL;
	switch (type) {
	case IFLA_VF_MAC: {
		struct ifla_vf_mac *m = vf_attr(l, type, vf, sizeof(*m));

		if (len < sizeof(*m))
			return -EINVAL;
		memcpy(m->mac, ((const struct ifla_vf_mac *)p)->mac, sizeof(m->mac));
		return 0;
	}
	case IFLA_VF_VLAN: {
		const struct ifla_vf_vlan *v = p;

		if (len < sizeof(*v))
			return -EINVAL;
		set_vlan(l, vf, v->vlan, v->qos, htons(0x8100));
		return 0;
	}
	case IFLA_VF_SPOOFCHK:
	case IFLA_VF_TRUST:
	case IFLA_VF_LINK_STATE: {
		/* Two u32s each: vf, then the setting. */
		uint32_t *d = vf_attr(l, type, vf, 2 * sizeof(uint32_t));

		if (len < 2 * sizeof(uint32_t))
			return -EINVAL;
		if (d)
			memcpy(d + 1, (const uint32_t *)p + 1, sizeof(uint32_t));
		return 0;
	}
	case IFLA_VF_RATE: {
		const struct ifla_vf_rate *r = p;
		struct ifla_vf_rate *d = vf_attr(l, type, vf, sizeof(*d));
		struct ifla_vf_tx_rate *t = vf_attr(l, IFLA_VF_TX_RATE, vf, sizeof(*t));

		if (len < sizeof(*r))
			return -EINVAL;
		if (d) {
			d->min_tx_rate = r->min_tx_rate;
			d->max_tx_rate = r->max_tx_rate;
		}
		if (t)
			t->rate = r->max_tx_rate;
		return 0;
	}
	default:
		return 0;	/* not modelled: accepted, nothing recorded */
	}
}

/* RTM_SETLINK on link l: IFF_UP, then the VF list in order. */
static int apply_setlink(struct blob *l, const struct nlmsghdr *req)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(req);
	struct ifinfomsg *cur = mnl_nlmsg_get_payload((struct nlmsghdr *)l->buf);
	const struct nlattr *a, *info, *va;
	int r;

	if (ifi->ifi_change & IFF_UP)
		cur->ifi_flags = (cur->ifi_flags & ~(unsigned int)IFF_UP) |
				 (ifi->ifi_flags & IFF_UP);
	mnl_attr_for_each(a, req, sizeof(*ifi)) {
		if (mnl_attr_get_type(a) != IFLA_VFINFO_LIST)
			continue;
		mnl_attr_for_each_nested(info, a)
			mnl_attr_for_each_nested(va, info) {
				r = apply_vf_attr(l, va);
				if (r)
					return r;
			}
	}
	return 0;
}

static int keep_request(struct vfnl_replay *rp, const void *buf, size_t len, uint16_t type)
{
	struct blob *b;

	if (rp->n_sent == rp->cap_sent) {
		size_t cap = rp->cap_sent ? 2 * rp->cap_sent : 16;
		struct blob *s = realloc(rp->sent, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		rp->sent = s;
		rp->cap_sent = cap;
	}
	b = &rp->sent[rp->n_sent];
	b->buf = malloc(len);
	if (!b->buf)
		return -ENOMEM;
	memcpy(b->buf, buf, len);
	b->len = len;
	b->type = type;
	rp->n_sent++;
	return 0;
}

static int replay_send(void *ud, const void *buf, size_t len)
{
	struct vfnl_replay *rp = ud;
	const struct nlmsghdr *req = buf;
	struct blob *l;
	int r;

	if (len < NLMSG_LENGTH(sizeof(struct ifinfomsg)) || req->nlmsg_len != len)
		return -EINVAL;
	r = keep_request(rp, buf, len, req->nlmsg_type);
	if (r)
		return r;
	if (rp->fail_count && req->nlmsg_type == rp->fail_type) {
		rp->fail_count--;
		return queue_error(rp, req, rp->fail_err);
	}
	if (req->nlmsg_type == RTM_GETLINK && (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP)
		return queue_dump(rp, req);
	if (req->nlmsg_type != RTM_GETLINK && req->nlmsg_type != RTM_SETLINK)
		return queue_error(rp, req, -EOPNOTSUPP);
	l = find_link(rp, req);
	if (!l)
		return queue_error(rp, req, -ENODEV);
	if (req->nlmsg_type == RTM_SETLINK)
		return queue_error(rp, req, apply_setlink(l, req));
	r = queue_link(rp, l, req, 0);
	if (!r && (req->nlmsg_flags & NLM_F_ACK))
		r = queue_error(rp, req, 0);
	return r;
}

static ssize_t replay_recv(void *ud, const void **ret_buf)
{
	struct vfnl_replay *rp = ud;

	blob_free(&rp->cur);
	if (!rp->q_n)
		return -EAGAIN;
	rp->cur = rp->queue[rp->q_head];
	rp->queue[rp->q_head].buf = NULL;
	rp->q_head = (rp->q_head + 1) % REPLAY_QUEUE;
	rp->q_n--;
	*ret_buf = rp->cur.buf;
	return (ssize_t)rp->cur.len;
}

static const struct vfnl_transport replay_tp = {
	.send = replay_send,
	.recv = replay_recv,
	.free = replay_free,
};

/* Adds the RTM_NEWLINK messages in buf (whole netlink messages, as
 * recorded) as links; a link with the same ifindex is replaced. Returns
 * the number added, -EBADMSG if buf holds none or is malformed, -ENOSPC
 * past REPLAY_LINKS links, -ENOMEM. */
int vfnl_replay_add(struct vfnl_replay *rp, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int left = len > INT32_MAX ? INT32_MAX : (int)len, n = 0;

	if (!rp || !buf)
		return -EINVAL;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		struct blob b = { NULL, 0, RTM_NEWLINK }, *slot = NULL;

		if (nlh->nlmsg_type != RTM_NEWLINK)
			continue;
		if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
			return -EBADMSG;
		b.len = nlh->nlmsg_len;
		b.buf = malloc(b.len);
		if (!b.buf)
			return -ENOMEM;
		memcpy(b.buf, nlh, b.len);
		for (size_t i = 0; i < rp->n_links; i++)
			if (ifi_of(&rp->links[i])->ifi_index == ifi_of(&b)->ifi_index)
				slot = &rp->links[i];
		if (!slot && rp->n_links >= REPLAY_LINKS) {
			free(b.buf);
			return -ENOSPC;
		}
		if (slot)
			blob_free(slot);
		else
			slot = &rp->links[rp->n_links++];
		*slot = b;
		n++;
	}
	return n ? n : -EBADMSG;
}

/* Opens a vfnl handle answered from the recorded RTM_NEWLINK messages in
 * buf (copied). Returns 0 or -errno; *ret is the caller's (vfnl_close()
 * frees the replay with it). */
int vfnl_open_replay(const void *buf, size_t len, struct vfnl **ret)
{
	struct vfnl_replay *rp;
	int r;

	if (!ret)
		return -EINVAL;
	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return -ENOMEM;
	r = vfnl_replay_add(rp, buf, len);
	if (r < 0)
		goto fail;
	r = vfnl_open_transport(&replay_tp, rp, ret);
	if (r)
		goto fail;
	return 0;
fail:
	replay_free(rp);
	return r;
}

/* vfnl_open_replay() on the bytes of a recorded file (one or more
 * datagrams as received, e.g. tests/fixtures/nl/igb_7vfs_fresh.bin). */
int vfnl_open_replay_file(const char *path, struct vfnl **ret)
{
	unsigned char buf[65536];
	size_t n;
	FILE *f = fopen(path, "rbe");
	int r;

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf), f);
	r = ferror(f) ? -EIO : !feof(f) ? -EFBIG : 0;
	fclose(f);
	return r ? r : vfnl_open_replay(buf, n, ret);
}

/* The replay behind a handle from vfnl_open_replay(); owned by nl. NULL
 * for any other handle. */
struct vfnl_replay *vfnl_replay_of(struct vfnl *nl)
{
	void *ud;

	return vfnl_transport_ud(nl, &replay_tp, &ud) == 0 ? ud : NULL;
}

/* The next count requests of type get err (-errno; 0 is a plain ACK)
 * and change nothing. */
void vfnl_replay_fail(struct vfnl_replay *rp, uint16_t type, int err,
		      unsigned int count)
{
	rp->fail_type = type;
	rp->fail_err = err;
	rp->fail_count = count;
}

/* How many requests of type were sent since the last forget. */
size_t vfnl_replay_count(const struct vfnl_replay *rp, uint16_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < rp->n_sent; i++)
		n += rp->sent[i].type == type;
	return n;
}

/* The i-th request of type (whole message; *ret_len its length), owned by
 * rp until the next forget; NULL if there is none. */
const void *vfnl_replay_sent(const struct vfnl_replay *rp, uint16_t type,
			     size_t i, size_t *ret_len)
{
	for (size_t k = 0; k < rp->n_sent; k++)
		if (rp->sent[k].type == type && i-- == 0) {
			*ret_len = rp->sent[k].len;
			return rp->sent[k].buf;
		}
	return NULL;
}

/* Forgets the requests kept so far (the links keep what was applied). */
void vfnl_replay_forget(struct vfnl_replay *rp)
{
	for (size_t i = 0; i < rp->n_sent; i++)
		blob_free(&rp->sent[i]);
	rp->n_sent = 0;
}
