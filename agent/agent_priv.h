/* agent/agent_priv.h: what the agent's operations share. May only be
 * included by the agent's own .c files (agent/) and test suites. */
#ifndef VFAGENT_AGENT_PRIV_H
#define VFAGENT_AGENT_PRIV_H

#include "agent/agent.h"
#include "agent/crash.h"
#include "agent/repair.h"

#include <net/if.h>

#include "nl/vfnl.h"
#include "pci/vfpci.h"
#include "vfio/vfio.h"

#define NODE_TIMEOUT_MS 5000

struct pf {
	char spec[VFA_NAME_LEN];
	char netdev[IF_NAMESIZE];
	char pci[16];
	struct vfpci_addr addr;
	struct vfpci_sriov sriov;	/* valid once pf_sriov() succeeded */
	unsigned int max_vfs;		/* the kernel's sriov_totalvfs (binds) */
	bool have_sriov;
	struct vfnl_link *link;		/* heap: VF table included */
	const struct vfa_pool *pool;
	bool stale;			/* model: a link event came; reread it */
	char (*vf_pci)[16];		/* model: VF index -> PCI address seen, heap */
};

/* The daemon's model (model.c): what it last saw, kept between requests.
 * Off in the CLI, which starts from the kernel every run. */
#define VFA_MODEL_VFS (VFA_MAX_POOLS * VFA_MAX_PFS * 8)
struct vfa_model {
	bool on;			/* vfa_model_enable() was called */
	bool due;			/* the next begin rebuilds and reconciles */
	bool stale_all;			/* drop every PF and VF at the next begin */
	struct vfa_model_vf {		/* a VF last seen on vfio-pci */
		char pci[16];
		int group;
	} vfs[VFA_MODEL_VFS];
	unsigned int n_vfs;
	void (*drain)(void *ud);	/* reads the queued link events */
	void *drain_ud;
	bool uevents;			/* kernel uevents keep vfs[] true (serve.c) */
	int own_ifindex;		/* the PF of the SETLINK just acked */
	unsigned int own_flags;		/* and its flags as cached */
	struct vfa_model_hint {		/* a PF named by PCI address: its ifindex */
		char pci[16];		/* last found (kept when the model drops) */
		int ifindex;
	} hints[VFA_MAX_POOLS * VFA_MAX_PFS];
	unsigned int n_hints;
};

struct vfa_agent {
	char state_dir[256];
	int node_timeout_ms;
	struct vfa_config cfg;
	struct vfnl *nl;
	struct vfpci *pci;
	struct vfio_ctx *io;
	struct vfa_state *st;
	struct vfa_virt *virt;
	bool virt_tried;
	struct vfa_err virt_err;	/* why virt is NULL */
	int virt_errno;			/* its -errno: -ENOTSUP = no libvirt here */
	char persist_dir[256];		/* "" = no persistent state */
	struct vfa_state *pst;		/* persistent journal, opened on need */
	char unrestored[VFA_ERR_LEN + 512];	/* why its leases are not restored in this
					 * boot, "" when they are (reconcile.c) */
	struct pf pfs[VFA_MAX_POOLS * VFA_MAX_PFS];
	unsigned int n_pfs;
	json_object *notes;		/* what reconcile repaired or found */
	unsigned int repairs[VFA_REPAIR__N];	/* of this operation, by kind */
	struct vfa_lease reclaimed[64];	/* leases reconcile finished releasing */
	size_t n_reclaimed;
	bool check_domains;		/* reconcile asks libvirt about each domain */
	bool no_libvirt;		/* this operation never asks libvirt (setup) */
	struct pf_seen {		/* vfa_check_pfs: the last look at each PF */
		char spec[VFA_NAME_LEN];
		bool missing;
		bool up;
		uint32_t num_vf;
	} seen[VFA_MAX_POOLS * VFA_MAX_PFS];
	unsigned int n_seen;
	struct vfa_model model;
	struct vfa_vf_lockfd {		/* vflock.c: the daemon's open lock files */
		char pci[16];
		int fd;
	} vf_locks[VFA_MODEL_VFS];
	unsigned int n_vf_locks;
};

void vfa_pf_cache_clear(struct vfa_agent *c);
int vfa_agent_open_nl(const struct vfa_opts *o, struct vfnl *nl,
		      struct vfa_agent **ret, struct vfa_err *e);
json_object *vfa_jfmt(const char *fmt, ...)
		      __attribute__((format(printf, 1, 2)));
void vfa_note(struct vfa_agent *c, const char *fmt, ...)
	      __attribute__((format(printf, 2, 3)));
void vfa_repaired(struct vfa_agent *c, enum vfa_repair kind, const char *fmt, ...)
		  __attribute__((format(printf, 3, 4)));
int vfa_put_str(char *dst, size_t len, const char *src);
int vfa_journal(struct vfa_agent *c, const struct vfa_lease *l, struct vfa_err *e);
int vfa_unjournal(struct vfa_agent *c, const char *pci, struct vfa_err *e);
struct vfa_virt *vfa_virt_conn(struct vfa_agent *c, struct vfa_err *e);
int vfa_pf_resolve(struct vfa_agent *c, const char *spec, const struct vfa_pool *p,
		   struct pf **ret, struct vfa_err *e);
void vfa_pf_max_vfs(struct vfa_agent *c, struct pf *pf);
int vfa_pf_sriov(struct vfa_agent *c, struct pf *pf, struct vfa_err *e);
int vfa_pf_check_vfs(struct vfa_agent *c, struct pf *pf, struct vfa_err *e);
int vfa_pf_refresh(struct vfa_agent *c, struct pf *pf, struct vfa_err *e);
const struct vfnl_vf *vfa_pf_vf(const struct pf *pf, unsigned int idx);
void vfa_vf_baseline(const struct vfa_pool *p, unsigned int idx,
		     struct vfnl_vf_set *s);
void vfa_vf_diff(const struct vfnl_vf *cur, struct vfnl_vf_set *s);
int vfa_vf_apply(struct vfa_agent *c, struct pf *pf, struct vfnl_vf_set *s, size_t n,
		 struct vfa_err *e);
void vfa_idle_owner(const struct vfa_pool *p, uid_t *u, gid_t *g, mode_t *m);
int vfa_own_node(struct vfa_agent *c, int group, uid_t u, gid_t g, mode_t m,
		 struct vfa_err *e);
int vfa_make_ready(struct vfa_agent *c, const char *vf, int *ret_group, bool *changed,
		   struct vfa_err *e);
int vfa_vf_pci(struct vfa_agent *c, struct pf *pf, unsigned int idx, char *buf,
	       size_t len, struct vfa_err *e);
int vfa_scrub(struct vfa_agent *c, const struct vfa_lease *l, struct vfa_err *e);
int vfa_undo_attach(struct vfa_agent *c, struct vfa_lease *l, struct vfa_err *e);
int vfa_lease_unpooled(struct vfa_agent *c, struct vfa_lease *l, json_object *done,
		       struct vfa_err *e);
void vfa_reconcile_leases(struct vfa_agent *c);
void vfa_rebuild(struct vfa_agent *c);
int vfa_unrestored(const struct vfa_agent *c, struct vfa_err *e);
int vfa_begin(struct vfa_agent *c, struct vfa_err *e);
int vfa_leases_of(struct vfa_agent *c, struct vfa_lease **ret, size_t *ret_n,
		  struct vfa_err *e);
int vfa_begin_read(struct vfa_agent *c, struct vfa_lease **ret_ls,
		   size_t *ret_n, struct vfa_err *e);
bool vfa_model_vf_ready(struct vfa_agent *c, const char *pci, int *ret_group);
bool vfa_model_vf_addr(struct vfa_agent *c, struct pf *pf, unsigned int idx,
		       char *buf, size_t len);
void vfa_model_vf_addr_seen(struct vfa_agent *c, struct pf *pf, unsigned int idx,
			    const char *pci);
void vfa_model_vf_forget(struct vfa_agent *c, const char *pci);
void vfa_model_vf_seen(struct vfa_agent *c, const char *pci, int group);
void vfa_model_applied(struct pf *pf, const struct vfnl_vf_set *s, size_t n);
void vfa_model_acked(struct vfa_agent *c, const struct pf *pf);
json_object *vfa_finish(struct vfa_agent *c, json_object *o);
json_object *vfa_result(struct vfa_agent *c, const char *key, json_object *val);
int vfa_vf_hold(struct vfa_agent *c, const char *pci, bool wait);
void vfa_vf_unhold(struct vfa_agent *c, int fd);
void vfa_vf_holds_close(struct vfa_agent *c);
const struct vfa_lease *vfa_lease_on(const struct vfa_lease *ls, size_t n,
				     const char *pci);

#endif
