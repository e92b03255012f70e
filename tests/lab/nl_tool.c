/* nl_tool: drives nl/ from shell tests (root netns tests and the lab).
 *
 *   nl_tool get IFNAME                  parsed link + VFs, one line each
 *   nl_tool ifindex IFNAME
 *   nl_tool findpci PCI-ADDR
 *   nl_tool up|down|pfup IFNAME
 *   nl_tool set IFNAME vf N [mac M] [vlan V] [qos Q] [proto 802.1Q|802.1ad|0xNNNN]
 *               [spoofchk on|off] [trust on|off] [state auto|enable|disable]
 *               [rate MIN MAX] [vf N ...]      all in ONE RTM_SETLINK
 *   nl_tool record IFNAME FILE          raw GETLINK reply (RTM_NEWLINK) bytes
 *   nl_tool badreq IFNAME cap|nocap [FILE]  RTM_SETLINK whose IFLA_VFINFO_LIST
 *               fails the kernel's attribute policy (ext-ack text expected);
 *               the NLMSG_ERROR is parsed by vfnl_parse_error() (and saved)
 *
 * Errors print "error <ERRNO-NAME> kernel=<0|1> msg=<text>" and exit 1
 * (2 for usage).  A test tool: it may print, nl/ may not. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "nl/vfnl.h"

static int usage(void)
{
	fprintf(stderr, "usage: nl_tool get|ifindex|findpci|up|down|pfup|set|record ...\n");
	return 2;
}

static int nlerr(struct vfnl *nl, int r)
{
	const char *name = strerrorname_np(-r);

	printf("error %s kernel=%d msg=%s\n", name ? name : "?",
	       vfnl_errmsg_is_kernel(nl) ? 1 : 0, vfnl_errmsg(nl));
	return 1;
}

static void print_link(const struct vfnl_link *l)
{
	uint32_t i;

	printf("link ifindex=%d name=%s flags=0x%x up=%d operstate=%u "
	       "addr=%02x:%02x:%02x:%02x:%02x:%02x parent_bus=%s parent_dev=%s "
	       "has_num_vf=%d num_vf=%u n_vfs=%u truncated=%d\n",
	       l->ifindex, l->name, l->flags, (l->flags & IFF_UP) ? 1 : 0,
	       l->operstate, l->addr[0], l->addr[1], l->addr[2], l->addr[3],
	       l->addr[4], l->addr[5], l->parent_bus[0] ? l->parent_bus : "-",
	       l->parent_dev[0] ? l->parent_dev : "-", l->has_num_vf ? 1 : 0,
	       l->num_vf, l->n_vfs, l->truncated ? 1 : 0);
	for (i = 0; i < l->n_vfs; i++) {
		const struct vfnl_vf *v = &l->vfs[i];

		printf("vf %u has=0x%x mac=%02x:%02x:%02x:%02x:%02x:%02x vlan=%u "
		       "qos=%u proto=0x%04x spoofchk=%d trust=%d link_state=%u "
		       "rss_query=%d min_tx_rate=%u max_tx_rate=%u\n",
		       v->index, v->has, v->mac[0], v->mac[1], v->mac[2],
		       v->mac[3], v->mac[4], v->mac[5], v->vlan, v->qos,
		       v->vlan_proto, v->spoofchk, v->trust, v->link_state,
		       v->rss_query, v->min_tx_rate, v->max_tx_rate);
	}
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int onoff(const char *s)
{
	return strcmp(s, "on") == 0 ? 1 : strcmp(s, "off") == 0 ? 0 : -1;
}

/* argv: vf N key val ... vf N ... */
static int cmd_set(struct vfnl *nl, int ifindex, int argc, char **argv)
{
	struct vfnl_vf_set sets[VFNL_MAX_VFS];
	size_t n = 0;
	int i, r;

	memset(sets, 0, sizeof(sets));
	for (i = 0; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		struct vfnl_vf_set *s = n ? &sets[n - 1] : NULL;

		if (!v)
			return usage();
		i++;
		if (strcmp(k, "vf") == 0) {
			if (n == VFNL_MAX_VFS)
				return usage();
			sets[n++].index = (uint32_t)strtoul(v, NULL, 0);
			continue;
		}
		if (!s)
			return usage();
		if (strcmp(k, "mac") == 0) {
			if (parse_mac(v, s->mac) < 0)
				return usage();
			s->set |= VFNL_SET_MAC;
		} else if (strcmp(k, "vlan") == 0) {
			s->vlan = (uint16_t)strtoul(v, NULL, 0);
			s->set |= VFNL_SET_VLAN;
		} else if (strcmp(k, "qos") == 0) {
			s->qos = (uint8_t)strtoul(v, NULL, 0);
			s->set |= VFNL_SET_VLAN;
		} else if (strcmp(k, "proto") == 0) {
			s->vlan_proto = strcmp(v, "802.1Q") == 0 ? 0x8100 :
					strcmp(v, "802.1ad") == 0 ? 0x88a8 :
					(uint16_t)strtoul(v, NULL, 0);
			s->set |= VFNL_SET_VLAN;
		} else if (strcmp(k, "spoofchk") == 0 && onoff(v) >= 0) {
			s->spoofchk = onoff(v);
			s->set |= VFNL_SET_SPOOFCHK;
		} else if (strcmp(k, "trust") == 0 && onoff(v) >= 0) {
			s->trust = onoff(v);
			s->set |= VFNL_SET_TRUST;
		} else if (strcmp(k, "state") == 0) {
			s->link_state = strcmp(v, "auto") == 0 ? IFLA_VF_LINK_STATE_AUTO :
					strcmp(v, "enable") == 0 ? IFLA_VF_LINK_STATE_ENABLE :
					IFLA_VF_LINK_STATE_DISABLE;
			s->set |= VFNL_SET_LINK_STATE;
		} else if (strcmp(k, "rate") == 0 && i + 1 < argc) {
			s->min_tx_rate = (uint32_t)strtoul(v, NULL, 0);
			s->max_tx_rate = (uint32_t)strtoul(argv[++i], NULL, 0);
			s->set |= VFNL_SET_RATE;
		} else {
			return usage();
		}
	}
	r = vfnl_set_vfs(nl, ifindex, sets, n);
	if (r < 0)
		return nlerr(nl, r);
	printf("ok\n");
	return 0;
}

/* Raw bytes of the kernel's reply to the GETLINK vfnl sends, for fixtures. */
static int cmd_record(int ifindex, const char *file)
{
	char req[256], *buf;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct mnl_socket *s;
	uint32_t mask = RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS;
	size_t cap = 1 << 20;
	ssize_t n;
	FILE *f;

	buf = malloc(cap);
	s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!buf || !s || mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("record: socket");
		return 1;
	}
	memset(req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, mask);
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0 ||
	    (n = mnl_socket_recvfrom(s, buf, cap)) < 0) {
		perror("record: netlink");
		return 1;
	}
	f = fopen(file, "wb");
	if (!f || fwrite(buf, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0) {
		perror(file);
		return 1;
	}
	printf("recorded %zd bytes\n", n);
	mnl_socket_close(s);
	free(buf);
	return 0;
}

static int cmd_badreq(int ifindex, const char *mode, const char *file)
{
	char req[256], buf[8192], msg[256];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct mnl_socket *s;
	int one = 1, cap = strcmp(mode, "cap") == 0, r;
	ssize_t n;

	s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!s || mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    (cap && mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)) {
		perror("badreq: socket");
		return 1;
	}
	memset(req, 0, sizeof(req));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_SETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put(nlh, IFLA_VFINFO_LIST, 2, "\0");	/* a nest shorter than a header */
	if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0 ||
	    (n = mnl_socket_recvfrom(s, buf, sizeof(buf))) < 0) {
		perror("badreq: netlink");
		return 1;
	}
	mnl_socket_close(s);
	if (file) {
		FILE *f = fopen(file, "wb");

		if (!f || fwrite(buf, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0) {
			perror(file);
			return 1;
		}
	}
	r = vfnl_parse_error(buf, (size_t)n, msg, sizeof(msg));
	printf("error %s kernel=%d msg=%s\n", r ? strerrorname_np(-r) : "0", msg[0] != 0, msg);
	return 1;
}

int main(int argc, char **argv)
{
	struct vfnl *nl = NULL;
	struct vfnl_link *l;
	int r, ifindex = 0, rc = 1;

	if (argc < 3)
		return usage();
	l = calloc(1, sizeof(*l));
	if (!l)
		return 1;
	r = vfnl_open(&nl);
	if (r < 0) {
		fprintf(stderr, "vfnl_open: %s\n", strerror(-r));
		goto out;
	}
	if (strcmp(argv[1], "findpci") == 0) {
		r = vfnl_find_pci(nl, argv[2], l);
		if (r < 0) {
			rc = nlerr(nl, r);
			goto out;
		}
		print_link(l);
		rc = 0;
		goto out;
	}
	r = vfnl_ifindex(nl, argv[2], &ifindex);
	if (r < 0) {
		rc = nlerr(nl, r);
		goto out;
	}
	if (strcmp(argv[1], "ifindex") == 0) {
		printf("%d\n", ifindex);
		rc = 0;
	} else if (strcmp(argv[1], "get") == 0) {
		r = vfnl_get_link(nl, ifindex, NULL, l);
		if (r < 0) {
			rc = nlerr(nl, r);
			goto out;
		}
		print_link(l);
		rc = 0;
	} else if (strcmp(argv[1], "up") == 0 || strcmp(argv[1], "down") == 0) {
		r = vfnl_set_up(nl, ifindex, argv[1][0] == 'u');
		rc = r < 0 ? nlerr(nl, r) : (printf("ok\n"), 0);
	} else if (strcmp(argv[1], "pfup") == 0) {
		r = vfnl_pf_up(nl, ifindex);
		rc = r < 0 ? nlerr(nl, r) : (printf("ok\n"), 0);
	} else if (strcmp(argv[1], "set") == 0) {
		rc = cmd_set(nl, ifindex, argc - 3, argv + 3);
	} else if (strcmp(argv[1], "badreq") == 0 && argc >= 4) {
		rc = cmd_badreq(ifindex, argv[3], argc > 4 ? argv[4] : NULL);
	} else if (strcmp(argv[1], "record") == 0 && argc == 4) {
		rc = cmd_record(ifindex, argv[3]);
	} else {
		rc = usage();
	}
out:
	vfnl_close(nl);
	free(l);
	return rc;
}
