/* vfio: driver binding (vfio-pci and back), SR-IOV VF creation, IOMMU
 * groups and /dev/vfio node ownership, through sysfs and /dev.
 * Mechanism only: 0 or -errno, never prints, exits or sleeps a fixed time.
 * vfio_errmsg() explains the last failure. PCI functions are named by
 * their sysfs names ("0000:00:12.0"). */
#ifndef VFAGENT_VFIO_H
#define VFAGENT_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define VFIO_DRV_LEN 64

struct vfio_ctx;		/* opaque: sysfs root, /dev root, last error */

/* sys_root NULL: "/sys"; dev_root NULL: "/dev". Caller owns *ret. */
int vfio_ctx_new(const char *sys_root, const char *dev_root,
		 struct vfio_ctx **ret);
void vfio_ctx_free(struct vfio_ctx *c);	/* accepts NULL */
const char *vfio_errmsg(const struct vfio_ctx *c);
/* Keep /dev/vfio nodes open between vfio_node_own() calls (vfio.c). */
void vfio_ctx_keep_nodes(struct vfio_ctx *c, bool on);
const char *vfio_sys_root(const struct vfio_ctx *c);

/* Builds root + formatted rest into buf; -ENAMETOOLONG if it does not fit.
 * dev selects the /dev root instead of the sysfs root. */
int vfio_path(const struct vfio_ctx *c, bool dev, char *buf, size_t len,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Is vfio-pci registered (/sys/bus/pci/drivers/vfio-pci) and is the IOMMU
 * on (/sys/kernel/iommu_groups not empty)? -ENOENT / -ENODEV with the fix
 * in vfio_errmsg(). Loads nothing. */
int vfio_check_host(struct vfio_ctx *c);

/* Current driver of a function; ret "" if unbound. */
int vfio_driver(struct vfio_ctx *c, const char *pci, char *ret, size_t len);

/* Binds pci to driver ("vfio-pci", "igbvf"): driver_override, unbind from
 * the current driver, drivers_probe, then verify. 0 if already bound.
 * -ENOENT if the driver is not registered; -EIO if probing did not bind. */
int vfio_bind(struct vfio_ctx *c, const char *pci, const char *driver);

/* sriov_numvfs of a PF. */
int vfio_numvfs(struct vfio_ctx *c, const char *pf, unsigned int *ret);
/* sriov_totalvfs of a PF: the kernel's limit (may be below TotalVFs). */
int vfio_totalvfs(struct vfio_ctx *c, const char *pf, unsigned int *ret);
/* Sets sriov_numvfs to n (through 0 when changing a non-zero count) with
 * sriov_drivers_autoprobe set to autoprobe first. */
int vfio_set_numvfs(struct vfio_ctx *c, const char *pf, unsigned int n,
		    bool autoprobe);
/* PCI name of VF index idx of pf (the virtfnN link). -ENOENT if absent. */
int vfio_virtfn(struct vfio_ctx *c, const char *pf, unsigned int idx,
		char *ret, size_t len);

/* IOMMU group number of a function; -ENOENT if it has none (IOMMU off). */
int vfio_group(struct vfio_ctx *c, const char *pci, int *ret_group);
/* Viable for vfio: every member bound to vfio-pci or to no driver (PCI
 * bridges aside). -EBUSY if not, with the offending members and their
 * drivers listed in vfio_errmsg(). */
int vfio_group_viable(struct vfio_ctx *c, int group);

/* Waits for /dev/vfio/<group> by inotify until timeout_ms. -ETIMEDOUT. */
int vfio_wait_node(struct vfio_ctx *c, int group, int timeout_ms);
/* Sets owner, group and mode of /dev/vfio/<group>; refuses (-EPERM) a path
 * that is not a character device under the /dev root. */
int vfio_node_chown(struct vfio_ctx *c, int group, uid_t uid, gid_t gid,
		    mode_t mode);
/* The same where they differ, in one open: 1 if changed, 0 if so already. */
int vfio_node_own(struct vfio_ctx *c, int group, uid_t uid, gid_t gid,
		  mode_t mode);
int vfio_node_stat(struct vfio_ctx *c, int group, uid_t *ret_uid,
		   gid_t *ret_gid, mode_t *ret_mode);

/* Resolves "user:group", "user", "uid:gid" to ids. -ENOENT if unknown. */
int vfio_parse_owner(const char *spec, uid_t *ret_uid, gid_t *ret_gid);

/* reset_method of a function ("" where the kernel lacks the file). */
int vfio_reset_method(struct vfio_ctx *c, const char *pci, char *ret,
		      size_t len);

/* Kernel uevents (vfio/uevent.c): a PCI function bound, unbound, added,
 * removed; a /dev/vfio/<group> node added or removed. */
enum vfio_uev_action {
	VFIO_UEV_OTHER,
	VFIO_UEV_ADD,
	VFIO_UEV_REMOVE,
	VFIO_UEV_BIND,
	VFIO_UEV_UNBIND,
	VFIO_UEV_CHANGE,
};

struct vfio_uevent {
	enum vfio_uev_action action;
	char subsystem[32];
	char pci[16];			/* subsystem "pci": PCI_SLOT_NAME, else "" */
	char driver[VFIO_DRV_LEN];	/* DRIVER= (a bind), else "" */
	int group;			/* subsystem "vfio": node vfio/<group>, else -1 */
};

struct vfio_uev_sock;		/* opaque: the uevent socket */

typedef void (*vfio_uevent_cb)(const struct vfio_uevent *ev, void *ud);

int vfio_uevent_parse(const char *buf, size_t len, struct vfio_uevent *ret);
int vfio_uevent_open(struct vfio_uev_sock **ret);
int vfio_uevent_fd(const struct vfio_uev_sock *u);
int vfio_uevent_read(struct vfio_uev_sock *u, vfio_uevent_cb cb, void *ud);
void vfio_uevent_close(struct vfio_uev_sock *u);

#endif
