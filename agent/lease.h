/* agent/lease.h: a lease and the state dir that keeps it (lease.c,
 * journal.c, lease_text.c). Needs only the error type: the journal and
 * the lease text are built on it, the agent's operations on them. */
#ifndef VFAGENT_LEASE_H
#define VFAGENT_LEASE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/err.h"

#define VFA_NAME_LEN 64		/* a pool's or a PF's name */

/* state.c, journal.c: the state dir. Leases live in one append-only
 * journal (STATE_DIR/journal), one fdatasync'd record per save or drop,
 * which each vfa_state folds in memory and reads on from where it stopped
 * (so load and list see other processes' writes). A lock
 * file guards VF selection; locks/<pci> is held while a VF's lease is
 * being changed, so a crashed holder is told from a live one. */
struct vfa_state;

#define VFA_DOMAIN_LEN 256	/* longer domain names are refused, not cut */
#define VFA_UUID_LEN 37		/* VIR_UUID_STRING_BUFLEN */
#define VFA_HOLDER_LEN 65	/* printable ASCII, no spaces, <= 64 bytes */
bool vfa_holder_ok(const char *s);

/* A lease's state: an enum in the code, its name (the table in lease.c)
 * in the journal and the JSON. */
enum vfa_lease_state {
	VFA_LS_UNKNOWN = -1,
	VFA_LS_ALLOCATING,	/* journaled, hardware being set up */
	VFA_LS_READY,		/* the VF is the holder's */
	VFA_LS_DETACHING,	/* a detach is pending in the guest */
	VFA_LS_RELEASING,	/* being scrubbed back to the pool */
	VFA_LS_FENCED,		/* holder unknown (a damaged lease file): never
				 * free until an admin releases it */
};
struct vfa_lease {
	char id[17];
	enum vfa_lease_state state;
	char pool[VFA_NAME_LEN];
	char pf[VFA_NAME_LEN];		/* netdev */
	char pf_pci[16];
	unsigned int vf;
	char pci[16];
	int group;
	char mac[18];
	uint16_t vlan;
	uint8_t qos;
	char domain[VFA_DOMAIN_LEN];	/* name at alloc time, for display */
	char uuid[VFA_UUID_LEN];	/* what identifies the domain; "" in old journals */
	bool attached;
	bool persistent;		/* in the domain's config: kept across stops */
	char holder[VFA_HOLDER_LEN];	/* who holds it, e.g. "k8s:vfagent.io/net1"; "" none */
	long long pid;
	long long created;
	uid_t owner;			/* who allocated it through the daemon; VFA_NO_OWNER none */
};
#define VFA_NO_OWNER ((uid_t)-1)	/* --direct, adopted, or before owners: root's */

enum vfa_lease_state vfa_lease_state(const struct vfa_lease *l);
void vfa_lease_set_state(struct vfa_lease *l, enum vfa_lease_state s);
const char *vfa_lease_state_str(enum vfa_lease_state s);

int vfa_state_open(const char *dir, struct vfa_state **ret, struct vfa_err *e);
void vfa_state_close(struct vfa_state *st);	/* accepts NULL; drops locks */
int vfa_state_lock(struct vfa_state *st, struct vfa_err *e);
void vfa_state_unlock(struct vfa_state *st);
int vfa_state_trylock(struct vfa_state *st);	/* 0, -EWOULDBLOCK if held elsewhere */
void vfa_state_defer_compaction(struct vfa_state *st);
int vfa_state_compact(struct vfa_state *st, struct vfa_err *e);	/* 1, 0 or -errno */
/* Locks locks/<pci>; returns an fd to close, -EWOULDBLOCK if held. */
int vfa_vf_lock(struct vfa_state *st, const char *pci, bool wait);
int vfa_vf_lock_open(struct vfa_state *st, const char *pci);
int vfa_vf_flock(int fd, bool wait);
int vfa_lease_load(struct vfa_state *st, const char *pci, struct vfa_lease *ret);
int vfa_lease_save(struct vfa_state *st, const struct vfa_lease *l,
		   struct vfa_err *e);
int vfa_lease_drop(struct vfa_state *st, const char *pci, struct vfa_err *e);
/* All leases; *ret is malloc'd, caller frees. Damaged journal records
 * are reported through bad (may be NULL) and skipped. */
int vfa_lease_list(struct vfa_state *st, struct vfa_lease **ret, size_t *ret_n,
		   json_object *bad);
unsigned int vfa_lease_damaged(const struct vfa_state *st);
/* Why a lease is fenced (doctor, reconcile's note). */
#define VFA_FENCE_WHY "a record of its lease could not be read (a damaged journal record, or a damaged lease file from before the journal, kept as leases/<pci>.json.damaged in the state dir), so a VM may hold it"
#define VFA_DAMAGED_FIX "the leases they changed may be out of date: run vfagent status (its reconcile checks every lease against the kernel and libvirt) and keep a copy of the journal for a bug report; the next compaction drops them"
int vfa_lease_parse(const char *buf, size_t len, struct vfa_lease *ret);
json_object *vfa_lease_json(const struct vfa_lease *l);
size_t vfa_lease_text(const struct vfa_lease *l, char *buf, size_t len);	/* lease_text.c */

#endif
