/* agent/model.h: the daemon's in-memory state model (agent/model.c).
 * Only vfagent serve (serve*.c) and test suites use it; the CLI keeps
 * reading everything from the kernel on each run. */
#ifndef VFAGENT_MODEL_H
#define VFAGENT_MODEL_H

#include <stdbool.h>

struct vfa_agent;

struct vfnl_link;
struct vfio_uevent;

/* Reads the link events queued, for vfa_model_link (the daemon's monitor). */
typedef void (*vfa_model_drain_fn)(void *ud);

void vfa_model_enable(struct vfa_agent *c, vfa_model_drain_fn drain, void *ud);
bool vfa_model_link(struct vfa_agent *c, const struct vfnl_link *l, bool removed);
void vfa_model_invalidate(struct vfa_agent *c);
void vfa_model_job_done(struct vfa_agent *c, bool died);
void vfa_model_full(struct vfa_agent *c);
void vfa_model_refresh(struct vfa_agent *c);
void vfa_model_uevents(struct vfa_agent *c, bool on);
void vfa_model_uevent(struct vfa_agent *c, const struct vfio_uevent *ev);
void vfa_model_uevents_lost(struct vfa_agent *c);

/* The sweep's look, in place; the fleet snapshot's VF groups. */
struct pf;
void vfa_model_sweep(struct vfa_agent *c);
bool vfa_model_vf_group(struct vfa_agent *c, const struct pf *pf, unsigned int idx,
			int *ret_group);
void vfa_model_vf_group_seen(struct vfa_agent *c, struct pf *pf, unsigned int idx,
			     int group);
struct vfnl_link;
int vfa_model_find_pci(struct vfa_agent *c, const char *pci, struct vfnl_link *ret);

#endif
