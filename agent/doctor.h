/* vfagent doctor: private header. May only be included by agent/doctor*.c
 * and the unit tests; callers use vfa_doctor_main() from agent/agent.h.
 *
 * Each check reads its files under the roots in struct vfa_doc_ctx (so
 * tests run on fake trees) and adds findings to a report; findings are
 * rendered to text or JSON only at the edge (doctor.c). */
#ifndef VFAGENT_DOCTOR_H
#define VFAGENT_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "agent/agent.h"

struct vfio_ctx;

enum vfa_doc_check {
	DOC_IOMMU_CMDLINE,
	DOC_IOMMU_ACTIVE,
	DOC_INTREMAP,
	DOC_VFIO_MODULES,
	DOC_CONFIG,
	DOC_PF_EXISTS,
	DOC_PF_SRIOV,
	DOC_PF_UP,
	DOC_PF_VFS,
	DOC_PF_ADDRESSES,
	DOC_VF_DRIVER,
	DOC_VF_GROUPS,
	DOC_VF_NODES,
	DOC_LIBVIRT,
	DOC_DYN_OWNERSHIP,
	DOC_APPARMOR,
	DOC_SELINUX,
	DOC_MEMLOCK,
	DOC_SLOTS,
	DOC_JOURNAL,
	DOC_LEASE_FENCED,
	DOC_CHECK__MAX,
};
extern const char *const vfa_doc_check_names[DOC_CHECK__MAX];

/* ok and info are fine, skip says why a check could not apply; warn and
 * fail are problems (exit 1): warn may bite, fail will. */
enum vfa_doc_status {
	DOC_OK,
	DOC_INFO,
	DOC_SKIP,
	DOC_WARN,
	DOC_FAIL,
	DOC_STATUS__MAX,
};
extern const char *const vfa_doc_status_names[DOC_STATUS__MAX];

struct vfa_doc_finding {
	enum vfa_doc_check check;
	enum vfa_doc_status status;
	char subject[64];		/* PF, domain, ... ("" for the host) */
	char msg[512];
	char fix[384];			/* "" when there is nothing to do */
};

#define DOC_MAX_FINDINGS 256
struct vfa_doc_report {
	unsigned int n;
	struct vfa_doc_finding f[DOC_MAX_FINDINGS];
};

#define DOC_MAX_ADDRS 16
struct vfa_doc_addr {
	char s[64];
	bool link_local;
};

/* Where the checks look, and what they share. */
struct vfa_doc_ctx {
	char sys[256], proc[256], etc[256], dev[256], run[256];
	char modules[256];		/* /lib/modules */
	char release[128];		/* uname -r */
	char apparmor[512];		/* the "enabled" parameter file */
	/* addresses of a netdev; getifaddrs() unless a test sets its own */
	int (*ifaddrs)(const char *ifname, struct vfa_doc_addr *ret, size_t max);
	const struct vfa_config *cfg;	/* NULL if it did not load */
	char cfg_err[VFA_ERR_LEN];	/* why not */
	const struct vfa_lease *leases;
	size_t n_leases;
	char state_dir[256];		/* "" if there is none (nothing leased) */
	unsigned int journal_damaged;	/* records its journal's fold skipped */
	int state_errno;		/* the state dir is there but could not be read */
	char state_err[VFA_ERR_LEN];	/* why not */
	char persist_dir[256];		/* the persistent journal's, "" if none there */
	unsigned int persist_damaged;	/* records its fold skipped */
	int persist_errno;		/* the persistent journal is there but unreadable */
	char persist_err[VFA_ERR_LEN];	/* why not */
	struct vfio_ctx *io;
	struct vfa_virt *virt;		/* NULL: libvirt not reachable */
	int virt_errno;			/* why not: ENOTSUP not built in or not installed */
	char virt_err[VFA_ERR_LEN];
};

void vfa_doc_add(struct vfa_doc_report *rep, enum vfa_doc_check check,
		 enum vfa_doc_status status, const char *subject, const char *fix,
		 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int vfa_doc_path(char *buf, size_t len, const char *root, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int vfa_doc_read(const char *path, char *buf, size_t len);
int vfa_doc_count_dir(const char *path);
int vfa_doc_conf_value(const char *path, const char *key, char *ret, size_t len);
bool vfa_doc_problems(const struct vfa_doc_report *rep);

/* doctor.c: the host */
void vfa_doc_iommu_cmdline(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
void vfa_doc_iommu_active(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
void vfa_doc_intremap(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
void vfa_doc_vfio_modules(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
/* doctor_pf.c: each configured PF and its VFs */
void vfa_doc_pfs(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
/* doctor_virt.c: libvirt, its confinement, QEMU's limits, domains */
void vfa_doc_libvirt(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
void vfa_doc_dynamic_ownership(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
void vfa_doc_apparmor(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
void vfa_doc_selinux(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
void vfa_doc_memlock(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
void vfa_doc_slots(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
void vfa_doc_journal(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
void vfa_doc_slots_xml(const char *domain, const char *xml, struct vfa_doc_report *rep);
void vfa_doc_memlock_xml(const char *domain, const char *xml, struct vfa_doc_report *rep);

/* doctor_lease.c: the leases */
void vfa_doc_fenced(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);

void vfa_doc_run(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);
json_object *vfa_doc_json(const struct vfa_doc_report *rep);
void vfa_doc_text(const struct vfa_doc_report *rep, FILE *f);

#endif
