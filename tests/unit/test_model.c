/* The daemon's state model (agent/model.c): what it keeps, and what makes
 * it forget. No kernel: a hand-made agent, a fake /dev tree. */
#include "agent/agent_priv.h"
#include "agent/model.h"
#include "tests/unit/t.h"

#include <linux/if_link.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct vfa_agent *agent_with_pf(int ifindex, unsigned int flags)
{
	struct vfa_agent *c = calloc(1, sizeof(*c));

	c->pfs[0].link = calloc(1, sizeof(*c->pfs[0].link));
	c->pfs[0].link->ifindex = ifindex;
	c->pfs[0].link->flags = flags;
	snprintf(c->pfs[0].link->name, sizeof(c->pfs[0].link->name), "eth1");
	snprintf(c->pfs[0].netdev, sizeof(c->pfs[0].netdev), "eth1");
	c->pfs[0].link->n_vfs = 2;
	c->pfs[0].link->vfs[0].index = 0;
	c->pfs[0].link->vfs[1].index = 1;
	c->pfs[0].link->vfs[1].spoofchk = true;
	c->n_pfs = 1;
	vfa_model_enable(c, NULL, NULL);
	return c;
}

static void test_applied(void)
{
	struct vfa_agent *c = agent_with_pf(7, IFF_UP);
	struct vfnl_vf_set s = { .index = 1, .set = VFNL_SET_MAC | VFNL_SET_VLAN | VFNL_SET_SPOOFCHK,
				 .mac = { 2, 0, 0, 0, 0, 9 }, .vlan = 100, .qos = 3, .spoofchk = false };
	const struct vfnl_vf *v1 = &c->pfs[0].link->vfs[1], *v0 = &c->pfs[0].link->vfs[0];

	vfa_model_applied(&c->pfs[0], &s, 1);
	T("model.applied_mac", v1->mac[5] == 9 && v1->mac[0] == 2, "mac %02x..%02x", v1->mac[0], v1->mac[5]);
	T_EQ_INT("model.applied_vlan", v1->vlan, 100);
	T_EQ_INT("model.applied_qos", v1->qos, 3);
	T_EQ_INT("model.applied_spoofchk", v1->spoofchk, false);
	T("model.applied_other_vf_untouched", v0->vlan == 0 && v0->mac[5] == 0, "vf0 vlan %u", v0->vlan);
	s.set = VFNL_SET_TRUST;
	s.trust = true;
	s.vlan = 5;
	vfa_model_applied(&c->pfs[0], &s, 1);
	T("model.applied_only_what_was_set", v1->trust && v1->vlan == 100, "trust %d vlan %u", v1->trust, v1->vlan);
	vfa_agent_close(c);
}

static void test_link(void)
{
	struct vfa_agent *c = agent_with_pf(7, IFF_UP);
	struct vfnl_link l = { .ifindex = 7, .flags = IFF_UP };

	/* The echo of our own SETLINK, flags as cached: nothing to reread. */
	c->model.own_ifindex = 7;
	c->model.own_flags = IFF_UP;
	T("model.own_echo_dropped", !vfa_model_link(c, &l, false) && !c->pfs[0].stale,
	  "stale %d", c->pfs[0].stale);
	/* The same PF with other flags (set down meanwhile): reread. */
	l.flags = 0;
	T("model.own_pf_other_flags_marked", vfa_model_link(c, &l, false) && c->pfs[0].stale,
	  "stale %d", c->pfs[0].stale);
	c->pfs[0].stale = false;
	c->model.own_ifindex = 0;
	l.flags = IFF_UP;
	T("model.event_marks_pf", vfa_model_link(c, &l, false) && c->pfs[0].stale && !c->model.stale_all,
	  "stale %d all %d", c->pfs[0].stale, c->model.stale_all);
	c->pfs[0].stale = false;
	l.ifindex = 8;
	T("model.other_link_not_marked", vfa_model_link(c, &l, false) && !c->pfs[0].stale,
	  "stale %d", c->pfs[0].stale);
	l.ifindex = 7;
	vfa_model_link(c, &l, true);
	T("model.removed_drops_all", c->model.stale_all, "stale_all %d", c->model.stale_all);
	vfa_model_refresh(c);
	T("model.refresh_dropped", c->n_pfs == 0 && !c->model.stale_all, "n_pfs %u", c->n_pfs);
	vfa_agent_close(c);
}

/* A fake tree: SYS/bus/pci/devices/VF/iommu_group -> .../GROUP, and
 * DEV/vfio/GROUP. */
static int fake_vf(const char *sys, const char *dev, const char *vf, int group)
{
	char p[400], t[64];
	FILE *f;

	snprintf(p, sizeof(p), "%s/bus", sys);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/bus/pci", sys);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/bus/pci/devices", sys);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s", sys, vf);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s/iommu_group", sys, vf);
	unlink(p);
	snprintf(t, sizeof(t), "../../../../kernel/iommu_groups/%d", group);
	if (symlink(t, p))
		return -1;
	snprintf(p, sizeof(p), "%s/vfio", dev);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/vfio/%d", dev, group);
	f = fopen(p, "w");
	if (!f)
		return -1;
	fclose(f);
	return 0;
}

static void test_vf_ready(void)
{
	char sys[] = "/tmp/vfa-model-sys.XXXXXX", dev[] = "/tmp/vfa-model-dev.XXXXXX", p[400];
	const char *vf = "0000:00:10.0";
	struct vfa_agent *c = agent_with_pf(7, IFF_UP);
	char cmd[200];
	int g = -1;

	if (!mkdtemp(sys) || !mkdtemp(dev) || vfio_ctx_new(sys, dev, &c->io) ||
	    fake_vf(sys, dev, vf, 5)) {
		T("model.vf_ready_setup", 0, "mkdtemp, vfio_ctx_new or the fake tree failed");
		return;
	}
	T("model.vf_unknown_not_ready", !vfa_model_vf_ready(c, vf, &g), "ready");
	vfa_model_vf_seen(c, vf, 5);
	T("model.vf_seen_ready", vfa_model_vf_ready(c, vf, &g) && g == 5, "group %d", g);
	/* Unbound behind our back: the group's node went; full check. */
	snprintf(p, sizeof(p), "%s/vfio/5", dev);
	unlink(p);
	g = -1;
	T("model.vf_node_gone_not_ready", !vfa_model_vf_ready(c, vf, &g) && g == -1, "group %d", g);
	T_EQ_INT("model.vf_node_gone_forgotten", c->model.n_vfs, 0);
	/* Recreated behind our back into another group whose node exists. */
	fake_vf(sys, dev, vf, 5);
	vfa_model_vf_seen(c, vf, 5);
	fake_vf(sys, dev, vf, 9);
	T("model.vf_other_group_not_ready", !vfa_model_vf_ready(c, vf, &g) && g == -1, "group %d", g);
	vfa_model_vf_seen(c, vf, 5);
	vfa_model_vf_forget(c, vf);
	T_EQ_INT("model.vf_forget", c->model.n_vfs, 0);
	c->model.on = false;
	vfa_model_vf_seen(c, vf, 5);
	T_EQ_INT("model.off_keeps_nothing", c->model.n_vfs, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", sys, dev);
	if (system(cmd))
		T("model.vf_ready_cleanup", 0, "%s failed", cmd);
	vfa_agent_close(c);
}

static void test_vf_addr(void)
{
	struct vfa_agent *c = agent_with_pf(7, IFF_UP);
	char buf[16] = "";

	T("model.vf_addr_unknown", !vfa_model_vf_addr(c, &c->pfs[0], 3, buf, sizeof(buf)), "got %s", buf);
	vfa_model_vf_addr_seen(c, &c->pfs[0], 3, "0000:00:12.6");
	T("model.vf_addr_kept", vfa_model_vf_addr(c, &c->pfs[0], 3, buf, sizeof(buf)) &&
	  !strcmp(buf, "0000:00:12.6"), "got %s", buf);
	T("model.vf_addr_other_index", !vfa_model_vf_addr(c, &c->pfs[0], 2, buf, sizeof(buf)), "got %s", buf);
	T("model.vf_addr_short_buffer", !vfa_model_vf_addr(c, &c->pfs[0], 3, buf, 5), "got %s", buf);
	/* An event from someone else on the PF: its VFs are looked at again
	 * (no netlink here: the refresh fails, which drops everything). */
	c->pfs[0].stale = true;
	c->model.n_vfs = 1;
	vfa_model_refresh(c);
	T("model.pf_event_forgets_vfs", c->n_pfs == 0 && c->model.n_vfs == 0, "n_pfs %u n_vfs %u",
	  c->n_pfs, c->model.n_vfs);
	c->model.on = false;
	vfa_agent_close(c);
}

int main(void)
{
	test_applied();
	test_link();
	test_vf_ready();
	test_vf_addr();
	return t_done();
}
