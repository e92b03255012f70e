/* vfnl parser: RTM_NEWLINK bytes -> struct vfnl_link.  Pure: no socket, no
 * allocation visible to the caller, so tests and the fuzzer replay recorded
 * bytes through the very code the agent runs. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "nl/vfnl.h"

struct parse_ctx {
	const char *buf;
	size_t len;
	struct vfnl_link *link;
	int found;
	int err;		/* first error, -errno */
};

/* Iterates the attributes in [start, start+len) and requires that they fill
 * it exactly (up to alignment): libmnl's iterators stop silently at the first
 * attribute whose length runs past its container, which would turn a
 * message lying about its lengths into a short but "valid" one. */
typedef int (*attr_fn)(const struct nlattr *a, void *data);

static int walk_attrs(const void *start, size_t len, attr_fn fn, void *data)
{
	const char *p = start, *end = p + len;
	int r;

	while ((size_t)(end - p) >= sizeof(struct nlattr)) {
		const struct nlattr *a = (const struct nlattr *)p;

		if (a->nla_len < sizeof(struct nlattr) ||
		    a->nla_len > (size_t)(end - p))
			return -EBADMSG;
		r = fn(a, data);
		if (r < 0)
			return r;
		if ((size_t)MNL_ALIGN(a->nla_len) >= (size_t)(end - p))
			return 0;
		p += (size_t)MNL_ALIGN(a->nla_len);
	}
	return p == end ? 0 : -EBADMSG;
}

static int walk_nested(const struct nlattr *nest, attr_fn fn, void *data)
{
	return walk_attrs(mnl_attr_get_payload(nest),
			  mnl_attr_get_payload_len(nest), fn, data);
}

/* mnl_attr_validate2 with an exact struct size, as -EBADMSG. */
static int need(const struct nlattr *a, enum mnl_attr_data_type t, size_t size)
{
	return mnl_attr_validate2(a, t, size) < 0 ? -EBADMSG : 0;
}

struct vf_ctx {
	struct vfnl_vf *vf;
	int have_index;
	int have_rate;
	int have_vlan_list;
};

/* Every ifla_vf_* struct starts with the VF number; they must agree. */
static int vf_index(struct vf_ctx *c, uint32_t idx)
{
	if (c->have_index && c->vf->index != idx)
		return -EBADMSG;
	c->vf->index = idx;
	c->have_index = 1;
	return 0;
}

static int vlan_list_attr(const struct nlattr *a, void *data)
{
	struct vf_ctx *c = data;
	const struct ifla_vf_vlan_info *vi;
	int r;

	if (mnl_attr_get_type(a) != IFLA_VF_VLAN_INFO)
		return 0;
	r = need(a, MNL_TYPE_UNSPEC, sizeof(*vi));
	if (r < 0)
		return r;
	if (c->have_vlan_list)	/* QinQ lists: the first entry is the outer tag */
		return 0;
	vi = mnl_attr_get_payload(a);
	r = vf_index(c, vi->vf);
	if (r < 0)
		return r;
	c->vf->vlan = (uint16_t)vi->vlan;
	c->vf->qos = (uint8_t)vi->qos;
	c->vf->vlan_proto = ntohs(vi->vlan_proto);
	c->vf->has |= VFNL_HAS_VLAN | VFNL_HAS_VLAN_PROTO;
	c->have_vlan_list = 1;
	return 0;
}

/* A u32 "setting" of (u32)-1 is the kernel's "driver did not say". */
#define VF_UNSET 0xffffffffu

/* IFLA_VF_SPOOFCHK, _TRUST and _RSS_QUERY_EN share one layout
 * ({u32 vf; u32 setting;}); the kernel sends -1 for "not supported". */
_Static_assert(sizeof(struct ifla_vf_trust) == sizeof(struct ifla_vf_spoofchk) &&
	       sizeof(struct ifla_vf_rss_query_en) == sizeof(struct ifla_vf_spoofchk) &&
	       offsetof(struct ifla_vf_trust, setting) == offsetof(struct ifla_vf_spoofchk, setting) &&
	       offsetof(struct ifla_vf_rss_query_en, setting) == offsetof(struct ifla_vf_spoofchk, setting),
	       "VF switch attributes share one layout");

static int vf_switch(struct vf_ctx *c, const struct nlattr *a, bool *ret,
		     uint32_t has_bit, uint32_t *has)
{
	const struct ifla_vf_spoofchk *s;
	int r;

	if ((r = need(a, MNL_TYPE_UNSPEC, sizeof(*s))) < 0)
		return r;
	s = mnl_attr_get_payload(a);
	if ((r = vf_index(c, s->vf)) < 0)
		return r;
	if (s->setting != VF_UNSET) {
		*ret = s->setting != 0;
		*has |= has_bit;
	}
	return 0;
}

static int vf_attr(const struct nlattr *a, void *data)
{
	struct vf_ctx *c = data;
	struct vfnl_vf *vf = c->vf;
	int r = 0;

	switch (mnl_attr_get_type(a)) {
	case IFLA_VF_MAC: {
		const struct ifla_vf_mac *m;

		if ((r = need(a, MNL_TYPE_UNSPEC, sizeof(*m))) < 0)
			return r;
		m = mnl_attr_get_payload(a);
		if ((r = vf_index(c, m->vf)) < 0)
			return r;
		memcpy(vf->mac, m->mac, sizeof(vf->mac));
		vf->has |= VFNL_HAS_MAC;
		break;
	}
	case IFLA_VF_VLAN: {
		const struct ifla_vf_vlan *v;

		if ((r = need(a, MNL_TYPE_UNSPEC, sizeof(*v))) < 0)
			return r;
		v = mnl_attr_get_payload(a);
		if ((r = vf_index(c, v->vf)) < 0)
			return r;
		if (!c->have_vlan_list) {	/* the list wins when both came */
			vf->vlan = (uint16_t)v->vlan;
			vf->qos = (uint8_t)v->qos;
			vf->has |= VFNL_HAS_VLAN;
		}
		break;
	}
	case IFLA_VF_VLAN_LIST:
		if ((r = need(a, MNL_TYPE_NESTED, 0)) < 0)
			return r;
		r = walk_nested(a, vlan_list_attr, c);
		break;
	case IFLA_VF_TX_RATE: {
		const struct ifla_vf_tx_rate *t;

		if ((r = need(a, MNL_TYPE_UNSPEC, sizeof(*t))) < 0)
			return r;
		t = mnl_attr_get_payload(a);
		if ((r = vf_index(c, t->vf)) < 0)
			return r;
		if (!c->have_rate)
			vf->max_tx_rate = t->rate;
		vf->has |= VFNL_HAS_TX_RATE;
		break;
	}
	case IFLA_VF_RATE: {
		const struct ifla_vf_rate *t;

		if ((r = need(a, MNL_TYPE_UNSPEC, sizeof(*t))) < 0)
			return r;
		t = mnl_attr_get_payload(a);
		if ((r = vf_index(c, t->vf)) < 0)
			return r;
		vf->min_tx_rate = t->min_tx_rate;
		vf->max_tx_rate = t->max_tx_rate;
		vf->has |= VFNL_HAS_RATE;
		c->have_rate = 1;
		break;
	}
	case IFLA_VF_SPOOFCHK:
		return vf_switch(c, a, &vf->spoofchk, VFNL_HAS_SPOOFCHK, &vf->has);
	case IFLA_VF_TRUST:
		return vf_switch(c, a, &vf->trust, VFNL_HAS_TRUST, &vf->has);
	case IFLA_VF_RSS_QUERY_EN:
		return vf_switch(c, a, &vf->rss_query, VFNL_HAS_RSS_QUERY, &vf->has);
	case IFLA_VF_LINK_STATE: {
		const struct ifla_vf_link_state *s;

		if ((r = need(a, MNL_TYPE_UNSPEC, sizeof(*s))) < 0)
			return r;
		s = mnl_attr_get_payload(a);
		if ((r = vf_index(c, s->vf)) < 0)
			return r;
		vf->link_state = s->link_state;
		vf->has |= VFNL_HAS_LINK_STATE;
		break;
	}
	default:		/* stats, GUIDs, broadcast: not ours */
		break;
	}
	return r;
}

static int vfinfo_attr(const struct nlattr *a, void *data)
{
	struct vfnl_link *l = data;
	struct vf_ctx c;
	struct vfnl_vf vf;
	int r;

	if (mnl_attr_get_type(a) != IFLA_VF_INFO)
		return 0;
	if ((r = need(a, MNL_TYPE_NESTED, 0)) < 0)
		return r;
	memset(&vf, 0, sizeof(vf));
	memset(&c, 0, sizeof(c));
	c.vf = &vf;
	if ((r = walk_nested(a, vf_attr, &c)) < 0)
		return r;
	if (!c.have_index)	/* an entry that names no VF says nothing */
		return -EBADMSG;
	if (l->n_vfs >= VFNL_MAX_VFS) {
		l->truncated = true;	/* we cut it; keep validating the rest */
		return 0;
	}
	l->vfs[l->n_vfs++] = vf;
	return 0;
}

/* Copies a NUL-terminated string attribute if it fits; "" otherwise. */
static int get_str(const struct nlattr *a, char *dst, size_t size, int must_fit)
{
	size_t n;

	if (need(a, MNL_TYPE_NUL_STRING, 0) < 0)
		return -EBADMSG;
	n = strlen(mnl_attr_get_str(a));
	if (n >= size) {
		dst[0] = '\0';
		return must_fit ? -EBADMSG : 0;
	}
	memcpy(dst, mnl_attr_get_str(a), n + 1);
	return 0;
}

static int link_attr(const struct nlattr *a, void *data)
{
	struct vfnl_link *l = data;
	int r = 0;

	switch (mnl_attr_get_type(a)) {
	case IFLA_IFNAME:
		r = get_str(a, l->name, sizeof(l->name), 1);
		break;
	case IFLA_ADDRESS:
		/* Only Ethernet-sized addresses are ours; tunnels send 4 or 16. */
		if (mnl_attr_get_payload_len(a) == sizeof(l->addr))
			memcpy(l->addr, mnl_attr_get_payload(a), sizeof(l->addr));
		break;
	case IFLA_OPERSTATE:
		if ((r = need(a, MNL_TYPE_U8, sizeof(uint8_t))) == 0)
			l->operstate = mnl_attr_get_u8(a);
		break;
	case IFLA_NUM_VF:
		if ((r = need(a, MNL_TYPE_U32, sizeof(uint32_t))) == 0) {
			l->num_vf = mnl_attr_get_u32(a);
			l->has_num_vf = true;
		}
		break;
	case IFLA_PARENT_DEV_NAME:
		r = get_str(a, l->parent_dev, sizeof(l->parent_dev), 0);
		break;
	case IFLA_PARENT_DEV_BUS_NAME:
		r = get_str(a, l->parent_bus, sizeof(l->parent_bus), 0);
		break;
	case IFLA_VFINFO_LIST:
		if ((r = need(a, MNL_TYPE_NESTED, 0)) == 0)
			r = walk_nested(a, vfinfo_attr, l);
		break;
	default:
		break;
	}
	return r;
}

static int parse_msg(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *p = data;
	const struct ifinfomsg *ifi;
	size_t off = (size_t)((const char *)nlh - p->buf);
	int r;

	if (p->found || nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	/* libmnl walks attributes up to the ALIGNED message end; make sure
	 * that end is inside what we were given. */
	if (MNL_ALIGN(nlh->nlmsg_len) > p->len - off ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*ifi))) {
		p->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	ifi = mnl_nlmsg_get_payload(nlh);
	p->link->ifindex = ifi->ifi_index;
	p->link->flags = ifi->ifi_flags;
	r = walk_attrs(mnl_nlmsg_get_payload_offset(nlh, sizeof(*ifi)),
		       nlh->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(sizeof(*ifi)),
		       link_attr, p->link);
	if (r < 0) {
		p->err = r;
		return MNL_CB_ERROR;
	}
	p->found = 1;
	return MNL_CB_STOP;
}

/* libmnl 1.0.4's mnl_nlmsg_ok() compares (int)nlmsg_len with the bytes
 * left, so a length >= 2^31 passes and mnl_nlmsg_next() then jumps far out of
 * the buffer (found by tests/fuzz/fuzz_nl.c).  Check the chain of messages
 * ourselves before mnl_cb_run() walks it. */
static int check_chain(const char *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(buf + off);

		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len - off)
			return -EBADMSG;
		if (MNL_ALIGN(nlh->nlmsg_len) >= len - off)
			return 0;
		off += MNL_ALIGN(nlh->nlmsg_len);
	}
	return 0;
}

/* Parses the first RTM_NEWLINK in buf (whole netlink messages) into ret.
 * Returns 0, -EBADMSG on malformed input or when no RTM_NEWLINK is there,
 * or the -errno of an NLMSG_ERROR that comes first.  ret is caller memory,
 * written only on success. */
size_t vfnl_link_size(const struct vfnl_link *l)
{
	return offsetof(struct vfnl_link, vfs) + l->n_vfs * sizeof(l->vfs[0]);
}

int vfnl_parse_link(const void *buf, size_t len, struct vfnl_link *ret)
{
	struct parse_ctx p;
	struct vfnl_link *l;
	int r;

	if (!buf || !ret)
		return -EINVAL;
	if (check_chain(buf, len) < 0)
		return -EBADMSG;
	/* Big (10 KiB) and written only on success: parse into a scratch copy,
	 * whose VF entries are each written whole (vfinfo_attr): only the
	 * fields before them start zeroed, only the used part is copied. */
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	memset(l, 0, offsetof(struct vfnl_link, vfs));
	memset(&p, 0, sizeof(p));
	p.buf = buf;
	p.len = len;
	p.link = l;
	errno = 0;
	r = mnl_cb_run(buf, len, 0, 0, parse_msg, &p);
	if (p.err < 0) {
		r = p.err;
		goto out;
	}
	if (r == MNL_CB_ERROR && !p.found) {
		r = errno > 0 ? -errno : -EBADMSG;
		goto out;
	}
	if (!p.found) {
		r = -EBADMSG;
		goto out;
	}
	if (l->has_num_vf && l->n_vfs < l->num_vf)
		l->truncated = true;
	memcpy(ret, l, vfnl_link_size(l));
	r = 0;
out:
	free(l);
	return r;
}

struct err_ctx {
	char *msg;
	size_t msglen;
	int found;
	int err;
};

static int err_attr(const struct nlattr *a, void *data)
{
	struct err_ctx *e = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 && e->msglen)
		snprintf(e->msg, e->msglen, "%s", mnl_attr_get_str(a));
	return 0;
}

static int parse_err_msg(const struct nlmsghdr *nlh, void *data)
{
	struct err_ctx *e = data;
	const struct nlmsgerr *ne;
	size_t off;

	if (e->found)
		return MNL_CB_STOP;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ne))) {
		e->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	ne = mnl_nlmsg_get_payload(nlh);
	e->found = 1;
	e->err = ne->error <= 0 ? ne->error : -ne->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return MNL_CB_STOP;
	/* TLVs follow the echoed request: its header only when capped. */
	off = sizeof(*ne);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (ne->msg.nlmsg_len < sizeof(ne->msg))
			goto bad;
		off += MNL_ALIGN(ne->msg.nlmsg_len - sizeof(ne->msg));
	}
	if (MNL_NLMSG_HDRLEN + off > nlh->nlmsg_len)
		goto bad;
	if (walk_attrs((const char *)mnl_nlmsg_get_payload(nlh) + off,
		       nlh->nlmsg_len - MNL_NLMSG_HDRLEN - off, err_attr, e) < 0)
		goto bad;
	return MNL_CB_STOP;
bad:
	e->found = 0;
	e->err = -EBADMSG;
	return MNL_CB_ERROR;
}

/* Parses the first NLMSG_ERROR in buf; see vfnl.h.  msg is caller memory,
 * written ("" when the kernel sent no text) only when 0 or a kernel -errno
 * is returned. */
int vfnl_parse_error(const void *buf, size_t len, char *msg, size_t msglen)
{
	struct err_ctx e;
	static const mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = parse_err_msg,
	};
	char text[256];

	if (!buf || (msglen && !msg))
		return -EINVAL;
	if (check_chain(buf, len) < 0)
		return -EBADMSG;
	memset(&e, 0, sizeof(e));
	text[0] = '\0';
	e.msg = text;
	e.msglen = sizeof(text);
	mnl_cb_run2(buf, len, 0, 0, NULL, &e, (mnl_cb_t *)ctl, NLMSG_MIN_TYPE);
	if (!e.found)
		return -EBADMSG;
	if (msglen)
		snprintf(msg, msglen, "%s", text);
	return e.err;
}
