/* A fake igb host shared by the unit tests that count what the agent asks
 * of the kernel (test_scale.c, test_jobmodel.c): the lab's PF
 * (0000:00:02.0, netdev eth0) with its first T_NVF VFs on vfio-pci in a
 * fake sysfs tree under t_top, and an agent over it on a replay of the
 * PF's recorded netlink bytes. Include once per test program. */
#ifndef T_HOST_H
#define T_HOST_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/rtnetlink.h>

#include "agent/agent_priv.h"
#include "nl/vfnl_priv.h"
#include "tests/unit/t_fixture.h"

#define T_FIX "tests/fixtures/nl/igb_7vfs_fresh.bin"
#define T_PF_PCI "0000:00:02.0"
#define T_NVF 3

static const char *const t_vf_pci[T_NVF] = { "0000:00:12.0", "0000:00:12.2", "0000:00:12.4" };
static char t_top[128];

static inline int t_path(char *buf, size_t len, const char *rel)
{
	int n = snprintf(buf, len, "%s/%s", t_top, rel);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static inline int t_put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	if (t_path(p, sizeof(p), rel))
		return -ENAMETOOLONG;
	f = fopen(p, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) ? -errno : 0;
}

/* mkdir -p of t_top/rel. */
static inline int t_mkdirs(const char *rel)
{
	char p[512];

	if (t_path(p, sizeof(p), rel))
		return -ENAMETOOLONG;
	for (char *s = p + strlen(t_top) + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, 0755) && errno != EEXIST ? -errno : 0;
}

static inline int t_ln(const char *target, const char *rel)
{
	char p[512];

	if (t_path(p, sizeof(p), rel))
		return -ENAMETOOLONG;
	return symlink(target, p) ? -errno : 0;
}

/* The PF's first VFs as sysfs shows them: virtfnN links, on vfio-pci. */
static inline int t_fake_sys(void)
{
	char a[256], b[256];
	int r = t_mkdirs("sys/bus/pci/devices/" T_PF_PCI);

	r = r ? r : t_copy_dir(t_top, "tests/fixtures/pci/igb_pf", "sys/bus/pci/devices/" T_PF_PCI);
	r = r ? r : t_mkdirs("sys/bus/pci/drivers/vfio-pci");
	r = r ? r : t_mkdirs("dev/vfio");
	for (int i = 0; !r && i < T_NVF; i++) {
		snprintf(a, sizeof(a), "sys/bus/pci/devices/%s", t_vf_pci[i]);
		r = t_mkdirs(a);
		r = r ? r : t_copy_dir(t_top, "tests/fixtures/pci/igb_vf", a);
		snprintf(a, sizeof(a), "../%s", t_vf_pci[i]);
		snprintf(b, sizeof(b), "sys/bus/pci/devices/" T_PF_PCI "/virtfn%d", i);
		r = r ? r : t_ln(a, b);
		snprintf(b, sizeof(b), "sys/bus/pci/devices/%s/driver", t_vf_pci[i]);
		r = r ? r : t_ln("../../../../bus/pci/drivers/vfio-pci", b);
	}
	return r;
}

/* An agent over the fake tree (made first if mk) and a replay of the
 * recorded PF; *ret_rp the replay (the agent's). */
static inline int t_open_agent(const char *name, bool mk, struct vfa_agent **ret, struct vfnl_replay **ret_rp)
{
	static unsigned char rec[65536];
	char conf[256], state[256], sys[256], dev[256];
	struct vfa_opts o = { 0 };
	struct vfa_err e = { "", 0 };
	struct vfnl *nl = NULL;
	size_t len;
	FILE *f;
	int r = 0;

	if (mk) {
		snprintf(t_top, sizeof(t_top), "/tmp/vfagent-test-%s.XXXXXX", name);
		if (!mkdtemp(t_top))
			return -errno;
		r = t_fake_sys();
		r = r ? r : t_put("vfagent.conf", "[pool p]\npf = eth0\nvfs = 7\n");
		if (r)
			return r;
	}
	f = fopen(T_FIX, "rb");
	if (!f)
		return -errno;
	len = fread(rec, 1, sizeof(rec), f);
	fclose(f);
	r = vfnl_open_replay(rec, len, &nl);
	if (r)
		return r;
	*ret_rp = vfnl_replay_of(nl);
	snprintf(conf, sizeof(conf), "%s/vfagent.conf", t_top);
	snprintf(state, sizeof(state), "%s/state", t_top);
	snprintf(sys, sizeof(sys), "%s/sys", t_top);
	snprintf(dev, sizeof(dev), "%s/dev", t_top);
	o.config = conf;
	o.state_dir = state;
	o.sys_root = sys;
	o.dev_root = dev;
	o.persist_dir = "";
	r = vfa_agent_open_nl(&o, nl, ret, &e);
	if (r)
		printf("# agent open: %s\n", e.msg);
	return r;
}

/* A lease of VF i in state st, as a worker journals it. */
static inline int t_lease(struct vfa_agent *c, unsigned int i, enum vfa_lease_state st)
{
	struct vfa_lease l = { .vf = i, .group = 10 + (int)i, .pid = 1, .created = 1 };
	struct vfa_err e = { "", 0 };

	snprintf(l.id, sizeof(l.id), "00000000000000%02x", i);
	vfa_lease_set_state(&l, st);
	snprintf(l.pool, sizeof(l.pool), "p");
	snprintf(l.pf, sizeof(l.pf), "eth0");
	snprintf(l.pf_pci, sizeof(l.pf_pci), T_PF_PCI);
	snprintf(l.pci, sizeof(l.pci), "%s", t_vf_pci[i]);
	snprintf(l.mac, sizeof(l.mac), "00:00:00:00:00:00");
	return vfa_lease_save(c->st, &l, &e);
}

static inline void t_getlinks(const struct vfnl_replay *rp, size_t *ret_dumps, size_t *ret_one)
{
	size_t n = vfnl_replay_count(rp, RTM_GETLINK), d = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		const struct nlmsghdr *m = vfnl_replay_sent(rp, RTM_GETLINK, i, &len);

		d += m && (m->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	}
	*ret_dumps = d;
	*ret_one = n - d;
}

static inline void t_rm_top(void)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t_top);
	if (system(cmd))
		printf("# cannot remove %s\n", t_top);
}

#endif
