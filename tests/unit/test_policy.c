/* The policy layer without the lab: alloc, release and reconcile decisions
 * on a fake sysfs/dev tree (the lab's igb PF 0000:00:02.0 with its 7 VFs on
 * vfio-pci, one IOMMU group each) and a vfnl replay of the lab's recorded
 * GETLINK reply (tests/fixtures/nl/igb_7vfs_fresh.bin: real bytes from the
 * igb driver, the PF down, 7 fresh VFs). The replay applies every
 * RTM_SETLINK to those bytes as the kernel would and keeps it, so each
 * check says exactly what the agent sent. No root, no kernel. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent_priv.h"
#include "nl/vfnl_priv.h"
#include "tests/unit/t.h"
#include "tests/unit/t_fixture.h"

#define FIX "tests/fixtures/nl/igb_7vfs_fresh.bin"
#define PF_PCI "0000:00:02.0"

static const char *const vf_pci[7] = {
	"0000:00:12.0", "0000:00:12.2", "0000:00:12.4", "0000:00:12.6",
	"0000:00:13.0", "0000:00:13.2", "0000:00:13.4",
};

static char top[128];
static char conf_path[256], state_path[256], sys_path[256], dev_path[256];

static void put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void mk(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	mkdir(p, 0755);
}

static void ln(const char *target, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (symlink(target, p))
		perror(p);
}

/* Copies every file of fixture folder src into top/rel. */
static void copy_dir(const char *src, const char *rel)
{
	if (t_copy_dir(top, src, rel))
		printf("# cannot copy %s\n", src);
}

/* The lab's PF and VFs as sysfs lays them out, every VF on vfio-pci. */
static void tree(void)
{
	static const char *const dirs[] = { "sys", "sys/bus", "sys/bus/pci",
		"sys/bus/pci/devices", "sys/bus/pci/drivers",
		"sys/bus/pci/drivers/vfio-pci", "sys/kernel",
		"sys/kernel/iommu_groups", "sys/bus/pci/devices/" PF_PCI, "dev",
		"dev/vfio", NULL };
	char a[256], b[256];

	for (int i = 0; dirs[i]; i++)
		mk(dirs[i]);
	/* Config space and attributes as recorded from the lab's igb. */
	copy_dir("tests/fixtures/pci/igb_pf", "sys/bus/pci/devices/" PF_PCI);
	put("sys/bus/pci/devices/" PF_PCI "/sriov_totalvfs", "7\n");
	put("sys/bus/pci/devices/" PF_PCI "/sriov_numvfs", "7\n");
	for (int i = 0; i < 7; i++) {
		int g = 10 + i;

		snprintf(a, sizeof(a), "sys/bus/pci/devices/%s", vf_pci[i]);
		mk(a);
		copy_dir("tests/fixtures/pci/igb_vf", a);
		snprintf(a, sizeof(a), "../%s", vf_pci[i]);
		snprintf(b, sizeof(b), "sys/bus/pci/devices/" PF_PCI "/virtfn%d", i);
		ln(a, b);
		snprintf(b, sizeof(b), "sys/bus/pci/devices/%s/driver", vf_pci[i]);
		ln("../../../../bus/pci/drivers/vfio-pci", b);
		snprintf(a, sizeof(a), "sys/kernel/iommu_groups/%d", g);
		mk(a);
		snprintf(a, sizeof(a), "sys/kernel/iommu_groups/%d/devices", g);
		mk(a);
		snprintf(a, sizeof(a), "../../../../kernel/iommu_groups/%d", g);
		snprintf(b, sizeof(b), "sys/bus/pci/devices/%s/iommu_group", vf_pci[i]);
		ln(a, b);
		snprintf(a, sizeof(a), "../../../../bus/pci/devices/%s", vf_pci[i]);
		snprintf(b, sizeof(b), "sys/kernel/iommu_groups/%d/devices/%s", g, vf_pci[i]);
		ln(a, b);
		snprintf(a, sizeof(a), "%s/dev/vfio/%d", top, g);
		close(open(a, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
		chmod(a, 0600);
	}
}

/* A second PF for pools of two: the recorded message of eth0 with its
 * ifindex, name and parent device changed (same lengths), as igb would
 * send it for another 82576. */
static int second_pf(struct vfnl_replay *rp, const unsigned char *rec, size_t len)
{
	unsigned char *m = malloc(len);
	struct nlmsghdr *nlh = (struct nlmsghdr *)m;
	struct ifinfomsg *ifi;
	struct nlattr *at;
	int r;

	if (!m)
		return -ENOMEM;
	memcpy(m, rec, len);
	ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_index += 100;
	mnl_attr_for_each(at, nlh, sizeof(*ifi)) {
		char *s = mnl_attr_get_payload(at);

		if (mnl_attr_get_type(at) == IFLA_IFNAME && !strcmp(s, "eth0"))
			s[3] = '1';
		if (mnl_attr_get_type(at) == IFLA_PARENT_DEV_NAME && !strcmp(s, PF_PCI))
			s[11] = '3';
	}
	r = vfnl_replay_add(rp, m, len);
	free(m);
	return r < 0 ? r : 0;
}

static struct vfa_agent *A;
static struct vfnl_replay *RP;
static int ifindex;

/* A fresh tree, config, state dir and an agent on a fresh replay. With
 * pf_up the PF is brought up first (the recording has it down), as
 * vfagent setup would. */
static int start(const char *conf, bool pf_up, bool two_pfs)
{
	static unsigned char rec[65536];
	struct vfa_opts o = { 0 };
	struct vfa_err e = { "", 0 };
	struct vfnl_link *l = calloc(1, sizeof(*l));
	struct vfnl *nl = NULL;
	size_t len;
	FILE *f;
	int r;

	snprintf(top, sizeof(top), "/tmp/vfagent-test-policy.XXXXXX");
	if (!l || !mkdtemp(top))
		return -errno;
	tree();
	snprintf(conf_path, sizeof(conf_path), "%s/vfagent.conf", top);
	snprintf(state_path, sizeof(state_path), "%s/state", top);
	snprintf(sys_path, sizeof(sys_path), "%s/sys", top);
	snprintf(dev_path, sizeof(dev_path), "%s/dev", top);
	put("vfagent.conf", conf);
	f = fopen(FIX, "rb");
	if (!f) {
		free(l);
		return -errno;
	}
	len = fread(rec, 1, sizeof(rec), f);
	fclose(f);
	r = vfnl_open_replay(rec, len, &nl);
	if (r) {
		free(l);
		return r;
	}
	RP = vfnl_replay_of(nl);
	if (two_pfs && second_pf(RP, rec, len) < 0) {
		vfnl_close(nl);
		free(l);
		return -EIO;
	}
	r = vfnl_get_link(nl, 0, "eth0", l);
	ifindex = l->ifindex;
	free(l);
	if (!r && pf_up)
		r = vfnl_pf_up(nl, ifindex);
	if (r) {
		vfnl_close(nl);
		return r;
	}
	vfnl_replay_forget(RP);
	o.config = conf_path;
	o.state_dir = state_path;
	o.sys_root = sys_path;
	o.dev_root = dev_path;
	o.persist_dir = "";
	o.node_timeout_ms = 100;
	r = vfa_agent_open_nl(&o, nl, &A, &e);
	if (r)
		printf("# agent open: %s\n", e.msg);
	return r;
}

static void stop(void)
{
	char cmd[200];

	vfa_agent_close(A);
	A = NULL;
	RP = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd))
		printf("# cannot remove %s\n", top);
}

/* VF idx as the (replayed) kernel now reports it. */
static struct vfnl_vf vf_now(unsigned int idx)
{
	struct vfnl_link *l = calloc(1, sizeof(*l));
	struct vfnl_vf v = { .index = 999 };

	if (l && vfnl_get_link(A->nl, ifindex, NULL, l) == 0 && idx < l->n_vfs)
		v = l->vfs[idx];
	free(l);
	return v;
}

static size_t setlinks(void)
{
	return vfnl_replay_count(RP, RTM_SETLINK);
}

/* Is the i-th SETLINK byte for byte the one RTM_SETLINK for the set s
 * (built by nl/ with the same seq)? */
static bool setlink_is(size_t i, const struct vfnl_vf_set *s)
{
	unsigned char want[512];
	size_t len = 0;
	const struct nlmsghdr *got = vfnl_replay_sent(RP, RTM_SETLINK, i, &len);
	int n;

	if (!got)
		return false;
	n = vfnl_build_set_vfs(want, sizeof(want), got->nlmsg_seq, ifindex, s, 1);
	if (n != (int)len || memcmp(want, got, len)) {
		printf("# setlink %zu: %zu bytes, want %d\n", i, len, n);
		return false;
	}
	return true;
}

static size_t n_leases(void)
{
	struct vfa_lease *ls = NULL;
	size_t n = 0;

	if (vfa_lease_list(A->st, &ls, &n, NULL))
		n = 999;
	free(ls);
	return n;
}

static bool notes_have(json_object *res, const char *want)
{
	json_object *notes;

	if (!json_object_object_get_ex(res, "reconcile", &notes))
		notes = res;	/* vfa_reconcile: the array itself */
	for (size_t i = 0; i < json_object_array_length(notes); i++)
		if (strstr(json_object_get_string(json_object_array_get_idx(notes, i)), want))
			return true;
	printf("# notes: %s\n", json_object_to_json_string(notes));
	return false;
}

static int alloc(const char *mac, const char *vlan, const char *pci,
		 json_object **ret, struct vfa_err *e)
{
	struct vfa_opts o = { .pool = "net1", .pci = pci };

	if (mac && vfa_parse_mac(mac, o.mac) == 0)
		o.has_mac = true;
	if (vlan && vfa_parse_vlan(vlan, &o.vlan, &o.qos, NULL) == 0)
		o.has_vlan = true;
	e->msg[0] = '\0';
	e->exit = 0;
	*ret = NULL;
	return vfa_alloc(A, &o, ret, e);
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	return o && json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

#define POOL7 "[pool net1]\npf = eth0\nvfs = 7\n"

static void test_alloc_one_setlink(void)
{
	struct vfa_err e;
	json_object *res;
	struct vfnl_vf_set s = { .index = 0, .set = VFNL_SET_MAC | VFNL_SET_VLAN,
				 .mac = { 0x52, 0x54, 0, 0xaa, 0xbb, 0x01 }, .vlan = 100, .qos = 3 };
	struct vfa_lease l;
	struct vfnl_vf v;
	int r;

	if (start(POOL7, true, false)) {
		T("policy.alloc.start", 0, "cannot set up the fake host");
		return;
	}
	r = alloc("52:54:00:aa:bb:01", "100:3", NULL, &res, &e);
	T("policy.alloc.ok", r == 0, "r=%d %s", r, e.msg);
	T_EQ_STR("policy.alloc.first_free_vf", jstr(res, "pci"), vf_pci[0]);
	T_EQ_INT("policy.alloc.one_setlink", setlinks(), 1);
	T("policy.alloc.setlink_mac_vlan_only", setlink_is(0, &s),
	  "the SETLINK is not exactly MAC 52:54:00:aa:bb:01 + VLAN 100 qos 3 on VF 0");
	v = vf_now(0);
	T("policy.alloc.vf_set", v.mac[5] == 0x01 && v.vlan == 100 && v.qos == 3,
	  "VF 0 now mac ..:%02x vlan %u qos %u", v.mac[5], v.vlan, v.qos);
	r = vfa_lease_load(A->st, vf_pci[0], &l);
	T("policy.alloc.lease_ready", r == 0 && vfa_lease_state(&l) == VFA_LS_READY &&
	  !strcmp(l.mac, "52:54:00:aa:bb:01") && l.vlan == 100 && l.group == 10,
	  "r=%d state %s mac %s vlan %u group %d", r, vfa_lease_state_str(l.state), l.mac, l.vlan, l.group);
	json_object_put(res);

	/* The next alloc takes the next VF, still one message. */
	vfnl_replay_forget(RP);
	r = alloc(NULL, NULL, NULL, &res, &e);
	T("policy.alloc.next_vf", r == 0 && !strcmp(jstr(res, "pci"), vf_pci[1]) && setlinks() == 1,
	  "r=%d pci %s setlinks %zu %s", r, jstr(res, "pci"), setlinks(), e.msg);
	json_object_put(res);
	stop();
}

static void test_alloc_pf_down(void)
{
	struct vfa_err e;
	json_object *res;
	int r;

	/* One PF, down: nothing can serve, and the reason is given. */
	if (start(POOL7, false, false)) {
		T("policy.pf_down.start", 0, "cannot set up the fake host");
		return;
	}
	r = alloc(NULL, NULL, NULL, &res, &e);
	T("policy.pf_down.refused", r == -ENODEV && strstr(e.msg, "PF eth0 is down") &&
	  strstr(e.msg, "vfagent setup"), "r=%d %s", r, e.msg);
	T("policy.pf_down.nothing_touched", setlinks() == 0 && n_leases() == 0,
	  "setlinks %zu leases %zu", setlinks(), n_leases());
	json_object_put(res);
	stop();

	/* eth1 down, eth0 up: eth1 is skipped and the note says why. */
	if (start("[pool net1]\npf = eth1\npf = eth0\nvfs = 7\n", true, true)) {
		T("policy.pf_down.start2", 0, "cannot set up the fake host");
		return;
	}
	r = alloc(NULL, NULL, NULL, &res, &e);
	T("policy.pf_down.skipped", r == 0 && !strcmp(jstr(res, "pf"), "eth0") &&
	  notes_have(res, "skipped: PF eth1 is down"), "r=%d pf %s %s", r, jstr(res, "pf"), e.msg);
	json_object_put(res);
	stop();
}

static void test_alloc_exhausted(void)
{
	struct vfa_err e;
	json_object *res;
	char id0[17] = "", id1[17] = "";
	int r;

	if (start("[pool net1]\npf = eth0\nvfs = 2\n", true, false)) {
		T("policy.exhausted.start", 0, "cannot set up the fake host");
		return;
	}
	r = alloc(NULL, NULL, NULL, &res, &e);
	snprintf(id0, sizeof(id0), "%s", jstr(res, "id"));
	json_object_put(res);
	r |= alloc(NULL, NULL, NULL, &res, &e);
	snprintf(id1, sizeof(id1), "%s", jstr(res, "id"));
	json_object_put(res);
	T("policy.exhausted.two_allocs", r == 0, "%s", e.msg);
	vfnl_replay_forget(RP);
	r = alloc(NULL, NULL, NULL, &res, &e);
	T("policy.exhausted.exit3", r == -EBUSY && e.exit == VFA_EXIT_EXHAUSTED,
	  "r=%d exit %d %s", r, e.exit, e.msg);
	T("policy.exhausted.names_holders", strstr(e.msg, "pool net1 is exhausted") &&
	  strstr(e.msg, id0) && strstr(e.msg, id1), "%s", e.msg);
	T("policy.exhausted.nothing_sent", setlinks() == 0 && n_leases() == 2,
	  "setlinks %zu leases %zu", setlinks(), n_leases());
	json_object_put(res);

	/* --pci of a leased VF: exit 3, naming its lease. */
	r = alloc(NULL, NULL, vf_pci[1], &res, &e);
	T("policy.pci_leased.exit3", r == -EBUSY && e.exit == VFA_EXIT_EXHAUSTED &&
	  strstr(e.msg, vf_pci[1]) && strstr(e.msg, id1), "r=%d exit %d %s", r, e.exit, e.msg);
	T("policy.pci_leased.nothing_sent", setlinks() == 0, "setlinks %zu", setlinks());
	json_object_put(res);
	stop();
}

static void test_alloc_rollback(void)
{
	struct vfa_err e;
	json_object *res;
	struct vfnl_vf v;
	int r;

	if (start(POOL7, true, false)) {
		T("policy.rollback.start", 0, "cannot set up the fake host");
		return;
	}
	vfnl_replay_fail(RP, RTM_SETLINK, -EINVAL, 1);
	r = alloc("52:54:00:aa:bb:02", "200", NULL, &res, &e);
	T("policy.rollback.fails", r == -EINVAL && strstr(e.msg, "PF eth0: setting VF 0"),
	  "r=%d %s", r, e.msg);
	T("policy.rollback.lease_dropped", n_leases() == 0, "%zu leases left", n_leases());
	v = vf_now(0);
	T("policy.rollback.vf_clean", v.index == 0 && !v.mac[5] && !v.vlan,
	  "VF 0 mac ..:%02x vlan %u", v.mac[5], v.vlan);
	json_object_put(res);

	/* The rollback left nothing: the same VF is allocated next. */
	r = alloc(NULL, NULL, NULL, &res, &e);
	T("policy.rollback.vf_reusable", r == 0 && !strcmp(jstr(res, "pci"), vf_pci[0]),
	  "r=%d pci %s %s", r, jstr(res, "pci"), e.msg);
	json_object_put(res);
	stop();
}

/* A failure after the SETLINK went through: the VF is scrubbed back. */
static void test_alloc_rollback_after_netlink(void)
{
	struct vfnl_vf_set s = { .index = 0, .set = VFNL_SET_MAC | VFNL_SET_VLAN };
	struct vfa_err e;
	json_object *res;
	char node[300];
	struct vfnl_vf v;
	int r;

	if (start(POOL7, true, false)) {
		T("policy.rollback_late.start", 0, "cannot set up the fake host");
		return;
	}
	snprintf(node, sizeof(node), "%s/dev/vfio/10", top);
	unlink(node);		/* VF 0's node never appears */
	r = alloc("52:54:00:aa:bb:06", "600", NULL, &res, &e);
	T("policy.rollback_late.fails", r < 0 && strstr(e.msg, "/dev/vfio/10 did not appear"),
	  "r=%d %s", r, e.msg);
	v = vf_now(0);
	T("policy.rollback_late.scrubbed", setlinks() == 2 && setlink_is(1, &s) &&
	  !v.mac[5] && !v.vlan, "setlinks %zu, VF 0 mac ..:%02x vlan %u", setlinks(),
	  v.mac[5], v.vlan);
	T("policy.rollback_late.lease_dropped", n_leases() == 0, "%zu leases left", n_leases());
	json_object_put(res);
	stop();
}

static int load_fixture(const char *path, unsigned char *buf, size_t cap, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return -errno;
	*ret_len = fread(buf, 1, cap, f);
	fclose(f);
	return 0;
}

/* Ground truth from the lab: t_10_nl recorded the fresh table, ran four
 * `ip link set eth0 vf ...` and recorded again (igb_7vfs_set.bin). The
 * same settings sent to the replay of the fresh bytes must give the VF
 * table the kernel gave. */
static void test_replay_matches_kernel(void)
{
	static unsigned char fresh[65536], set[65536];
	struct vfnl_vf_set s[] = {
		{ .index = 0, .set = VFNL_SET_MAC | VFNL_SET_VLAN | VFNL_SET_SPOOFCHK | VFNL_SET_TRUST,
		  .mac = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc }, .vlan = 100, .qos = 3,
		  .spoofchk = true, .trust = true },
		{ .index = 1, .set = VFNL_SET_VLAN | VFNL_SET_SPOOFCHK, .vlan = 200, .qos = 7 },
		{ .index = 2, .set = VFNL_SET_MAC | VFNL_SET_TRUST,
		  .mac = { 0x02, 0, 0, 0, 0x02, 0x02 }, .trust = true },
		{ .index = 6, .set = VFNL_SET_VLAN, .vlan = 4094 },
	};
	struct vfnl_link *got = calloc(1, sizeof(*got)), *want = calloc(1, sizeof(*want));
	struct vfnl *nl = NULL;
	size_t lf = 0, ls = 0;
	int r, same = 1;

	r = got && want ? load_fixture(FIX, fresh, sizeof(fresh), &lf) : -ENOMEM;
	if (!r)
		r = load_fixture("tests/fixtures/nl/igb_7vfs_set.bin", set, sizeof(set), &ls);
	if (!r)
		r = vfnl_parse_link(set, ls, want);
	if (!r)
		r = vfnl_open_replay(fresh, lf, &nl);
	if (!r)
		r = vfnl_set_vfs(nl, want->ifindex, s, sizeof(s) / sizeof(s[0]));
	if (!r)
		r = vfnl_get_link(nl, want->ifindex, NULL, got);
	T("replay.kernel.applied", r == 0, "r=%d %s", r, vfnl_errmsg(nl));
	for (uint32_t i = 0; !r && i < want->n_vfs; i++) {
		const struct vfnl_vf *g = &got->vfs[i], *w = &want->vfs[i];

		if (g->has != w->has || memcmp(g->mac, w->mac, 6) || g->vlan != w->vlan ||
		    g->qos != w->qos || g->vlan_proto != w->vlan_proto ||
		    g->spoofchk != w->spoofchk || g->trust != w->trust ||
		    g->link_state != w->link_state || g->max_tx_rate != w->max_tx_rate) {
			printf("# vf %u: replay mac ..:%02x vlan %u qos %u spoof %d trust %d, kernel mac ..:%02x vlan %u qos %u spoof %d trust %d\n",
			       i, g->mac[5], g->vlan, g->qos, g->spoofchk, g->trust, w->mac[5], w->vlan,
			       w->qos, w->spoofchk, w->trust);
			same = 0;
		}
	}
	T("replay.kernel.same_vf_table", !r && same && got->n_vfs == want->n_vfs,
	  "the replay's VF table differs from the one igb reported");
	vfnl_close(nl);
	free(got);
	free(want);
}

/* The replay itself answers as the kernel does. */
static void test_replay(void)
{
	struct vfnl_vf_set bad = { .index = 7, .set = VFNL_SET_MAC,
				   .mac = { 2, 0, 0, 0, 0, 7 } };
	struct vfnl_vf_set two[2] = {
		{ .index = 3, .set = VFNL_SET_VLAN, .vlan = 33 },
		{ .index = 9, .set = VFNL_SET_VLAN, .vlan = 99 },
	};
	struct vfnl_link *l = calloc(1, sizeof(*l));
	int r;

	if (!l || start(POOL7, false, false)) {
		T("replay.start", 0, "cannot set up the fake host");
		free(l);
		return;
	}
	r = vfnl_get_link(A->nl, 0, "eth9", l);
	T("replay.unknown_name", r == -ENODEV, "r=%d", r);
	r = vfnl_get_link(A->nl, ifindex, NULL, l);
	T("replay.recorded", r == 0 && l->n_vfs == 7 && l->num_vf == 7 && !(l->flags & IFF_UP) &&
	  !strcmp(l->parent_dev, PF_PCI), "r=%d n_vfs %u flags %#x", r, l->n_vfs, l->flags);
	r = vfnl_set_vfs(A->nl, ifindex, &bad, 1);
	T("replay.no_such_vf", r == -EINVAL && setlinks() == 1, "r=%d", r);
	/* In order, stopping at the first failure: VF 3 set, VF 9 refused. */
	r = vfnl_set_vfs(A->nl, ifindex, two, 2);
	T("replay.partial_in_order", r == -EINVAL && vf_now(3).vlan == 33, "r=%d vlan %u", r,
	  vf_now(3).vlan);
	vfnl_replay_fail(RP, RTM_SETLINK, -EPERM, 1);
	r = vfnl_set_up(A->nl, ifindex, true);
	T("replay.chosen_errno", r == -EPERM, "r=%d", r);
	r = vfnl_get_link(A->nl, ifindex, NULL, l);
	T("replay.failed_not_applied", r == 0 && !(l->flags & IFF_UP), "flags %#x", l->flags);
	r = vfnl_find_pci(A->nl, PF_PCI, l);
	T("replay.dump", r == 0 && !strcmp(l->name, "eth0"), "r=%d %s", r, l->name);
	stop();
	{
		struct vfnl *nl = NULL;

		r = vfnl_open_replay_file(FIX, &nl);
		if (!r)
			r = vfnl_get_link(nl, 0, "eth0", l);
		T("replay.from_file", r == 0 && l->n_vfs == 7, "r=%d", r);
		vfnl_close(nl);
		nl = NULL;
		r = vfnl_open_replay_file("tests/fixtures/nl/extack_cap.bin", &nl);
		T("replay.file_without_links", r == -EBADMSG && !nl, "r=%d", r);
	}
	free(l);
}

static void test_release_scrubs(void)
{
	struct vfnl_vf_set s = { .index = 0, .set = VFNL_SET_MAC | VFNL_SET_VLAN };
	struct vfa_opts o = { 0 };
	struct vfa_err e;
	json_object *res;
	char id[17];
	struct vfnl_vf v;
	int r;

	if (start(POOL7, true, false)) {
		T("policy.release.start", 0, "cannot set up the fake host");
		return;
	}
	r = alloc("52:54:00:aa:bb:03", "300:1", NULL, &res, &e);
	snprintf(id, sizeof(id), "%s", jstr(res, "id"));
	json_object_put(res);
	vfnl_replay_forget(RP);
	o.lease = id;
	r |= vfa_release(A, &o, &res, &e);
	T("policy.release.ok", r == 0, "r=%d %s", r, e.msg);
	T_EQ_INT("policy.release.one_setlink", setlinks(), 1);
	T("policy.release.setlink_baseline", setlink_is(0, &s),
	  "the SETLINK is not exactly MAC 0 + VLAN 0 on VF 0 (the pool baseline)");
	v = vf_now(0);
	T("policy.release.vf_scrubbed", !v.mac[0] && !v.mac[5] && !v.vlan && !v.qos,
	  "VF 0 mac ..:%02x vlan %u qos %u", v.mac[5], v.vlan, v.qos);
	T("policy.release.lease_dropped", n_leases() == 0, "%zu leases left", n_leases());
	json_object_put(res);
	stop();
}

/* A lease left in state st by a holder that died (its VF lock is free). */
static int orphan(enum vfa_lease_state st, struct vfa_lease *ret)
{
	struct vfa_err e;
	json_object *res;
	int r = alloc("52:54:00:aa:bb:04", "400", NULL, &res, &e);

	json_object_put(res);
	if (!r)
		r = vfa_lease_load(A->st, vf_pci[0], ret);
	if (r)
		return r;
	vfa_lease_set_state(ret, st);
	ret->pid = 999999;
	r = vfa_lease_save(A->st, ret, &e);
	vfnl_replay_forget(RP);
	return r;
}

static void test_reconcile(void)
{
	struct vfnl_vf_set s = { .index = 0, .set = VFNL_SET_MAC | VFNL_SET_VLAN };
	enum vfa_lease_state sts[2] = { VFA_LS_ALLOCATING, VFA_LS_RELEASING };
	const char *names[2] = { "allocating", "releasing" };
	const char *notes[2] = { "interrupted alloc rolled back; VF scrubbed",
				 "interrupted release finished; VF scrubbed" };
	struct vfa_lease l;
	struct vfa_err e;
	json_object *res;
	struct vfnl_vf v;
	char n[80];
	int r;

	for (int i = 0; i < 2; i++) {
		if (start(POOL7, true, false) || orphan(sts[i], &l)) {
			T("policy.reconcile.start", 0, "cannot set up the fake host");
			return;
		}
		res = NULL;
		r = vfa_reconcile(A, false, &res, &e);
		snprintf(n, sizeof(n), "policy.reconcile.%s.noted", names[i]);
		T(n, r == 0 && notes_have(res, notes[i]), "r=%d %s", r, e.msg);
		snprintf(n, sizeof(n), "policy.reconcile.%s.scrubbed", names[i]);
		v = vf_now(0);
		T(n, setlinks() == 1 && setlink_is(0, &s) && !v.mac[5] && !v.vlan,
		  "setlinks %zu, VF 0 mac ..:%02x vlan %u", setlinks(), v.mac[5], v.vlan);
		snprintf(n, sizeof(n), "policy.reconcile.%s.lease_dropped", names[i]);
		T(n, n_leases() == 0, "%zu leases left", n_leases());
		json_object_put(res);
		stop();
	}

	/* A holder still at work (its VF lock held) is left alone. */
	if (start(POOL7, true, false) || orphan(VFA_LS_ALLOCATING, &l)) {
		T("policy.reconcile.live.start", 0, "cannot set up the fake host");
		return;
	}
	{
		int fd = vfa_vf_lock(A->st, vf_pci[0], false);

		res = NULL;
		r = fd >= 0 ? vfa_reconcile(A, false, &res, &e) : fd;
		v = vf_now(0);
		T("policy.reconcile.live_holder_untouched", r == 0 && setlinks() == 0 &&
		  n_leases() == 1 && v.mac[5] == 0x04, "r=%d setlinks %zu leases %zu", r,
		  setlinks(), n_leases());
		if (fd >= 0)
			close(fd);
		json_object_put(res);
	}
	stop();
}

static void test_reconcile_mac_changed(void)
{
	struct vfnl_vf_set evil = { .index = 0, .set = VFNL_SET_MAC,
				    .mac = { 0x02, 0xee, 0xee, 0xee, 0xee, 0xee } };
	struct vfa_err e;
	json_object *res;
	struct vfnl_vf v;
	int r;

	if (start(POOL7, true, false)) {
		T("policy.mac_changed.start", 0, "cannot set up the fake host");
		return;
	}
	r = alloc("52:54:00:aa:bb:05", "500", NULL, &res, &e);
	json_object_put(res);
	/* Someone else (ip link set eth0 vf 0 mac ...) changes the VF. */
	r |= vfnl_set_vfs(A->nl, ifindex, &evil, 1);
	vfnl_replay_forget(RP);
	res = NULL;
	r |= vfa_reconcile(A, false, &res, &e);
	T("policy.mac_changed.noted", r == 0 &&
	  notes_have(res, "MAC/VLAN differed from the lease, set back to 52:54:00:aa:bb:05"),
	  "r=%d %s", r, e.msg);
	v = vf_now(0);
	T("policy.mac_changed.set_back", setlinks() == 1 && v.mac[1] == 0x54 && v.mac[5] == 0x05 &&
	  v.vlan == 500, "setlinks %zu VF 0 mac %02x..%02x vlan %u", setlinks(), v.mac[1],
	  v.mac[5], v.vlan);
	T("policy.mac_changed.lease_kept", n_leases() == 1, "%zu leases", n_leases());
	json_object_put(res);
	stop();
}

/* A request line through the daemon's whole input path, then run. */
static int request(const char *line, json_object **ret, struct vfa_err *e)
{
	struct vfa_opts o = { 0 };
	json_object *req = NULL;
	const char *op = NULL;
	int r;

	e->msg[0] = '\0';
	e->exit = 0;
	*ret = NULL;
	r = vfa_req_line(line, strlen(line), &req, &op, &o, e);
	if (!r)
		r = vfa_dispatch(A, op, &o, ret, e);
	json_object_put(req);
	return r;
}

static size_t released(json_object *res)
{
	json_object *d;

	return json_object_object_get_ex(res, "released", &d) ? json_object_array_length(d) : 0;
}

/* Defect: a PCI address without its domain (00:12.0) never matched a
 * lease, which journals 0000:00:12.0. */
static void test_short_pci(void)
{
	struct vfa_err e;
	json_object *res;
	int r;

	if (start(POOL7, true, false)) {
		T("policy.short_pci.start", 0, "cannot set up the fake host");
		return;
	}
	r = request("{\"op\":\"alloc\",\"pool\":\"net1\",\"pci\":\"00:12.2\"}", &res, &e);
	T("policy.short_pci.alloc", r == 0 && !strcmp(jstr(res, "pci"), vf_pci[1]),
	  "r=%d pci %s %s", r, jstr(res, "pci"), e.msg);
	json_object_put(res);
	r = request("{\"op\":\"alloc\",\"pool\":\"net1\",\"pci\":\"0000:00:12.2\"}", &res, &e);
	T("policy.short_pci.leased_exit3", r == -EBUSY && e.exit == VFA_EXIT_EXHAUSTED,
	  "r=%d exit %d %s", r, e.exit, e.msg);
	json_object_put(res);
	r = request("{\"op\":\"release\",\"pci\":\"00:12.2\"}", &res, &e);
	T("policy.short_pci.release", r == 0 && released(res) == 1 && n_leases() == 0,
	  "r=%d released %zu leases %zu %s", r, released(res), n_leases(), e.msg);
	json_object_put(res);
	r = request("{\"op\":\"alloc\",\"pool\":\"net1\",\"pci\":\"0000:00:13.4\"}", &res, &e);
	json_object_put(res);
	r |= request("{\"op\":\"release\",\"pci\":\"0000:00:13.4\"}", &res, &e);
	T("policy.short_pci.long_form_still", r == 0 && released(res) == 1, "r=%d %s", r, e.msg);
	json_object_put(res);
	r = request("{\"op\":\"release\",\"pci\":\"12.0\"}", &res, &e);
	T("policy.short_pci.bad_still_exit2", r == -EINVAL && e.exit == VFA_EXIT_USAGE,
	  "r=%d exit %d %s", r, e.exit, e.msg);
	json_object_put(res);
	stop();
}

/* The same through the CLI: ./vfagent --direct release --pci 00:12.0
 * against a lease whose VF is gone (the PF's sriov_numvfs is 0 in the
 * fake sysfs), so the release needs no kernel: it drops the lease. */
static void test_short_pci_cli(void)
{
	struct vfa_lease l = {
		.id = "0123456789abcdef", .state = VFA_LS_READY, .pool = "net1",
		.pf = "eth0", .pf_pci = PF_PCI, .vf = 0, .pci = "0000:00:12.0",
		.group = 10, .mac = "02:00:00:00:00:01", .pid = 1, .created = 1700000000,
	};
	struct vfa_state *st = NULL;
	struct vfa_err e = { "", 0 };
	char cmd[1200], sd[200];
	int r;

	if (access("./vfagent", X_OK)) {
		t_skip("policy.short_pci_cli", "./vfagent not built (make)");
		return;
	}
	snprintf(top, sizeof(top), "/tmp/vfagent-test-policy.XXXXXX");
	if (!mkdtemp(top)) {
		T("policy.short_pci_cli.start", 0, "mkdtemp: %s", strerror(errno));
		return;
	}
	mk("sys");
	mk("sys/bus");
	mk("sys/bus/pci");
	mk("sys/bus/pci/devices");
	mk("sys/bus/pci/devices/" PF_PCI);	/* its VFs removed (numvfs 0) */
	put("sys/bus/pci/devices/" PF_PCI "/sriov_numvfs", "0\n");
	mk("dev");
	put("vfagent.conf", POOL7);
	snprintf(sd, sizeof(sd), "%s/state", top);
	r = vfa_state_open(sd, &st, &e);
	if (!r)
		r = vfa_lease_save(st, &l, &e);
	vfa_state_close(st);
	if (r) {
		T("policy.short_pci_cli.start", 0, "%s", e.msg);
		return;
	}
	snprintf(cmd, sizeof(cmd), "./vfagent --direct -c %s/vfagent.conf -s %s --sysfs-root %s/sys "
		 "--dev-root %s/dev --persist-dir '' release --pci 00:12.0 >%s/out 2>&1",
		 top, sd, top, top, top);
	r = system(cmd);
	{
		struct vfa_lease cur;
		int lr = vfa_state_open(sd, &st, &e);

		if (!lr)
			lr = vfa_lease_load(st, l.pci, &cur);
		vfa_state_close(st);
		T("policy.short_pci_cli.release", r == 0 && lr == -ENOENT,
		  "exit %d, lease %s", WEXITSTATUS(r), lr == -ENOENT ? "gone" : "still journaled");
	}
	snprintf(cmd, sizeof(cmd), "cat %s/out | sed 's/^/# /'; rm -rf '%s'", top, top);
	if (r && system(cmd))
		printf("# cannot show or remove %s\n", top);
	else if (!r && system(cmd + strlen(cmd) - strlen(top) - 10))
		printf("# cannot remove %s\n", top);
}

/* Defect: json-c keeps the last of duplicate keys; a request with a key
 * twice is refused (exit 2), whatever the spelling (escapes). */
static void test_duplicate_keys(void)
{
	static const char *const bad[] = {
		"{\"op\":\"status\",\"op\":\"setup\"}",
		"{\"op\":\"release\",\"pci\":\"0000:00:12.0\",\"pci\":\"0000:00:12.2\"}",
		"{\"op\":\"release\",\"pci\":\"0000:00:12.0\",\"\\u0070ci\":\"0000:00:12.2\"}",
		"{\"op\":\"alloc\",\"pool\":\"net1\",\"vlan\":1,\"vlan\":2}",
	};
	static const char *const good[] = {
		"{\"op\":\"status\"}",
		"{\"op\":\"alloc\",\"pool\":\"net1\",\"mac\":\"02:00:00:00:00:09\",\"vlan\":1,\"qos\":2}",
		"{\"op\":\"release\",\"domain\":\"a\\\"op\\\":b\"}",
	};
	struct vfa_opts o = { 0 };
	json_object *req;
	const char *op;
	char n[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vfa_err e = { "", 0 };
		int r = vfa_req_line(bad[i], strlen(bad[i]), &req, &op, &o, &e);

		snprintf(n, sizeof(n), "policy.dup_key.refused[%zu]", i);
		T(n, r == -EINVAL && e.exit == VFA_EXIT_USAGE && strstr(e.msg, "more than once"),
		  "r=%d exit %d \"%s\" for %s", r, e.exit, e.msg, bad[i]);
		json_object_put(req);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct vfa_err e = { "", 0 };
		int r = vfa_req_line(good[i], strlen(good[i]), &req, &op, &o, &e);

		snprintf(n, sizeof(n), "policy.dup_key.accepted[%zu]", i);
		T(n, r == 0, "r=%d %s for %s", r, e.msg, good[i]);
		json_object_put(req);
	}
}

int main(void)
{
	if (access(FIX, R_OK)) {
		t_skip("policy", "run from the source tree: " FIX " not found");
		return t_done();
	}
	test_alloc_one_setlink();
	test_alloc_pf_down();
	test_alloc_exhausted();
	test_alloc_rollback();
	test_alloc_rollback_after_netlink();
	test_replay();
	test_replay_matches_kernel();
	test_release_scrubs();
	test_reconcile();
	test_reconcile_mac_changed();
	test_short_pci();
	test_short_pci_cli();
	test_duplicate_keys();
	return t_done();
}
