/* vfnl: SR-IOV VF control over raw rtnetlink (libmnl).
 *
 * Mechanism only: every function returns 0 or -errno and never prints.
 * After a failure, vfnl_errmsg() gives the kernel's extended-ack text when
 * the kernel sent one, else a short description of what failed.
 */
#ifndef VFAGENT_VFNL_H
#define VFAGENT_VFNL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VFNL_MAX_VFS 256	/* VFs kept per link; more sets truncated */

struct vfnl;			/* opaque: one NETLINK_ROUTE socket */

/* Which fields of struct vfnl_vf the driver sent (absent is not zero). */
enum {
	VFNL_HAS_MAC        = 1u << 0,
	VFNL_HAS_VLAN       = 1u << 1,	/* IFLA_VF_VLAN or IFLA_VF_VLAN_LIST */
	VFNL_HAS_VLAN_PROTO = 1u << 2,	/* came from IFLA_VF_VLAN_LIST */
	VFNL_HAS_SPOOFCHK   = 1u << 3,
	VFNL_HAS_TRUST      = 1u << 4,
	VFNL_HAS_LINK_STATE = 1u << 5,
	VFNL_HAS_RATE       = 1u << 6,	/* IFLA_VF_RATE (min and max) */
	VFNL_HAS_TX_RATE    = 1u << 7,	/* legacy IFLA_VF_TX_RATE */
	VFNL_HAS_RSS_QUERY  = 1u << 8,
};

struct vfnl_vf {
	uint32_t index;
	uint32_t has;		/* VFNL_HAS_* */
	uint8_t mac[6];
	uint16_t vlan;		/* 0 = none */
	uint8_t qos;
	uint16_t vlan_proto;	/* host order: 0x8100 (802.1Q) or 0x88a8 (802.1ad) */
	bool spoofchk;
	bool trust;
	bool rss_query;
	uint32_t link_state;	/* IFLA_VF_LINK_STATE_AUTO/ENABLE/DISABLE */
	uint32_t min_tx_rate;	/* Mbit/s, 0 = unlimited */
	uint32_t max_tx_rate;	/* Mbit/s, 0 = unlimited */
};

struct vfnl_link {
	int ifindex;
	char name[IF_NAMESIZE];
	unsigned int flags;	/* IFF_* from ifinfomsg */
	uint8_t operstate;	/* IF_OPER_* */
	uint8_t addr[6];
	char parent_bus[32];	/* IFLA_PARENT_DEV_BUS_NAME, e.g. "pci"; "" if absent */
	char parent_dev[64];	/* IFLA_PARENT_DEV_NAME, e.g. "0000:00:02.0" */
	bool has_num_vf;
	uint32_t num_vf;	/* IFLA_NUM_VF: what the kernel says exists */
	uint32_t n_vfs;		/* entries parsed into vfs[] */
	bool truncated;		/* n_vfs < num_vf: the kernel (or we) cut the list */
	struct vfnl_vf vfs[VFNL_MAX_VFS];	/* past n_vfs: not written */
};

/* The bytes of l that hold its data (the fields, then n_vfs entries):
 * what vfnl copies into a caller's link, not the 10 KiB of the struct. */
size_t vfnl_link_size(const struct vfnl_link *l);

/* Which fields of struct vfnl_vf_set to apply. */
enum {
	VFNL_SET_MAC        = 1u << 0,
	VFNL_SET_VLAN       = 1u << 1,	/* vlan + qos (+ vlan_proto if non-zero) */
	VFNL_SET_SPOOFCHK   = 1u << 2,
	VFNL_SET_TRUST      = 1u << 3,
	VFNL_SET_LINK_STATE = 1u << 4,
	VFNL_SET_RATE       = 1u << 5,	/* min_tx_rate + max_tx_rate */
};

struct vfnl_vf_set {
	uint32_t index;
	uint32_t set;		/* VFNL_SET_* */
	uint8_t mac[6];
	uint16_t vlan;
	uint8_t qos;
	uint16_t vlan_proto;	/* host order; 0 means 802.1Q via IFLA_VF_VLAN */
	bool spoofchk;
	bool trust;
	uint32_t link_state;
	uint32_t min_tx_rate;
	uint32_t max_tx_rate;
};

/* Opens a NETLINK_ROUTE socket (SOCK_CLOEXEC, ext-ack, cap-ack).
 * *ret is owned by the caller; free with vfnl_close(). */
int vfnl_open(struct vfnl **ret);
void vfnl_close(struct vfnl *nl);	/* accepts NULL */

/* Text of the last failure on this handle ("" if none). Owned by nl. */
const char *vfnl_errmsg(const struct vfnl *nl);

/* True when vfnl_errmsg() is the kernel's extended-ack text (NLMSGERR_ATTR_MSG),
 * false when it is vfnl's own description because the kernel sent none
 * (do_setvfinfo() sends none for most VF errors, e.g. on 6.1 and 6.18). */
bool vfnl_errmsg_is_kernel(const struct vfnl *nl);

/* Resolves a netdev name to its ifindex. -ENODEV if there is none. */
int vfnl_ifindex(struct vfnl *nl, const char *name, int *ret_ifindex);

/* Reads one link with its VFs (RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS),
 * by ifindex, or by name when ifindex is 0. ret is caller memory. */
int vfnl_get_link(struct vfnl *nl, int ifindex, const char *name,
		  struct vfnl_link *ret);

/* Finds the netdev whose parent device is the PCI function pci_addr
 * ("0000:00:02.0") by a link dump. -ENODEV if none. */
int vfnl_find_pci(struct vfnl *nl, const char *pci_addr, struct vfnl_link *ret);

/* Parses one RTM_NEWLINK message (buf, len: whole netlink messages, as
 * received) into ret. No socket: tests replay recorded bytes. -EBADMSG on
 * malformed input. */
int vfnl_parse_link(const void *buf, size_t len, struct vfnl_link *ret);

/* Parses the first NLMSG_ERROR in buf (whole netlink messages, as received;
 * no socket).  Returns its error as -errno (0 for an ACK), or -EBADMSG if
 * there is none or it is malformed.  Copies the kernel's extended-ack text
 * (NLMSGERR_ATTR_MSG) into msg (caller memory, msglen bytes), "" if none. */
int vfnl_parse_error(const void *buf, size_t len, char *msg, size_t msglen);

/* Applies n VF settings in ONE RTM_SETLINK with one ACK. On error the
 * kernel's message is in vfnl_errmsg(). Beware: the kernel applies the
 * IFLA_VF_INFO entries in order (and MAC, VLAN, rate, spoofchk, link state,
 * trust within one) and stops at the first failure; what came before stays
 * applied (seen on igb, tests/lab/t_10_nl.sh nl.partial_apply_in_order).
 * Validate values before calling if all-or-nothing matters. */
int vfnl_set_vfs(struct vfnl *nl, int ifindex, const struct vfnl_vf_set *sets,
		 size_t n);

/* Builds that RTM_SETLINK into buf (no I/O). Returns the message length or
 * -errno (-EMSGSIZE if buflen is too small, -EINVAL on bad input). */
int vfnl_build_set_vfs(void *buf, size_t buflen, uint32_t seq, int ifindex,
		       const struct vfnl_vf_set *sets, size_t n);

/* Sets IFF_UP on or off (ifi_change = IFF_UP only). */
int vfnl_set_up(struct vfnl *nl, int ifindex, bool up);

/* Brings a PF up with no addresses: IPv6 address generation mode "none"
 * first (IFLA_AF_SPEC/AF_INET6/IFLA_INET6_ADDR_GEN_MODE), then IFF_UP. */
int vfnl_pf_up(struct vfnl *nl, int ifindex);

/* Every link, without VF tables, through cb (removed is always false). */
typedef void (*vfnl_monitor_cb)(const struct vfnl_link *l, bool removed, void *ud);
int vfnl_dump_links(struct vfnl *nl, vfnl_monitor_cb cb, void *ud);

/* Link notifications (RTNLGRP_LINK), for the daemon's watch. */
int vfnl_monitor_open(struct vfnl **ret);
int vfnl_fd(const struct vfnl *nl);
int vfnl_monitor_read(struct vfnl *nl, vfnl_monitor_cb cb, void *ud);
int vfnl_monitor_read_n(struct vfnl *nl, unsigned int max, vfnl_monitor_cb cb,
			void *ud);	/* at most max datagrams, 0: all */

#endif
