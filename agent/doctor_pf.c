/* vfagent doctor: each configured PF (exists, SR-IOV, up, VF count,
 * nothing of the host's own networking on it) and its VFs (driver, IOMMU
 * group, /dev/vfio node owner). Everything is read from sysfs, /proc and
 * /dev under the context's roots. */
#include "agent/doctor.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pci/vfpci.h"
#include "vfio/vfio.h"

#define SETUP_FIX "run vfagent setup (and enable vfagent-setup.service so it runs at every boot)"

struct doc_pf {
	const struct vfa_pool *pool;
	const char *spec;
	char subject[64];
	char netdev[64];
	char pci[VFPCI_ADDR_LEN];
	unsigned int total, num;
};

/* The last component of what the symlink at path points to. */
static int link_name(const char *path, char *ret, size_t len)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	const char *b;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	b = strrchr(buf, '/');
	return (size_t)snprintf(ret, len, "%s", b ? b + 1 : buf) < len ? 0 : -ENAMETOOLONG;
}

static int read_uint(const char *path, unsigned int *ret)
{
	char buf[32], *end;
	unsigned long v;
	int r = vfa_doc_read(path, buf, sizeof(buf));

	if (r)
		return r;
	v = strtoul(buf, &end, 0);
	if (end == buf || v > UINT_MAX)
		return -EINVAL;
	*ret = (unsigned int)v;
	return 0;
}

/* Appends sep (if dst is not empty) and s to dst, cut at len. */
static void append(char *dst, size_t len, const char *sep, const char *s)
{
	size_t n = strlen(dst);

	if (n + 1 < len)
		snprintf(dst + n, len - n, "%s%.*s", n ? sep : "", (int)(len - n - 1), s);
}

/* The first entry of a directory into ret. -ENOENT if none. */
static int first_entry(const char *path, char *ret, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int r = -ENOENT;

	if (!d)
		return -errno;
	while (r && (de = readdir(d)))
		if (de->d_name[0] != '.')
			r = (size_t)snprintf(ret, len, "%s", de->d_name) < len ? 0 : -ENAMETOOLONG;
	closedir(d);
	return r;
}

/* Netdev and PCI address of a PF named by netdev or PCI address. */
static int pf_find(const struct vfa_doc_ctx *c, struct doc_pf *p)
{
	char path[512];
	struct vfpci_addr a;
	struct stat st;

	if (!vfa_doc_path(path, sizeof(path), c->sys, "/class/net/%s/device", p->spec) &&
	    !stat(path, &st)) {
		snprintf(p->netdev, sizeof(p->netdev), "%s", p->spec);
		return link_name(path, p->pci, sizeof(p->pci));
	}
	if (vfpci_addr_parse(p->spec, &a))
		return -ENODEV;
	vfpci_addr_str(&a, p->pci);
	if (vfa_doc_path(path, sizeof(path), c->sys, "/bus/pci/devices/%s/net", p->pci) ||
	    first_entry(path, p->netdev, sizeof(p->netdev)))
		return -ENODEV;
	return 0;
}

/* Is there a default route (IPv4 or IPv6) through dev? */
static bool default_route(const struct vfa_doc_ctx *c, const char *dev, char *which,
			  size_t len)
{
	char path[512], line[512];
	bool found = false;
	FILE *f;

	if (!vfa_doc_path(path, sizeof(path), c->proc, "/net/route") && (f = fopen(path, "re"))) {
		while (!found && fgets(line, sizeof(line), f)) {
			char ifc[64], dst[16], gw[16], mask[16];
			unsigned int fl;

			found = sscanf(line, "%63s %15s %15s %x %*s %*s %*s %15s", ifc, dst, gw,
				       &fl, mask) == 5 && !strcmp(ifc, dev) &&
				!strcmp(dst, "00000000") && !strcmp(mask, "00000000");
		}
		fclose(f);
		if (found)
			snprintf(which, len, "IPv4");
	}
	if (!found && !vfa_doc_path(path, sizeof(path), c->proc, "/net/ipv6_route") &&
	    (f = fopen(path, "re"))) {
		while (!found && fgets(line, sizeof(line), f)) {
			char dst[40], plen[4], ifc[64];

			found = sscanf(line, "%39s %3s %*s %*s %*s %*s %*s %*s %*s %63s", dst, plen,
				       ifc) == 3 && !strcmp(ifc, dev) && !strcmp(plen, "00") &&
				strspn(dst, "0") == 32;
		}
		fclose(f);
		if (found)
			snprintf(which, len, "IPv6");
	}
	return found;
}

static void check_addresses(const struct vfa_doc_ctx *c, const struct doc_pf *p,
			    struct vfa_doc_report *rep)
{
	struct vfa_doc_addr a[DOC_MAX_ADDRS];
	char list[256] = "", fam[8];
	int n = c->ifaddrs ? c->ifaddrs(p->netdev, a, DOC_MAX_ADDRS) : 0;

	if (default_route(c, p->netdev, fam, sizeof(fam)))
		vfa_doc_add(rep, DOC_PF_ADDRESSES, DOC_WARN, p->subject,
			    "move the host's uplink to another NIC: a PF that gives out VFs should carry no host traffic",
			    "the host's %s default route goes through %s: changing its VF count resets the link (igb and others do) and cuts the host off",
			    fam, p->netdev);
	for (int i = 0; i < n; i++)
		if (!a[i].link_local)
			append(list, sizeof(list), ", ", a[i].s);
	if (*list)
		vfa_doc_add(rep, DOC_PF_ADDRESSES, DOC_WARN, p->subject,
			    "move these addresses to another interface (ip addr del ... dev PF); vfagent setup brings the PF up without any",
			    "%s carries addresses (%s) that VF changes and PF resets would disturb",
			    p->netdev, list);
	else if (n >= 0)
		vfa_doc_add(rep, DOC_PF_ADDRESSES, DOC_OK, p->subject, NULL,
			    "%s carries no addresses%s", p->netdev,
			    n > 0 ? " beyond link-local" : "");
}

/* sriov_totalvfs, up, sriov_numvfs against the pool. false: stop here. */
static bool check_pf(const struct vfa_doc_ctx *c, struct doc_pf *p,
		     struct vfa_doc_report *rep)
{
	char path[512];
	unsigned int flags = 0;

	if (vfa_doc_path(path, sizeof(path), c->sys, "/bus/pci/devices/%s/sriov_totalvfs", p->pci) ||
	    read_uint(path, &p->total) || !p->total) {
		vfa_doc_add(rep, DOC_PF_SRIOV, DOC_FAIL, p->subject,
			    "enable SR-IOV for this NIC in the firmware setup, or name an SR-IOV capable PF in the config",
			    "%s (%s) cannot create VFs (no sriov_totalvfs)", p->netdev, p->pci);
		return false;
	}
	vfa_doc_add(rep, DOC_PF_SRIOV, DOC_OK, p->subject, NULL, "%s (%s): SR-IOV, up to %u VFs",
		    p->netdev, p->pci, p->total);
	if (!vfa_doc_path(path, sizeof(path), c->sys, "/class/net/%s/flags", p->netdev))
		read_uint(path, &flags);
	if (flags & 1)
		vfa_doc_add(rep, DOC_PF_UP, DOC_OK, p->subject, NULL, "%s is up", p->netdev);
	else
		vfa_doc_add(rep, DOC_PF_UP, DOC_FAIL, p->subject, SETUP_FIX,
			    "%s is down: VMs with its VFs fail to start (\"the PF is not online\")",
			    p->netdev);
	if (vfa_doc_path(path, sizeof(path), c->sys, "/bus/pci/devices/%s/sriov_numvfs", p->pci) ||
	    read_uint(path, &p->num))
		p->num = 0;
	if (p->pool->vfs > p->total)
		vfa_doc_add(rep, DOC_PF_VFS, DOC_FAIL, p->subject,
			    "lower vfs in the pool's section of the config",
			    "pool %s wants %u VFs, the kernel allows at most %u on %s",
			    p->pool->name, p->pool->vfs, p->total, p->netdev);
	else if (p->num < p->pool->vfs)
		vfa_doc_add(rep, DOC_PF_VFS, DOC_FAIL, p->subject, SETUP_FIX,
			    "%s has %u of the %u VFs pool %s wants", p->netdev, p->num,
			    p->pool->vfs, p->pool->name);
	else
		vfa_doc_add(rep, DOC_PF_VFS, DOC_OK, p->subject, NULL, "%s has %u VFs (pool %s uses %u)",
			    p->netdev, p->num, p->pool->name, p->pool->vfs);
	check_addresses(c, p, rep);
	return true;
}

static const struct vfa_lease *lease_of(const struct vfa_doc_ctx *c, const char *pci)
{
	for (size_t i = 0; i < c->n_leases; i++)
		if (!strcmp(c->leases[i].pci, pci))
			return &c->leases[i];
	return NULL;
}

/* What owner the node of a VF should have: the pool's for a lease not
 * handed to a domain (libvirt owns those while attached), root 0600 or
 * the pool's (keep-owner) for a free VF. false: nothing to compare. */
static bool want_owner(const struct vfa_doc_ctx *c, const struct vfa_pool *p,
		       const char *vf, uid_t *u, gid_t *g, mode_t *m)
{
	const struct vfa_lease *l = lease_of(c, vf);

	if (l && (l->attached || !p->has_owner))
		return false;
	if (l || (p->keep_owner && p->has_owner)) {
		*u = p->uid;
		*g = p->gid;
		*m = p->mode;
	} else {
		*u = 0;
		*g = 0;
		*m = 0600;
	}
	return true;
}

/* One VF: driver, group viability, node. Appends offenders to the lists. */
static void check_vf(const struct vfa_doc_ctx *c, const struct doc_pf *p, const char *vf,
		     char *drv_bad, char *grp_bad, char *node_bad, size_t len)
{
	char drv[VFIO_DRV_LEN] = "";
	uid_t u, wu;
	gid_t g, wg;
	mode_t m, wm;
	int grp;

	vfio_driver(c->io, vf, drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci")) {
		snprintf(drv_bad + strlen(drv_bad), len - strlen(drv_bad), "%s%s (%s)",
			 *drv_bad ? ", " : "", vf, *drv ? drv : "no driver");
		return;
	}
	if (vfio_group(c->io, vf, &grp))
		return;		/* iommu.active says why */
	if (vfio_group_viable(c->io, grp) == -EBUSY)
		snprintf(grp_bad + strlen(grp_bad), len - strlen(grp_bad), "%sgroup %d of %s: %s",
			 *grp_bad ? "; " : "", grp, vf, vfio_errmsg(c->io));
	if (vfio_node_stat(c->io, grp, &u, &g, &m))
		snprintf(node_bad + strlen(node_bad), len - strlen(node_bad), "%s/dev/vfio/%d missing",
			 *node_bad ? ", " : "", grp);
	else if (want_owner(c, p->pool, vf, &wu, &wg, &wm) &&
		 (u != wu || g != wg || (m & 07777) != wm))
		snprintf(node_bad + strlen(node_bad), len - strlen(node_bad),
			 "%s/dev/vfio/%d is %u:%u %04o, not %u:%u %04o", *node_bad ? ", " : "",
			 grp, (unsigned int)u, (unsigned int)g, (unsigned int)(m & 07777),
			 (unsigned int)wu, (unsigned int)wg, (unsigned int)wm);
}

static void check_vfs(const struct vfa_doc_ctx *c, const struct doc_pf *p,
		      struct vfa_doc_report *rep)
{
	char drv_bad[512] = "", grp_bad[1024] = "", node_bad[512] = "";
	unsigned int n = p->num < p->pool->vfs ? p->num : p->pool->vfs;

	if (!n)
		return;
	for (unsigned int i = 0; i < n; i++) {
		char vf[VFPCI_ADDR_LEN + 4];

		if (vfio_virtfn(c->io, p->pci, i, vf, sizeof(vf)))
			continue;
		check_vf(c, p, vf, drv_bad, grp_bad, node_bad, sizeof(drv_bad));
	}
	if (*drv_bad)
		vfa_doc_add(rep, DOC_VF_DRIVER, DOC_FAIL, p->subject, SETUP_FIX,
			    "VFs of pool %s not on vfio-pci: %s", p->pool->name, drv_bad);
	else
		vfa_doc_add(rep, DOC_VF_DRIVER, DOC_OK, p->subject, NULL,
			    "the %u VFs of pool %s are on vfio-pci", n, p->pool->name);
	if (*grp_bad)
		vfa_doc_add(rep, DOC_VF_GROUPS, DOC_FAIL, p->subject,
			    "bind the other members to vfio-pci too, or move the NIC to a slot with its own IOMMU group (ACS)",
			    "IOMMU groups not viable: %.400s", grp_bad);
	else if (!*drv_bad)
		vfa_doc_add(rep, DOC_VF_GROUPS, DOC_OK, p->subject, NULL,
			    "no foreign device in the VFs' IOMMU groups");
	if (*node_bad)
		vfa_doc_add(rep, DOC_VF_NODES, DOC_WARN, p->subject, SETUP_FIX,
			    "/dev/vfio nodes not as pool %s says: %s", p->pool->name, node_bad);
	else if (!*drv_bad)
		vfa_doc_add(rep, DOC_VF_NODES, DOC_OK, p->subject, NULL,
			    "/dev/vfio nodes owned as pool %s says", p->pool->name);
}

/**
 * vfa_doc_pfs() - every PF of every pool in the config, and its VFs.
 */
void vfa_doc_pfs(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	if (!c->cfg)
		return;
	for (unsigned int i = 0; i < c->cfg->n_pools; i++) {
		const struct vfa_pool *pool = &c->cfg->pools[i];

		for (unsigned int j = 0; j < pool->n_pf; j++) {
			struct doc_pf p = { .pool = pool, .spec = pool->pf[j] };

			snprintf(p.subject, sizeof(p.subject), "pool %s, PF %s", pool->name, p.spec);
			if (pf_find(c, &p)) {
				vfa_doc_add(rep, DOC_PF_EXISTS, DOC_FAIL, p.subject,
					    "correct pf = in the config (ip -br link and lspci -D name the devices), or load the NIC's driver",
					    "PF %s does not exist (no such network device or PCI function with one)",
					    p.spec);
				continue;
			}
			vfa_doc_add(rep, DOC_PF_EXISTS, DOC_OK, p.subject, NULL, "%s is %s",
				    p.netdev, p.pci);
			if (check_pf(c, &p, rep))
				check_vfs(c, &p, rep);
		}
	}
}
