/* nl/ without a socket: recorded igb replies, synthetic messages (256 VFs,
 * missing attributes, wrong sizes, lying lengths) and the bytes of a built
 * RTM_SETLINK.  Run from the repository root (fixtures path). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "nl/vfnl.h"
#include "tests/unit/t.h"

#define FIX "tests/fixtures/nl/"

static struct vfnl_link L;	/* 10 KiB: keep it off the stack */

static void *load(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int mac_is(const uint8_t *m, const char *s)
{
	char b[18];

	snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
	return strcmp(b, s) == 0;
}

/* ---- recorded from the lab's igb driver ------------------------------- */

/* The parser is a plain mnl_cb_run() callback; run a replay through it the
 * way iproute2's testsuite replays recorded bytes. */
static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(*(int *)data)++;
	return MNL_CB_OK;
}

static void test_fixtures(void)
{
	size_t len = 0, i;
	char *b;
	int r, msgs = 0, bad = 0;

	b = load(FIX "igb_7vfs_set.bin", &len);
	if (!T("fixture.load_7vfs_set", b != NULL, "cannot read " FIX "igb_7vfs_set.bin"))
		return;
	T("fixture.one_message", mnl_cb_run(b, len, 0, 0, count_cb, &msgs) >= 0 && msgs == 1,
	  "%d messages in the replay", msgs);
	r = vfnl_parse_link(b, len, &L);
	T_EQ_INT("fixture.parse_7vfs_set", r, 0);
	T_EQ_STR("fixture.name", L.name, "eth0");
	T_EQ_STR("fixture.parent_bus", L.parent_bus, "pci");
	T("fixture.parent_dev", strncmp(L.parent_dev, "0000:", 5) == 0, "got \"%s\"", L.parent_dev);
	T("fixture.num_vf", L.has_num_vf && L.num_vf == 7 && L.n_vfs == 7 && !L.truncated,
	  "has %d num %u n %u trunc %d", L.has_num_vf, L.num_vf, L.n_vfs, L.truncated);
	for (i = 0; i < L.n_vfs; i++)
		if (L.vfs[i].index != i || L.vfs[i].has != 0xff)
			bad++;
	T("fixture.vf_index_and_has", bad == 0,
	  "%d VFs with index != position or has != 0xff (igb sends no RSS query); vf0 has=0x%x",
	  bad, L.vfs[0].has);
	T("fixture.vf0", mac_is(L.vfs[0].mac, "52:54:00:aa:bb:cc") && L.vfs[0].vlan == 100 &&
	  L.vfs[0].qos == 3 && L.vfs[0].vlan_proto == 0x8100 && L.vfs[0].spoofchk &&
	  L.vfs[0].trust, "vlan %u qos %u proto %04x spoof %d trust %d", L.vfs[0].vlan,
	  L.vfs[0].qos, L.vfs[0].vlan_proto, L.vfs[0].spoofchk, L.vfs[0].trust);
	T("fixture.vf1", L.vfs[1].vlan == 200 && L.vfs[1].qos == 7 && !L.vfs[1].spoofchk &&
	  !L.vfs[1].trust, "vlan %u qos %u spoof %d trust %d", L.vfs[1].vlan, L.vfs[1].qos,
	  L.vfs[1].spoofchk, L.vfs[1].trust);
	T("fixture.vf2", mac_is(L.vfs[2].mac, "02:00:00:00:02:02") && L.vfs[2].trust &&
	  L.vfs[2].vlan == 0, "trust %d vlan %u", L.vfs[2].trust, L.vfs[2].vlan);
	T("fixture.vf6", L.vfs[6].vlan == 4094 && L.vfs[6].qos == 0 &&
	  L.vfs[6].link_state == IFLA_VF_LINK_STATE_AUTO && L.vfs[6].max_tx_rate == 0,
	  "vlan %u qos %u state %u", L.vfs[6].vlan, L.vfs[6].qos, L.vfs[6].link_state);

	/* Every strict prefix is a message lying about its length. */
	for (i = 0, bad = 0; i < len; i++)
		if (vfnl_parse_link(b, i, &L) != -EBADMSG)
			bad++;
	T("fixture.every_prefix_rejected", bad == 0, "%d of %zu prefixes not -EBADMSG", bad, len);
	free(b);

	b = load(FIX "igb_7vfs_fresh.bin", &len);
	if (T("fixture.load_7vfs_fresh", b != NULL, "cannot read " FIX "igb_7vfs_fresh.bin")) {
		r = vfnl_parse_link(b, len, &L);
		T("fixture.fresh", r == 0 && L.n_vfs == 7 && L.vfs[3].vlan == 0 &&
		  L.vfs[3].spoofchk && !L.vfs[3].trust && (L.vfs[3].has & VFNL_HAS_VLAN_PROTO),
		  "r %d n %u vlan %u spoof %d trust %d", r, L.n_vfs, L.vfs[3].vlan,
		  L.vfs[3].spoofchk, L.vfs[3].trust);
		free(b);
	}
	b = load(FIX "igb_0vfs.bin", &len);
	if (T("fixture.load_0vfs", b != NULL, "cannot read " FIX "igb_0vfs.bin")) {
		r = vfnl_parse_link(b, len, &L);
		T("fixture.0vfs", r == 0 && L.has_num_vf && L.num_vf == 0 && L.n_vfs == 0 &&
		  !L.truncated, "r %d has %d num %u n %u", r, L.has_num_vf, L.num_vf, L.n_vfs);
		free(b);
	}
}

/* ---- synthetic messages ----------------------------------------------- */

static char mbuf[1 << 17];

static struct nlmsghdr *newlink(int ifindex, const char *name)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	memset(mbuf, 0, sizeof(mbuf));
	nlh = mnl_nlmsg_put_header(mbuf);
	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

/* One IFLA_VF_INFO with what a full driver sends (like igb plus RSS). */
static void put_full_vf(struct nlmsghdr *nlh, uint32_t vf)
{
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_VF_INFO), *vl;
	struct ifla_vf_mac m = { .vf = vf, .mac = { 2, 0, 0, 0, (uint8_t)(vf >> 8), (uint8_t)vf } };
	struct ifla_vf_vlan v = { .vf = vf, .vlan = vf % 4095, .qos = vf % 8 };
	struct ifla_vf_vlan_info vi = { .vf = vf, .vlan = vf % 4095, .qos = vf % 8,
					.vlan_proto = htons(0x8100) };
	struct ifla_vf_spoofchk s = { .vf = vf, .setting = 1 };
	struct ifla_vf_trust t = { .vf = vf, .setting = vf & 1 };
	struct ifla_vf_rss_query_en q = { .vf = vf, .setting = 0 };
	struct ifla_vf_link_state ls = { .vf = vf, .link_state = IFLA_VF_LINK_STATE_DISABLE };
	struct ifla_vf_rate rt = { .vf = vf, .min_tx_rate = 10, .max_tx_rate = 1000 };
	struct ifla_vf_tx_rate tr = { .vf = vf, .rate = 1000 };

	mnl_attr_put(nlh, IFLA_VF_MAC, sizeof(m), &m);
	mnl_attr_put(nlh, IFLA_VF_VLAN, sizeof(v), &v);
	vl = mnl_attr_nest_start(nlh, IFLA_VF_VLAN_LIST);
	mnl_attr_put(nlh, IFLA_VF_VLAN_INFO, sizeof(vi), &vi);
	mnl_attr_nest_end(nlh, vl);
	mnl_attr_put(nlh, IFLA_VF_TX_RATE, sizeof(tr), &tr);
	mnl_attr_put(nlh, IFLA_VF_RATE, sizeof(rt), &rt);
	mnl_attr_put(nlh, IFLA_VF_SPOOFCHK, sizeof(s), &s);
	mnl_attr_put(nlh, IFLA_VF_LINK_STATE, sizeof(ls), &ls);
	mnl_attr_put(nlh, IFLA_VF_RSS_QUERY_EN, sizeof(q), &q);
	mnl_attr_put(nlh, IFLA_VF_TRUST, sizeof(t), &t);
	mnl_attr_nest_end(nlh, info);
}

static struct nlmsghdr *many_vfs(uint32_t num_vf, uint32_t entries)
{
	struct nlmsghdr *nlh = newlink(5, "pf0");
	struct nlattr *list;
	uint32_t i;

	mnl_attr_put_u32(nlh, IFLA_NUM_VF, num_vf);
	list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	for (i = 0; i < entries; i++)
		put_full_vf(nlh, i);
	mnl_attr_nest_end(nlh, list);
	return nlh;
}

static void test_many(void)
{
	struct nlmsghdr *nlh;
	int r;

	nlh = many_vfs(256, 256);
	T("synth.256_fits_u16_nest", nlh->nlmsg_len < 65535, "message is %u bytes", nlh->nlmsg_len);
	r = vfnl_parse_link(nlh, nlh->nlmsg_len, &L);
	T("synth.256_not_truncated", r == 0 && L.n_vfs == 256 && L.num_vf == 256 && !L.truncated,
	  "r %d n %u num %u trunc %d", r, L.n_vfs, L.num_vf, L.truncated);
	T("synth.256_last", L.vfs[255].index == 255 && L.vfs[255].vlan == 255 &&
	  L.vfs[255].qos == 7 && L.vfs[255].trust && L.vfs[255].has == 0x1ff &&
	  L.vfs[255].min_tx_rate == 10 && L.vfs[255].max_tx_rate == 1000 &&
	  L.vfs[255].link_state == IFLA_VF_LINK_STATE_DISABLE && !L.vfs[255].rss_query &&
	  mac_is(L.vfs[255].mac, "02:00:00:00:00:ff"),
	  "idx %u vlan %u qos %u has 0x%x", L.vfs[255].index, L.vfs[255].vlan,
	  L.vfs[255].qos, L.vfs[255].has);

	/* The kernel cut the list: fewer entries than IFLA_NUM_VF. */
	nlh = many_vfs(256, 220);
	r = vfnl_parse_link(nlh, nlh->nlmsg_len, &L);
	T("synth.kernel_cut_truncated", r == 0 && L.n_vfs == 220 && L.num_vf == 256 && L.truncated,
	  "r %d n %u num %u trunc %d", r, L.n_vfs, L.num_vf, L.truncated);

	/* More than we keep: we cut it, and say so. */
	nlh = many_vfs(260, 260);
	r = vfnl_parse_link(nlh, nlh->nlmsg_len, &L);
	T("synth.over_max_truncated", r == 0 && L.n_vfs == VFNL_MAX_VFS && L.num_vf == 260 &&
	  L.truncated, "r %d n %u num %u trunc %d", r, L.n_vfs, L.num_vf, L.truncated);
}

static void test_missing(void)
{
	struct nlmsghdr *nlh;
	struct nlattr *list, *info, *vl;
	struct ifla_vf_mac m = { .vf = 3, .mac = { 2, 1, 2, 3, 4, 5 } };
	struct ifla_vf_vlan v = { .vf = 3, .vlan = 10, .qos = 1 };
	struct ifla_vf_vlan_info vi = { .vf = 3, .vlan = 20, .qos = 2, .vlan_proto = htons(0x88a8) };
	struct ifla_vf_spoofchk s = { .vf = 3, .setting = 0xffffffffu };
	int r;

	/* No IFLA_NUM_VF, one VF with a MAC only, spoofchk "unknown" (-1). */
	nlh = newlink(7, "x");
	list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	mnl_attr_put(nlh, IFLA_VF_MAC, sizeof(m), &m);
	mnl_attr_put(nlh, IFLA_VF_SPOOFCHK, sizeof(s), &s);
	mnl_attr_nest_end(nlh, info);
	mnl_attr_nest_end(nlh, list);
	r = vfnl_parse_link(nlh, nlh->nlmsg_len, &L);
	T("missing.mac_only", r == 0 && L.n_vfs == 1 && L.vfs[0].index == 3 &&
	  L.vfs[0].has == VFNL_HAS_MAC && !L.has_num_vf && !L.truncated &&
	  L.parent_bus[0] == '\0' && L.ifindex == 7 && (L.flags & IFF_UP),
	  "r %d n %u has 0x%x has_num_vf %d", r, L.n_vfs, L.vfs[0].has, L.has_num_vf);

	/* IFLA_VF_VLAN alone: VLAN known, protocol not. */
	nlh = newlink(7, "x");
	list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	mnl_attr_put(nlh, IFLA_VF_VLAN, sizeof(v), &v);
	mnl_attr_nest_end(nlh, info);
	mnl_attr_nest_end(nlh, list);
	r = vfnl_parse_link(nlh, nlh->nlmsg_len, &L);
	T("missing.vlan_without_list", r == 0 && L.vfs[0].has == VFNL_HAS_VLAN &&
	  L.vfs[0].vlan == 10 && L.vfs[0].qos == 1 && L.vfs[0].vlan_proto == 0,
	  "r %d has 0x%x vlan %u", r, L.vfs[0].has, L.vfs[0].vlan);

	/* Both: the list wins, whichever comes first. */
	nlh = newlink(7, "x");
	list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	vl = mnl_attr_nest_start(nlh, IFLA_VF_VLAN_LIST);
	mnl_attr_put(nlh, IFLA_VF_VLAN_INFO, sizeof(vi), &vi);
	mnl_attr_nest_end(nlh, vl);
	mnl_attr_put(nlh, IFLA_VF_VLAN, sizeof(v), &v);
	mnl_attr_nest_end(nlh, info);
	mnl_attr_nest_end(nlh, list);
	r = vfnl_parse_link(nlh, nlh->nlmsg_len, &L);
	T("missing.list_wins", r == 0 && L.vfs[0].vlan == 20 && L.vfs[0].qos == 2 &&
	  L.vfs[0].vlan_proto == 0x88a8 &&
	  L.vfs[0].has == (VFNL_HAS_VLAN | VFNL_HAS_VLAN_PROTO),
	  "r %d vlan %u proto %04x has 0x%x", r, L.vfs[0].vlan, L.vfs[0].vlan_proto, L.vfs[0].has);

	/* An IFLA_VF_INFO naming no VF, and one whose structs disagree. */
	nlh = newlink(7, "x");
	list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	mnl_attr_nest_end(nlh, info);
	mnl_attr_nest_end(nlh, list);
	T_EQ_INT("missing.empty_vf_info", vfnl_parse_link(nlh, nlh->nlmsg_len, &L), -EBADMSG);
	nlh = newlink(7, "x");
	list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
	info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	mnl_attr_put(nlh, IFLA_VF_MAC, sizeof(m), &m);
	v.vf = 4;
	mnl_attr_put(nlh, IFLA_VF_VLAN, sizeof(v), &v);
	mnl_attr_nest_end(nlh, info);
	mnl_attr_nest_end(nlh, list);
	T_EQ_INT("missing.vf_index_mismatch", vfnl_parse_link(nlh, nlh->nlmsg_len, &L), -EBADMSG);

	/* No VF list at all, no name. */
	nlh = newlink(9, NULL);
	r = vfnl_parse_link(nlh, nlh->nlmsg_len, &L);
	T("missing.bare_link", r == 0 && L.ifindex == 9 && L.name[0] == '\0' && L.n_vfs == 0 &&
	  !L.has_num_vf, "r %d", r);
}

/* A link with one attribute of the given type and payload length. */
static int with_attr(uint16_t type, const void *data, size_t len, int in_vf)
{
	struct nlmsghdr *nlh = newlink(3, "x");
	struct nlattr *list = NULL, *info = NULL;

	if (in_vf) {
		list = mnl_attr_nest_start(nlh, IFLA_VFINFO_LIST);
		info = mnl_attr_nest_start(nlh, IFLA_VF_INFO);
	}
	mnl_attr_put(nlh, type, len, data);
	if (in_vf) {
		mnl_attr_nest_end(nlh, info);
		mnl_attr_nest_end(nlh, list);
	}
	return vfnl_parse_link(nlh, nlh->nlmsg_len, &L);
}

static void test_sizes(void)
{
	static const struct { const char *name; uint16_t type; size_t len; int in_vf; } c[] = {
		{ "size.vf_mac_short", IFLA_VF_MAC, sizeof(struct ifla_vf_mac) - 1, 1 },
		{ "size.vf_mac_long", IFLA_VF_MAC, sizeof(struct ifla_vf_mac) + 4, 1 },
		{ "size.vf_vlan", IFLA_VF_VLAN, 8, 1 },
		{ "size.vf_rate", IFLA_VF_RATE, 8, 1 },
		{ "size.vf_tx_rate", IFLA_VF_TX_RATE, 4, 1 },
		{ "size.vf_spoofchk", IFLA_VF_SPOOFCHK, 4, 1 },
		{ "size.vf_trust", IFLA_VF_TRUST, 12, 1 },
		{ "size.vf_link_state", IFLA_VF_LINK_STATE, 2, 1 },
		{ "size.vf_rss", IFLA_VF_RSS_QUERY_EN, 0, 1 },
		{ "size.vf_vlan_list_2", IFLA_VF_VLAN_LIST, 2, 1 },
		{ "size.num_vf", IFLA_NUM_VF, 2, 0 },
		{ "size.operstate", IFLA_OPERSTATE, 4, 0 },
		{ "size.vfinfo_list_2", IFLA_VFINFO_LIST, 2, 0 },
	};
	uint8_t zero[64];
	size_t i;

	memset(zero, 0, sizeof(zero));
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		T_EQ_INT(c[i].name, with_attr(c[i].type, zero, c[i].len, c[i].in_vf), -EBADMSG);
	T_EQ_INT("size.ifname_no_nul", with_attr(IFLA_IFNAME, "eth0", 4, 0), -EBADMSG);
	T_EQ_INT("size.ifname_too_long", with_attr(IFLA_IFNAME, "abcdefghijklmnopqrst", 21, 0), -EBADMSG);
	T_EQ_INT("size.parent_too_long_is_empty",
		 with_attr(IFLA_PARENT_DEV_NAME,
			   "0000:00:02.0-this-name-is-much-longer-than-sixty-four-bytes-really", 67, 0) == 0 &&
		 L.parent_dev[0] == '\0', 1);
	T_EQ_INT("size.address_ipv4_ignored", with_attr(IFLA_ADDRESS, "\1\2\3\4", 4, 0), 0);
}

static void test_lies(void)
{
	struct nlmsghdr *nlh;
	struct nlattr *a;
	char *p;
	int r;

	memset(&L, 0xaa, sizeof(L));
	nlh = many_vfs(2, 2);
	nlh->nlmsg_len += 8;	/* says more than there is */
	r = vfnl_parse_link(nlh, nlh->nlmsg_len - 8, &L);
	T("lie.nlmsg_len_past_buffer", r == -EBADMSG && L.ifindex == (int)0xaaaaaaaa,
	  "r %d (and ret must be untouched)", r);

	nlh = many_vfs(2, 2);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 8;	/* shorter than ifinfomsg */
	T_EQ_INT("lie.nlmsg_len_short", vfnl_parse_link(nlh, 64, &L), -EBADMSG);

	nlh = many_vfs(2, 2);
	a = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct ifinfomsg));
	a->nla_len = 3;	/* the IFNAME attr: less than a header */
	T_EQ_INT("lie.attr_len_below_header", vfnl_parse_link(nlh, nlh->nlmsg_len, &L), -EBADMSG);

	nlh = many_vfs(2, 2);
	a = mnl_nlmsg_get_payload_offset(nlh, sizeof(struct ifinfomsg));
	a->nla_len = 4000;	/* runs past the message */
	T_EQ_INT("lie.attr_len_past_message", vfnl_parse_link(nlh, nlh->nlmsg_len, &L), -EBADMSG);

	/* The first IFLA_VF_INFO claims more than its IFLA_VFINFO_LIST holds. */
	nlh = many_vfs(2, 2);
	p = (char *)mnl_nlmsg_get_payload_offset(nlh, sizeof(struct ifinfomsg));
	p += MNL_ALIGN(((struct nlattr *)p)->nla_len);		/* IFNAME */
	p += MNL_ALIGN(((struct nlattr *)p)->nla_len);		/* NUM_VF */
	a = (struct nlattr *)(p + MNL_ATTR_HDRLEN);		/* first VF_INFO */
	a->nla_len = (uint16_t)(((struct nlattr *)p)->nla_len);
	T_EQ_INT("lie.nested_past_parent", vfnl_parse_link(nlh, nlh->nlmsg_len, &L), -EBADMSG);

	/* The message is fine but the buffer ends inside its aligned tail. */
	nlh = newlink(3, NULL);
	mnl_attr_put_u8(nlh, IFLA_OPERSTATE, 6);
	nlh->nlmsg_len -= 3;	/* u8 attr: 5 bytes + 3 padding */
	T_EQ_INT("lie.unaligned_end_past_buffer", vfnl_parse_link(nlh, nlh->nlmsg_len, &L), -EBADMSG);

	T_EQ_INT("lie.empty", vfnl_parse_link(mbuf, 0, &L), -EBADMSG);

	/* nlmsg_len >= 2^31: libmnl's mnl_nlmsg_ok() takes it as negative and
	 * mnl_nlmsg_next() jumps out of the buffer (found by the fuzzer). */
	nlh = newlink(3, NULL);
	nlh->nlmsg_type = 0xeeee;
	nlh->nlmsg_len = 0xeeee0a0au;
	T_EQ_INT("lie.nlmsg_len_2g", vfnl_parse_link(nlh, 64, &L), -EBADMSG);

	/* An NLMSG_ERROR instead of the link: its errno comes back. */
	{
		struct nlmsgerr *e;

		memset(mbuf, 0, 256);
		nlh = mnl_nlmsg_put_header(mbuf);
		nlh->nlmsg_type = NLMSG_ERROR;
		e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
		e->error = -ENODEV;
		T_EQ_INT("lie.nlmsg_error", vfnl_parse_link(nlh, nlh->nlmsg_len, &L), -ENODEV);
	}
}

/* ---- NLMSG_ERROR and the kernel's extended ack ----------------------- */

static void test_errors(void)
{
	static const char *fx[] = { FIX "extack_cap.bin", FIX "extack_nocap.bin" };
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;
	char msg[256], *b;
	size_t len, i, k;
	int r, bad;

	for (k = 0; k < 2; k++) {
		b = load(fx[k], &len);
		if (!T(k ? "extack.load_nocap" : "extack.load_cap", b != NULL, "cannot read %s", fx[k]))
			continue;
		r = vfnl_parse_error(b, len, msg, sizeof(msg));
		T(k ? "extack.kernel_nocap" : "extack.kernel_cap",
		  r < 0 && r != -EBADMSG && strcmp(msg, "Attribute failed policy validation") == 0,
		  "r %d msg \"%s\"", r, msg);
		for (i = 0, bad = 0; i < len; i++)
			if (vfnl_parse_error(b, i, msg, sizeof(msg)) != -EBADMSG)
				bad++;
		T(k ? "extack.prefixes_nocap" : "extack.prefixes_cap", bad == 0,
		  "%d of %zu prefixes not -EBADMSG", bad, len);
		free(b);
	}

	/* A plain ACK, and an error without TLVs. */
	memset(mbuf, 0, 512);
	nlh = mnl_nlmsg_put_header(mbuf);
	nlh->nlmsg_type = NLMSG_ERROR;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	strcpy(msg, "stale");
	T("extack.ack", vfnl_parse_error(nlh, nlh->nlmsg_len, msg, sizeof(msg)) == 0 && !msg[0],
	  "msg \"%s\"", msg);
	e->error = -EPERM;
	T_EQ_INT("extack.no_tlvs", vfnl_parse_error(nlh, nlh->nlmsg_len, msg, sizeof(msg)), -EPERM);

	/* Capped, with a message that is not NUL-terminated: errno, no text. */
	nlh->nlmsg_flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
	mnl_attr_put(nlh, NLMSGERR_ATTR_MSG, 4, "oops");
	r = vfnl_parse_error(nlh, nlh->nlmsg_len, msg, sizeof(msg));
	T("extack.msg_not_nul", r == -EPERM && !msg[0], "r %d msg \"%s\"", r, msg);

	/* Not capped, and the echoed request claims to be longer than all. */
	nlh->nlmsg_flags = NLM_F_ACK_TLVS;
	e->msg.nlmsg_len = 4096;
	strcpy(msg, "untouched");
	r = vfnl_parse_error(nlh, nlh->nlmsg_len, msg, sizeof(msg));
	T("extack.echo_len_lie", r == -EBADMSG && strcmp(msg, "untouched") == 0,
	  "r %d msg \"%s\"", r, msg);
	T_EQ_INT("extack.short_nlmsgerr", vfnl_parse_error(nlh, 20, msg, sizeof(msg)), -EBADMSG);
	T_EQ_INT("extack.no_error_msg", vfnl_parse_error(newlink(1, "x"), 40, msg, sizeof(msg)), -EBADMSG);
}

/* ---- builder ----------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void test_build(void)
{
	uint8_t buf[2048], want[80];
	struct vfnl_vf_set s[2];
	int n, i, bad;

	/* One VF, MAC only: every byte, host-order netlink. */
	memset(s, 0, sizeof(s));
	s[0].index = 2;
	s[0].set = VFNL_SET_MAC;
	memcpy(s[0].mac, "\x52\x54\x00\x12\x34\x56", 6);
	memset(buf, 0xff, sizeof(buf));	/* padding must come out zero */
	n = vfnl_build_set_vfs(buf, sizeof(buf), 0x01020304, 9, s, 1);
	memset(want, 0, sizeof(want));
	put32(want + 0, 80);			/* nlmsg_len */
	put16(want + 4, RTM_SETLINK);
	put16(want + 6, NLM_F_REQUEST | NLM_F_ACK);
	put32(want + 8, 0x01020304);		/* seq; pid 0 */
	put32(want + 20, 9);			/* ifinfomsg: family 0, index 9 */
	put16(want + 32, 48);			/* IFLA_VFINFO_LIST */
	put16(want + 34, NLA_F_NESTED | IFLA_VFINFO_LIST);
	put16(want + 36, 44);			/*  IFLA_VF_INFO */
	put16(want + 38, NLA_F_NESTED | IFLA_VF_INFO);
	put16(want + 40, 40);			/*   IFLA_VF_MAC */
	put16(want + 42, IFLA_VF_MAC);
	put32(want + 44, 2);			/*   .vf */
	memcpy(want + 48, "\x52\x54\x00\x12\x34\x56", 6);	/* .mac[32] */
	T_EQ_INT("build.mac_len", n, 80);
	for (i = 0, bad = -1; i < 80 && n == 80; i++)
		if (buf[i] != want[i]) {
			bad = i;
			break;
		}
	T("build.mac_bytes", n == 80 && bad < 0, "byte %d is 0x%02x, want 0x%02x", bad,
	  bad >= 0 ? buf[bad] : 0, bad >= 0 ? want[bad] : 0);

	/* Two VFs, every setting; parse it back as if the kernel had sent it. */
	memset(s, 0, sizeof(s));
	s[0].index = 0;
	s[0].set = VFNL_SET_MAC | VFNL_SET_VLAN | VFNL_SET_SPOOFCHK | VFNL_SET_TRUST;
	memcpy(s[0].mac, "\x52\x54\x00\xaa\xbb\xcc", 6);
	s[0].vlan = 100;
	s[0].qos = 3;
	s[0].spoofchk = true;
	s[0].trust = true;
	s[1].index = 5;
	s[1].set = VFNL_SET_VLAN | VFNL_SET_RATE | VFNL_SET_LINK_STATE | VFNL_SET_SPOOFCHK;
	s[1].vlan = 4000;
	s[1].qos = 7;
	s[1].vlan_proto = 0x88a8;
	s[1].min_tx_rate = 100;
	s[1].max_tx_rate = 900;
	s[1].link_state = IFLA_VF_LINK_STATE_ENABLE;
	memset(buf, 0xff, sizeof(buf));
	n = vfnl_build_set_vfs(buf, sizeof(buf), 7, 4, s, 2);
	T("build.two_vfs", n > 0 && (uint32_t)n == ((struct nlmsghdr *)buf)->nlmsg_len,
	  "n %d", n);
	{
		/* The 802.1ad tag goes in IFLA_VF_VLAN_LIST, protocol big-endian. */
		static const uint8_t tag[] = { 0x88, 0xa8 };
		int found = 0;

		for (i = 0; i + 2 <= n; i++)
			if (memcmp(buf + i, tag, 2) == 0)
				found++;
		T("build.proto_network_order", found == 1, "%d copies of 88 a8", found);
	}
	((struct nlmsghdr *)buf)->nlmsg_type = RTM_NEWLINK;
	T_EQ_INT("build.parses_back", vfnl_parse_link(buf, (size_t)n, &L), 0);
	T("build.vf0_back", L.n_vfs == 2 && L.vfs[0].index == 0 &&
	  mac_is(L.vfs[0].mac, "52:54:00:aa:bb:cc") && L.vfs[0].vlan == 100 &&
	  L.vfs[0].qos == 3 && L.vfs[0].spoofchk && L.vfs[0].trust &&
	  L.vfs[0].has == (VFNL_HAS_MAC | VFNL_HAS_VLAN | VFNL_HAS_SPOOFCHK | VFNL_HAS_TRUST),
	  "n %u has 0x%x", L.n_vfs, L.vfs[0].has);
	T("build.vf1_back", L.vfs[1].index == 5 && L.vfs[1].vlan == 4000 && L.vfs[1].qos == 7 &&
	  L.vfs[1].vlan_proto == 0x88a8 && L.vfs[1].min_tx_rate == 100 &&
	  L.vfs[1].max_tx_rate == 900 && L.vfs[1].link_state == IFLA_VF_LINK_STATE_ENABLE &&
	  !L.vfs[1].spoofchk && !(L.vfs[1].has & VFNL_HAS_MAC),
	  "vlan %u proto %04x has 0x%x", L.vfs[1].vlan, L.vfs[1].vlan_proto, L.vfs[1].has);
	{
		/* ifla_vf_mac is 36 bytes with 26 unused: zero, not 0xff. */
		const uint8_t *m = buf + 16 + 16 + 4 + 4 + 4 + 4 + 6;
		int nz = 0;

		for (i = 0; i < 26; i++)
			nz += m[i] != 0;
		T("build.struct_padding_zeroed", nz == 0, "%d non-zero padding bytes", nz);
	}

	/* Every buffer one byte short of the need says -EMSGSIZE. */
	for (i = 0, bad = 0; i < n; i++)
		if (vfnl_build_set_vfs(buf, (size_t)i, 7, 4, s, 2) != -EMSGSIZE)
			bad++;
	T("build.short_buffers", bad == 0, "%d short lengths not -EMSGSIZE", bad);
	T_EQ_INT("build.exact_buffer", vfnl_build_set_vfs(buf, (size_t)n, 7, 4, s, 2), n);
	T_EQ_INT("build.no_sets", vfnl_build_set_vfs(buf, sizeof(buf), 7, 4, s, 0), -EINVAL);
	T_EQ_INT("build.bad_ifindex", vfnl_build_set_vfs(buf, sizeof(buf), 7, 0, s, 1), -EINVAL);
	s[0].set |= 1u << 20;
	T_EQ_INT("build.unknown_bits", vfnl_build_set_vfs(buf, sizeof(buf), 7, 4, s, 1), -EINVAL);
	{
		/* 256 VFs with everything: must fit the 16-bit nest length. */
		static struct vfnl_vf_set all[VFNL_MAX_VFS];
		static uint8_t big[65536 + 256];

		for (i = 0; i < VFNL_MAX_VFS; i++) {
			all[i].index = (uint32_t)i;
			all[i].set = VFNL_SET_MAC | VFNL_SET_VLAN | VFNL_SET_SPOOFCHK |
				     VFNL_SET_TRUST | VFNL_SET_LINK_STATE | VFNL_SET_RATE;
			all[i].vlan_proto = 0x8100;
		}
		n = vfnl_build_set_vfs(big, sizeof(big), 1, 4, all, VFNL_MAX_VFS);
		T("build.256_vfs", n > 0 && n < 65536, "n %d", n);
		((struct nlmsghdr *)big)->nlmsg_type = RTM_NEWLINK;
		T("build.256_parse_back", n > 0 && vfnl_parse_link(big, (size_t)n, &L) == 0 &&
		  L.n_vfs == VFNL_MAX_VFS, "n_vfs %u", L.n_vfs);
		T_EQ_INT("build.257_vfs", vfnl_build_set_vfs(big, sizeof(big), 1, 4, all,
							     VFNL_MAX_VFS + 1), -EINVAL);
	}
}

int main(void)
{
	test_fixtures();
	test_many();
	test_missing();
	test_sizes();
	test_lies();
	test_errors();
	test_build();
	return t_done();
}
