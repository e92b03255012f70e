/* agent/model.h: the daemon's in-memory state model (agent/model.c).
 * Only vfagent serve (serve*.c) and test suites use it; the CLI keeps
 * reading everything from the kernel on each run. */
#ifndef VFAGENT_MODEL_H
#define VFAGENT_MODEL_H

#include <stdbool.h>

struct vfa_agent;

void vfa_model_enable(struct vfa_agent *c);
void vfa_model_link(struct vfa_agent *c, int ifindex, bool removed);
void vfa_model_invalidate(struct vfa_agent *c);
void vfa_model_refresh(struct vfa_agent *c);

#endif
