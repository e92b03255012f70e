/* agent/fleet.h: what vfagent serve publishes for the fleet: a CDI spec
 * of every pool VF (cdi.c) and metrics for node_exporter's textfile
 * collector (metrics.c), both rebuilt from one snapshot of the pools
 * (fleet.c) and written with vfa_file_update(). */
#ifndef VFAGENT_FLEET_H
#define VFAGENT_FLEET_H

#include "agent/agent.h"
#include "agent/repair.h"

#include <stdint.h>
#include <sys/types.h>

struct vfio_ctx;

#define VFA_CDI_DIR "/var/run/cdi"
#define VFA_CDI_FILE "vfagent.io-vf.json"
#define VFA_CDI_KIND "vfagent.io/vf"
/* The newest CDI spec version podman 4.3 (Debian 12) accepts. */
#define VFA_CDI_VERSION "0.5.0"
#define VFA_METRICS_FILE "/var/lib/prometheus/node-exporter/vfagent.prom"

/* One VF of a pool, as the daemon last saw it. */
struct vfa_fleet_vf {
	char pool[VFA_NAME_LEN];
	char pci[16];
	int group;			/* IOMMU group, -1 if none */
	bool leased;
	bool healthy;			/* its PF is there and up, it has a group */
};

/* One PF of a pool. */
struct vfa_fleet_pf {
	char pool[VFA_NAME_LEN];
	char pf[VFA_NAME_LEN];		/* as configured */
	bool present, up;
};

#define VFA_FLEET_MAX_VFS 1024
struct vfa_fleet_snap {
	struct vfa_fleet_vf vfs[VFA_FLEET_MAX_VFS];
	size_t n_vfs;
	struct vfa_fleet_pf pfs[VFA_MAX_POOLS * VFA_MAX_PFS];
	size_t n_pfs;
	bool libvirt_connected;
};

/* cdi.c */
int vfa_cdi_render(const struct vfa_fleet_snap *s, char **ret);
void vfa_cdi_env_name(const char *pool, char *buf, size_t size);

/* metrics.c: counters live in struct vfa_metrics for the daemon's life. */
#define VFA_HIST_BUCKETS 12
struct vfa_hist {
	unsigned long long bucket[VFA_HIST_BUCKETS];	/* cumulative at render */
	unsigned long long count;
	double sum;
};
struct vfa_pool_counters {
	char pool[VFA_NAME_LEN];
	unsigned long long allocs, releases, alloc_failures, exhaustions;
	struct vfa_hist alloc_s, release_s;
};
struct vfa_metrics {
	struct vfa_pool_counters pools[VFA_MAX_POOLS];
	size_t n_pools;
	unsigned long long release_failures;
	unsigned long long repairs[VFA_REPAIR__N];
};
void vfa_metrics_sync(struct vfa_metrics *m, const struct vfa_config *cfg);
void vfa_metrics_alloc(struct vfa_metrics *m, const char *pool, int r, int exit,
		       double seconds);
void vfa_metrics_release(struct vfa_metrics *m, const char *pool, unsigned int n,
			 int r, double seconds);
void vfa_metrics_repairs(struct vfa_metrics *m, const unsigned int n[VFA_REPAIR__N]);
int vfa_metrics_render(const struct vfa_metrics *m, const struct vfa_fleet_snap *s,
		       char **ret);

/* fleet.c */
int vfa_file_update(const char *path, const char *buf, size_t len, bool *ret_changed);
/* What the daemon last wrote to a file (txt NULL: not known; "": no file). */
struct vfa_file_last {
	char path[512];
	char *txt;
	uint64_t fp;			/* of what txt was rendered from */
};
struct vfa_fleet {
	struct vfa_metrics m;
	struct vfa_fleet_snap snap;
	char last_err[VFA_ERR_LEN];
	struct vfio_ctx *io;
	struct vfa_file_last cdi, metrics;
	mode_t umask;
};
int vfa_fleet_new(const char *sys_root, const char *dev_root, struct vfa_fleet **ret);
void vfa_fleet_free(struct vfa_fleet *f);
int vfa_fleet_snapshot_model(struct vfa_fleet *f, struct vfa_agent *c);
int vfa_fleet_publish(struct vfa_fleet *f, struct vfa_agent *c, bool libvirt_connected,
		      struct vfa_err *e);
void vfa_fleet_recheck(struct vfa_fleet *f);
void vfa_fleet_op(struct vfa_fleet *f, const char *op, const struct vfa_opts *o, int r,
		  const struct vfa_err *e, json_object *res, double seconds);
/* The CDI spec and metrics file paths of cfg ("" when disabled). */
const char *vfa_fleet_cdi_dir(const struct vfa_config *cfg);
const char *vfa_fleet_metrics_file(const struct vfa_config *cfg);

#endif
