/* agent/persist.h: leases that outlive a reboot (persist.c). */
#ifndef VFAGENT_PERSIST_H
#define VFAGENT_PERSIST_H

#include <stdbool.h>

#include "agent/lease.h"

/* The journal of leases that outlive a reboot, and the once-per-boot
 * rebuild marker of the runtime journal. */
#define VFA_PERSIST_DIR "/var/lib/vfagent"
int vfa_persist_open(const char *dir, bool create, struct vfa_state **ret,
		     struct vfa_err *e);
bool vfa_rebuild_needed(const char *state_dir);
int vfa_rebuild_done(const char *state_dir);

#endif
