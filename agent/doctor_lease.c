/* vfagent doctor: the leases. A fenced lease (a record of the lease that
 * could not be read: a damaged journal record, or a damaged lease file
 * from before the journal; journal.c, journal_import.c) keeps its VF out
 * of its pool until an admin, who can tell whether a VM holds it,
 * releases it. */
#include "agent/doctor.h"

/* One warning per fenced lease; nothing when there is none. */
void vfa_doc_fenced(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	for (size_t i = 0; i < c->n_leases; i++) {
		const struct vfa_lease *l = &c->leases[i];
		char fix[384];

		if (vfa_lease_state(l) != VFA_LS_FENCED)
			continue;
		snprintf(fix, sizeof(fix), "check that no VM uses %s (virsh dumpxml of each domain, or the process holding its /dev/vfio node), then: vfagent release --pci %s",
			 l->pci, l->pci);
		vfa_doc_add(rep, DOC_LEASE_FENCED, DOC_WARN, l->pci, fix,
			    "VF %s is fenced (lease %s, pool %s): " VFA_FENCE_WHY "; it is kept out of the pool",
			    l->pci, l->id, l->pool);
	}
}
