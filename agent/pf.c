/* The pool PFs: resolving a PF spec, its SR-IOV capability and VF limits,
 * rereading its VF table, and the periodic look at every pool PF. */
#include "agent/agent_priv.h"

#include "agent/agent.h"
#include "agent/model.h"

#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nl/vfnl.h"
#include "pci/vfpci.h"
#include "vfio/vfio.h"

/* Resolves a PF given as netdev or PCI address, through netlink's parent
 * device attributes, and reads its SR-IOV capability. */
int vfa_pf_resolve(struct vfa_agent *c, const char *spec, const struct vfa_pool *p,
		   struct pf **ret, struct vfa_err *e)
{
	struct vfpci_addr a;
	struct pf *pf;
	int r;

	/* A PF is named by the config (netdev or PCI) and by leases (PCI):
	 * one look per operation whichever name is used. */
	for (unsigned int i = 0; i < c->n_pfs; i++)
		if (!strcmp(c->pfs[i].spec, spec) || !strcmp(c->pfs[i].pci, spec) ||
		    !strcmp(c->pfs[i].netdev, spec)) {
			if (p && !c->pfs[i].pool)
				c->pfs[i].pool = p;
			*ret = &c->pfs[i];
			return 0;
		}
	if (c->n_pfs >= sizeof(c->pfs) / sizeof(c->pfs[0]))
		return vfa_fail(e, ENOSPC, "too many PFs");
	pf = &c->pfs[c->n_pfs];
	memset(pf, 0, sizeof(*pf));
	pf->link = calloc(1, sizeof(*pf->link));
	if (!pf->link)
		return vfa_fail(e, ENOMEM, "out of memory");
	snprintf(pf->spec, sizeof(pf->spec), "%s", spec);
	pf->pool = p;
	if (vfpci_addr_parse(spec, &a) == 0) {
		char s[VFPCI_ADDR_LEN];

		r = vfa_model_find_pci(c, vfpci_addr_str(&a, s), pf->link);
	} else {
		r = vfnl_get_link(c->nl, 0, spec, pf->link);
	}
	if (r) {
		r = vfa_fail(e, r, "PF %s: %s", spec, r == -ENODEV ?
			     "no such network device (ip link shows the names)" :
			     vfnl_errmsg(c->nl));
		goto fail;
	}
	snprintf(pf->netdev, sizeof(pf->netdev), "%s", pf->link->name);
	if (strcmp(pf->link->parent_bus, "pci") ||
	    vfpci_addr_parse(pf->link->parent_dev, &pf->addr) < 0) {
		r = vfa_fail(e, ENODEV, "PF %s: not a PCI network device", spec);
		goto fail;
	}
	vfpci_addr_str(&pf->addr, pf->pci);
	c->n_pfs++;
	*ret = pf;
	return 0;
fail:
	free(pf->link);
	pf->link = NULL;
	return r;
}

/* The kernel may allow fewer VFs than config space's TotalVFs (igb: 7 of
 * 8); without sysfs (fake trees) config space is all we know. */
void vfa_pf_max_vfs(struct vfa_agent *c, struct pf *pf)
{
	if (vfio_totalvfs(c->io, pf->pci, &pf->max_vfs) || pf->max_vfs > pf->sriov.total_vfs)
		pf->max_vfs = pf->sriov.total_vfs;
	pf->have_sriov = true;
}

/* The PF's SR-IOV capability, read from config space when first needed:
 * setup and list need it, the warm alloc path does not (each config read
 * is slow on emulated and some real hardware). */
int vfa_pf_sriov(struct vfa_agent *c, struct pf *pf, struct vfa_err *e)
{
	int r;

	if (pf->have_sriov)
		return 0;
	r = vfpci_sriov(c->pci, &pf->addr, &pf->sriov);
	if (r)
		return vfa_fail(e, r, "PF %s (%s): %s", pf->netdev, pf->pci,
				r == -ENOENT ? "no SR-IOV capability: this device cannot create VFs" :
				r == -EACCES ? "cannot read PCI config space beyond 64 bytes (needs root with CAP_SYS_ADMIN)" :
				vfpci_errmsg(c->pci));
	vfa_pf_max_vfs(c, pf);
	return 0;
}

/* Does the kernel let pf have the pool's VF count? Checked for every PF
 * before setup touches any. */
int vfa_pf_check_vfs(struct vfa_agent *c, struct pf *pf, struct vfa_err *e)
{
	const struct vfa_pool *p = pf->pool;
	int r = vfa_pf_sriov(c, pf, e);

	if (r || p->vfs <= pf->max_vfs)
		return r;
	return vfa_usage(e, ERANGE, "%s:%d: pool %s asks for vfs = %u but the kernel allows %u on PF %s (sriov_totalvfs; config space TotalVFs is %u): set vfs = %u or fewer",
			 c->cfg.path, p->line, p->name, p->vfs, pf->max_vfs, pf->netdev,
			 pf->sriov.total_vfs, pf->max_vfs);
}

/* Rereads pf's link and VF table from the kernel. */
int vfa_pf_refresh(struct vfa_agent *c, struct pf *pf, struct vfa_err *e)
{
	int r = vfnl_get_link(c->nl, pf->link->ifindex, NULL, pf->link);

	if (r)
		return vfa_fail(e, r, "PF %s: %s", pf->netdev, vfnl_errmsg(c->nl));
	return 0;
}

/* VF idx in pf's last-read VF table, or NULL. */
const struct vfnl_vf *vfa_pf_vf(const struct pf *pf, unsigned int idx)
{
	for (uint32_t i = 0; i < pf->link->n_vfs; i++)
		if (pf->link->vfs[i].index == idx)
			return &pf->link->vfs[i];
	return NULL;
}

static struct pf_seen *seen_of(struct vfa_agent *c, const char *spec)
{
	for (unsigned int i = 0; i < c->n_seen; i++)
		if (!strcmp(c->seen[i].spec, spec))
			return &c->seen[i];
	if (c->n_seen >= sizeof(c->seen) / sizeof(c->seen[0]))
		return NULL;
	c->seen[c->n_seen] = (struct pf_seen){ .up = true, .num_vf = UINT32_MAX };
	{
		/* spec lives in c->cfg: copy by length, not snprintf (restrict). */
		size_t n = strnlen(spec, sizeof(c->seen[0].spec) - 1);

		memcpy(c->seen[c->n_seen].spec, spec, n);
		c->seen[c->n_seen].spec[n] = '\0';
	}
	return &c->seen[c->n_seen++];
}

/* Looks at every pool PF; *ret_notes (the caller's) says what changed
 * since the last look. With restore, brings a PF that went down back up. */
int vfa_check_pfs(struct vfa_agent *c, bool restore, json_object **ret_notes,
		  struct vfa_err *e)
{
	json_object *notes = json_object_new_array();
	struct vfa_lease *ls = NULL;
	size_t nl = 0;

	/* The daemon rereads only what events marked (model.c). */
	if (c->model.on)
		vfa_model_refresh(c);
	else
		vfa_pf_cache_clear(c);
	memset(c->repairs, 0, sizeof(c->repairs));
	vfa_lease_list(c->st, &ls, &nl, NULL);
	for (unsigned int i = 0; i < c->cfg.n_pools; i++) {
		const struct vfa_pool *p = &c->cfg.pools[i];

		for (unsigned int j = 0; j < p->n_pf; j++) {
			struct vfa_err e2;
			struct pf_seen *sn;
			struct pf *pf;
			bool up;
			unsigned int held = 0;

			sn = seen_of(c, p->pf[j]);
			if (!sn)
				continue;
			if (vfa_pf_resolve(c, p->pf[j], p, &pf, &e2)) {
				if (!sn->missing)
					json_object_array_add(notes, vfa_jfmt("pool %s: %s", p->name, e2.msg));
				sn->missing = true;
				continue;
			}
			if (sn->missing)
				json_object_array_add(notes, vfa_jfmt("pool %s: PF %s is back", p->name, pf->netdev));
			sn->missing = false;
			for (size_t k = 0; k < nl; k++)
				held += !strcmp(ls[k].pf_pci, pf->pci);
			up = pf->link->flags & IFF_UP;
			if (!up && sn->up) {
				json_object_array_add(notes, vfa_jfmt(
					"PF %s (pool %s) went down: its %u leased VFs have no link%s",
					pf->netdev, p->name, held, restore ? "; bringing it back up" :
					"; run vfagent setup, or set pf-restore = yes in [serve]"));
			}
			if (!up && restore) {
				if (vfnl_pf_up(c->nl, pf->link->ifindex) == 0) {
					/* counted when the note above said so */
					c->repairs[VFA_REPAIR_PF_UP] += sn->up;
					up = true;
				} else
					json_object_array_add(notes, vfa_jfmt("PF %s: bringing it up failed: %s",
									      pf->netdev, vfnl_errmsg(c->nl)));
			}
			if (pf->link->num_vf < p->vfs && pf->link->num_vf != sn->num_vf)
				json_object_array_add(notes, vfa_jfmt(
					"PF %s (pool %s) has %u of its %u VFs (sriov_numvfs changed behind our back): VFs past %u are unusable, %u leases affected; run vfagent setup",
					pf->netdev, p->name, pf->link->num_vf, p->vfs, pf->link->num_vf, held));
			sn->up = up;
			sn->num_vf = pf->link->num_vf;
		}
	}
	free(ls);
	(void)e;
	*ret_notes = notes;
	return 0;
}
