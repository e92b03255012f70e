/* agent/lease_priv.h: what lease.c shares with the rest of the state dir
 * (state.c, journal.c, journal_import.c): may only be included by those
 * and the test suites. */
#ifndef VFAGENT_LEASE_PRIV_H
#define VFAGENT_LEASE_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

#include "agent/lease.h"

int vfa_open_reg(int dfd, const char *name, int flags, mode_t mode);
int vfa_open_temp(int dfd, const char *name);
int vfa_open_state_dir(int at, const char *name, const char *path, mode_t mode,
		       struct vfa_err *e);
bool vfa_pci_addr_ok(const char *s);
bool vfa_lease_fields_ok(const struct vfa_lease *l);
void vfa_lease_fence(const char *pci, struct vfa_lease *ret);

#endif
