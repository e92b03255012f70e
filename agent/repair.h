/* agent/repair.h: what reconcile and the PF watch repaired, by kind. The
 * kind is set where the repair is done (reconcile.c, pf.c), carried as an
 * enum, and named only at the edge: a result's "repairs" object
 * (doc/PROTOCOL.md) and the metrics' kind label (metrics.c). */
#ifndef VFAGENT_REPAIR_H
#define VFAGENT_REPAIR_H

enum vfa_repair {
	VFA_REPAIR_DRIVER,		/* rebound to vfio-pci */
	VFA_REPAIR_NETCFG,		/* MAC/VLAN set back */
	VFA_REPAIR_RECLAIMED,		/* VF scrubbed and back in its pool */
	VFA_REPAIR_RESTORED,		/* persistent lease restored */
	VFA_REPAIR_ADOPTED,		/* a domain's hostdev journaled */
	VFA_REPAIR_RENAMED,		/* domain renamed */
	VFA_REPAIR_PF_UP,		/* a downed PF brought back up */
	VFA_REPAIR__N,
	VFA_REPAIR_UNKNOWN = -1
};
const char *vfa_repair_str(enum vfa_repair r);
enum vfa_repair vfa_repair_from_str(const char *s);

#endif
