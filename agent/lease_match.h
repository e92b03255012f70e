/* Which leases a release names: one matcher for vfa_release (release.c)
 * and the daemon's ownership rule (authz.c), so the rule checks exactly
 * the leases the release would touch. */
#ifndef VFAGENT_LEASE_MATCH_H
#define VFAGENT_LEASE_MATCH_H

#include <stdbool.h>

#include "agent/agent.h"

bool vfa_lease_match(const struct vfa_opts *o, const char *uuid, const struct vfa_lease *l);

#endif
