/* The repair kinds' names (agent/repair.h). */
#include "agent/repair.h"

#include <stddef.h>
#include <string.h>

static const char *const repair_names[VFA_REPAIR__N] = {
	[VFA_REPAIR_DRIVER] = "driver",
	[VFA_REPAIR_NETCFG] = "mac_vlan",
	[VFA_REPAIR_RECLAIMED] = "reclaimed",
	[VFA_REPAIR_RESTORED] = "restored",
	[VFA_REPAIR_ADOPTED] = "adopted",
	[VFA_REPAIR_RENAMED] = "renamed",
	[VFA_REPAIR_PF_UP] = "pf_up",
};

/* The name of repair kind r ("unknown" for none); static storage. */
const char *vfa_repair_str(enum vfa_repair r)
{
	return r >= 0 && r < VFA_REPAIR__N ? repair_names[r] : "unknown";
}

/* The kind named s; VFA_REPAIR_UNKNOWN if it is none of the table's. */
enum vfa_repair vfa_repair_from_str(const char *s)
{
	for (size_t i = 0; s && i < VFA_REPAIR__N; i++)
		if (!strcmp(s, repair_names[i]))
			return (enum vfa_repair)i;
	return VFA_REPAIR_UNKNOWN;
}
