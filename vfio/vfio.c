/* vfio: vfio-pci binding, VF creation, IOMMU groups and /dev/vfio nodes
 * through sysfs and /dev.  Every path goes through vfio_path() on the
 * context's two roots, so tests can point them at a temporary tree. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vfio/vfio.h"

#define VFIO_DRIVER "vfio-pci"
#define VFIO_NODES_KEPT 64

struct vfio_ctx {
	char sys[PATH_MAX];
	char dev[PATH_MAX];
	char err[1024];
	int dev_fd;		/* the dev root (O_PATH), opened on first use */
	/* /dev/vfio nodes kept open (O_PATH) between ownership changes:
	 * checked by fstat per use (st_nlink 0: removed, opened again). */
	struct { int group, fd; } nodes[VFIO_NODES_KEPT];
	unsigned int n_nodes;
	bool keep_nodes;	/* vfio_ctx_keep_nodes() */
	uid_t euid;		/* geteuid(), read once per context */
	bool euid_known;
};

static void __attribute__((format(printf, 2, 3)))
seterr(struct vfio_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

/* Creates a context on sys_root (NULL: "/sys") and dev_root (NULL: "/dev").
 * Returns 0 and *ret (caller frees with vfio_ctx_free) or -errno. */
int vfio_ctx_new(const char *sys_root, const char *dev_root,
		 struct vfio_ctx **ret)
{
	struct vfio_ctx *c;
	int a, b;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	a = snprintf(c->sys, sizeof(c->sys), "%s", sys_root ? sys_root : "/sys");
	b = snprintf(c->dev, sizeof(c->dev), "%s", dev_root ? dev_root : "/dev");
	if (a <= 0 || (size_t)a >= sizeof(c->sys) || b <= 0 ||
	    (size_t)b >= sizeof(c->dev)) {
		free(c);
		return -ENAMETOOLONG;
	}
	c->dev_fd = -1;
	*ret = c;
	return 0;
}

/* Frees c. Accepts NULL. */
void vfio_ctx_free(struct vfio_ctx *c)
{
	if (!c)
		return;
	for (unsigned int i = 0; i < c->n_nodes; i++)
		close(c->nodes[i].fd);
	if (c->dev_fd >= 0)
		close(c->dev_fd);
	free(c);
}

/* on: the /dev/vfio nodes vfio_node_own() opens stay open (O_PATH) in c
 * for the next change of the same node, which then costs an fstat and
 * the changes themselves, no open or close (the daemon: a node changes
 * hands twice per lease). The path is checked (no link anywhere under
 * the dev root) when a node is opened; a kept one is used while its
 * inode is still linked (st_nlink > 0), so a node the kernel removed, or
 * anything renamed over its name, is opened again; a link put on the
 * way to a node still linked (a rename of /dev/vfio: root only) is not
 * seen until then. off (the default): opened and closed per call.
 * Accepts NULL. */
void vfio_ctx_keep_nodes(struct vfio_ctx *c, bool on)
{
	if (!c)
		return;
	c->keep_nodes = on;
	if (!on)
		while (c->n_nodes)
			close(c->nodes[--c->n_nodes].fd);
}

/* The last failure's explanation, owned by c; "" if none. */
const char *vfio_errmsg(const struct vfio_ctx *c)
{
	return c ? c->err : "no vfio context";
}

/* The sysfs root, owned by c. */
const char *vfio_sys_root(const struct vfio_ctx *c)
{
	return c->sys;
}

/* root + formatted rest into buf; -ENAMETOOLONG (buf undefined) if it does
 * not fit. The only way this module builds a path. */
int vfio_path(const struct vfio_ctx *c, bool dev, char *buf, size_t len,
	      const char *fmt, ...)
{
	const char *root = dev ? c->dev : c->sys;
	size_t rl = strlen(root);
	va_list ap;
	int n;

	if (rl >= len)
		return -ENAMETOOLONG;
	memcpy(buf, root, rl + 1);
	va_start(ap, fmt);
	n = vsnprintf(buf + rl, len - rl, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len - rl)
		return -ENAMETOOLONG;
	return 0;
}

/* A PCI or driver name must be one path component. */
static int check_name(struct vfio_ctx *c, const char *what, const char *s)
{
	if (!s || !*s || strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, "..") ||
	    strlen(s) >= NAME_MAX) {
		seterr(c, "invalid %s name \"%s\"", what, s ? s : "(null)");
		return -EINVAL;
	}
	return 0;
}

/* Reads a small sysfs file, trailing newline stripped. */
static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		return r;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

/* Writes s to an existing sysfs attribute in one write(). */
static int write_file(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* Last component of a symlink's target. */
static int link_base(const char *path, char *ret, size_t len)
{
	char buf[PATH_MAX];
	const char *b;
	ssize_t n;

	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	b = strrchr(buf, '/');
	b = b ? b + 1 : buf;
	if (strlen(b) >= len)
		return -ENAMETOOLONG;
	strcpy(ret, b);
	return 0;
}

static int dev_exists(struct vfio_ctx *c, const char *pci)
{
	char path[PATH_MAX];
	struct stat st;
	int r;

	r = check_name(c, "PCI function", pci);
	if (r < 0)
		return r;
	r = vfio_path(c, false, path, sizeof(path), "/bus/pci/devices/%s", pci);
	if (r < 0) {
		seterr(c, "path too long for %s", pci);
		return r;
	}
	if (stat(path, &st) < 0) {
		r = -errno;
		seterr(c, "PCI function %s not found (%s: %s)", pci, path,
		       strerror(-r));
		return r == -ENOENT ? -ENODEV : r;
	}
	return 0;
}

/* 0 if vfio-pci is registered and the IOMMU has groups; -ENOENT / -ENODEV
 * with the fix in the message. Loads nothing. */
int vfio_check_host(struct vfio_ctx *c)
{
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	bool any = false;
	DIR *d;
	int r;

	c->err[0] = '\0';
	r = vfio_path(c, false, path, sizeof(path), "/bus/pci/drivers/%s",
		      VFIO_DRIVER);
	if (r < 0)
		return r;
	if (stat(path, &st) < 0) {
		seterr(c, "vfio-pci is not loaded (%s missing): modprobe vfio-pci",
		       path);
		return -ENOENT;
	}
	r = vfio_path(c, false, path, sizeof(path), "/kernel/iommu_groups");
	if (r < 0)
		return r;
	d = opendir(path);
	if (d) {
		while ((e = readdir(d)))
			if (e->d_name[0] != '.') {
				any = true;
				break;
			}
		closedir(d);
	}
	if (!any) {
		seterr(c, "the IOMMU is off (%s is empty): enable VT-d/AMD-Vi in "
		       "firmware and boot with intel_iommu=on iommu=pt (or "
		       "amd_iommu=on)", path);
		return -ENODEV;
	}
	return 0;
}

/* Current driver of pci into ret ("" if unbound). -ENODEV if no such
 * function, -ENAMETOOLONG if ret is too small. */
/* Reads one optional attribute of a function (a file or a link's target,
 * by reader) into ret; "" where the kernel has none. */
static int read_opt(struct vfio_ctx *c, const char *pci, const char *attr,
		    int (*reader)(const char *, char *, size_t), char *ret,
		    size_t len)
{
	char path[PATH_MAX], buf[NAME_MAX + 1];
	int r;

	c->err[0] = '\0';
	r = dev_exists(c, pci);
	if (r < 0)
		return r;
	r = vfio_path(c, false, path, sizeof(path), "/bus/pci/devices/%s/%s",
		      pci, attr);
	if (r < 0)
		return r;
	r = reader(path, buf, sizeof(buf));
	if (r == -ENOENT) {
		buf[0] = '\0';
	} else if (r < 0) {
		seterr(c, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	if (strlen(buf) >= len)
		return -ENAMETOOLONG;
	strcpy(ret, buf);
	return 0;
}

int vfio_driver(struct vfio_ctx *c, const char *pci, char *ret, size_t len)
{
	return read_opt(c, pci, "driver", link_base, ret, len);
}

static void not_registered(struct vfio_ctx *c, const char *driver,
			   const char *path)
{
	if (!strcmp(driver, VFIO_DRIVER))
		seterr(c, "vfio-pci is not loaded (%s missing): modprobe vfio-pci",
		       path);
	else
		seterr(c, "driver %s is not registered (%s missing): modprobe %s "
		       "or check the name", driver, path, driver);
}

/* Binds pci to driver: driver_override, unbind from the current driver,
 * drivers_probe, verify the driver link. 0 if already bound to it,
 * -ENOENT if driver is not registered, -EIO if probing did not bind (the
 * override stays set, so a later probe picks the same driver). */
int vfio_bind(struct vfio_ctx *c, const char *pci, const char *driver)
{
	char path[PATH_MAX], cur[NAME_MAX + 1], now[NAME_MAX + 1];
	struct stat st;
	int r;

	c->err[0] = '\0';
	r = check_name(c, "driver", driver);
	if (r < 0)
		return r;
	r = vfio_driver(c, pci, cur, sizeof(cur));
	if (r < 0)
		return r;
	if (!strcmp(cur, driver))
		return 0;
	r = vfio_path(c, false, path, sizeof(path), "/bus/pci/drivers/%s", driver);
	if (r < 0)
		return r;
	if (stat(path, &st) < 0) {
		not_registered(c, driver, path);
		return -ENOENT;
	}
	/* The override first: from here on only driver may claim pci, so no
	 * other driver can grab it between unbind and probe. */
	r = vfio_path(c, false, path, sizeof(path),
		      "/bus/pci/devices/%s/driver_override", pci);
	if (r < 0)
		return r;
	r = write_file(path, driver);
	if (r < 0) {
		seterr(c, "cannot write %s to %s: %s%s", driver, path, strerror(-r),
		       r == -EACCES || r == -EPERM ? " (run as root)" : "");
		return r;
	}
	if (cur[0]) {
		r = vfio_path(c, false, path, sizeof(path),
			      "/bus/pci/devices/%s/driver/unbind", pci);
		if (r < 0)
			return r;
		r = write_file(path, pci);
		/* ENOENT/ENODEV: it was unbound meanwhile, which is the goal. */
		if (r < 0 && r != -ENOENT && r != -ENODEV) {
			seterr(c, "cannot unbind %s from %s: %s", pci, cur,
			       strerror(-r));
			return r;
		}
	}
	r = vfio_path(c, false, path, sizeof(path), "/bus/pci/drivers_probe");
	if (r < 0)
		return r;
	r = write_file(path, pci);
	if (r < 0) {
		seterr(c, "probing %s for %s failed (%s: %s); see dmesg", pci,
		       driver, path, strerror(-r));
		return r;
	}
	r = vfio_driver(c, pci, now, sizeof(now));
	if (r < 0)
		return r;
	if (strcmp(now, driver)) {
		seterr(c, "%s did not bind to %s (%s); see dmesg", pci, driver,
		       now[0] ? now : "now unbound");
		return -EIO;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned int *ret)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT_MAX)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int read_uint(struct vfio_ctx *c, const char *path, unsigned int *ret)
{
	char buf[64];
	int r;

	r = read_file(path, buf, sizeof(buf));
	if (r < 0) {
		seterr(c, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	r = parse_uint(buf, ret);
	if (r < 0)
		seterr(c, "%s: not a number: \"%s\"", path, buf);
	return r;
}

/* A number-valued attribute of an existing function. */
static int read_attr_uint(struct vfio_ctx *c, const char *pci, const char *attr,
			  unsigned int *ret)
{
	char path[PATH_MAX];
	int r;

	r = dev_exists(c, pci);
	if (r < 0)
		return r;
	r = vfio_path(c, false, path, sizeof(path), "/bus/pci/devices/%s/%s",
		      pci, attr);
	if (r < 0)
		return r;
	return read_uint(c, path, ret);
}

/* sriov_numvfs of pf. -ENOENT if pf is not SR-IOV capable. */
int vfio_numvfs(struct vfio_ctx *c, const char *pf, unsigned int *ret)
{
	c->err[0] = '\0';
	return read_attr_uint(c, pf, "sriov_numvfs", ret);
}

/* sriov_totalvfs of pf: the kernel's limit, which may be below the
 * config space's TotalVFs (igb: 7 of 8). -ENOENT if pf is not SR-IOV
 * capable. */
int vfio_totalvfs(struct vfio_ctx *c, const char *pf, unsigned int *ret)
{
	c->err[0] = '\0';
	return read_attr_uint(c, pf, "sriov_totalvfs", ret);
}

static int write_uint(struct vfio_ctx *c, const char *pf, const char *attr,
		      unsigned int v)
{
	char path[PATH_MAX], num[16];
	int r;

	r = vfio_path(c, false, path, sizeof(path), "/bus/pci/devices/%s/%s",
		      pf, attr);
	if (r < 0)
		return r;
	snprintf(num, sizeof(num), "%u", v);
	r = write_file(path, num);
	if (r < 0)
		seterr(c, "cannot write %s to %s: %s%s", num, path, strerror(-r),
		       r == -EBUSY ? " (VFs in use? release them first)" :
		       r == -EACCES ? " (run as root)" : "");
	return r;
}

/* Sets sriov_drivers_autoprobe, then sriov_numvfs to n, through 0 when
 * changing a non-zero count (the kernel refuses otherwise). -ERANGE if n
 * exceeds sriov_totalvfs. */
int vfio_set_numvfs(struct vfio_ctx *c, const char *pf, unsigned int n,
		    bool autoprobe)
{
	unsigned int total, cur;
	int r;

	c->err[0] = '\0';
	r = read_attr_uint(c, pf, "sriov_totalvfs", &total);
	if (r == -ENOENT)
		seterr(c, "%s is not SR-IOV capable (no sriov_totalvfs)", pf);
	if (r < 0)
		return r;
	if (n > total) {
		seterr(c, "%s supports at most %u VFs, %u asked", pf, total, n);
		return -ERANGE;
	}
	r = write_uint(c, pf, "sriov_drivers_autoprobe", autoprobe);
	if (r < 0)
		return r;
	r = vfio_numvfs(c, pf, &cur);
	if (r < 0)
		return r;
	if (cur == n)
		return 0;
	if (cur != 0 && n != 0) {
		r = write_uint(c, pf, "sriov_numvfs", 0);
		if (r < 0)
			return r;
	}
	return write_uint(c, pf, "sriov_numvfs", n);
}

/* PCI name of VF idx of pf (the virtfn<idx> link). -ENOENT if absent. */
int vfio_virtfn(struct vfio_ctx *c, const char *pf, unsigned int idx,
		char *ret, size_t len)
{
	char path[PATH_MAX], name[NAME_MAX + 1];
	int r;

	c->err[0] = '\0';
	r = dev_exists(c, pf);
	if (r < 0)
		return r;
	r = vfio_path(c, false, path, sizeof(path),
		      "/bus/pci/devices/%s/virtfn%u", pf, idx);
	if (r < 0)
		return r;
	r = link_base(path, name, sizeof(name));
	if (r < 0) {
		seterr(c, "%s has no VF %u (%s: %s)", pf, idx, path, strerror(-r));
		return r;
	}
	if (strlen(name) >= len)
		return -ENAMETOOLONG;
	strcpy(ret, name);
	return 0;
}

/* IOMMU group number of pci from its iommu_group link. -ENOENT if none. */
int vfio_group(struct vfio_ctx *c, const char *pci, int *ret_group)
{
	char path[PATH_MAX], name[NAME_MAX + 1];
	unsigned int g;
	int r;

	c->err[0] = '\0';
	r = dev_exists(c, pci);
	if (r < 0)
		return r;
	r = vfio_path(c, false, path, sizeof(path),
		      "/bus/pci/devices/%s/iommu_group", pci);
	if (r < 0)
		return r;
	r = link_base(path, name, sizeof(name));
	if (r == -ENOENT) {
		seterr(c, "%s has no IOMMU group: the IOMMU is off (boot with "
		       "intel_iommu=on iommu=pt or amd_iommu=on)", pci);
		return r;
	}
	if (r < 0) {
		seterr(c, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	if (parse_uint(name, &g) < 0 || g > INT_MAX) {
		seterr(c, "%s: iommu_group link names \"%s\"", pci, name);
		return -EBADMSG;
	}
	*ret_group = g;
	return 0;
}

/* 0 if every member of group is bound to vfio-pci or unbound (PCI bridges,
 * class 0x0604, aside). -EBUSY with "member (driver)" list otherwise,
 * -ENOENT if the group does not exist. */
int vfio_group_viable(struct vfio_ctx *c, int group)
{
	char path[PATH_MAX], buf[64], drv[NAME_MAX + 1], bad[768];
	size_t used = 0;
	struct dirent *e;
	unsigned int members = 0, nbad = 0;
	DIR *d;
	int r;

	c->err[0] = '\0';
	bad[0] = '\0';
	if (group < 0)
		return -EINVAL;
	r = vfio_path(c, false, path, sizeof(path),
		      "/kernel/iommu_groups/%d/devices", group);
	if (r < 0)
		return r;
	d = opendir(path);
	if (!d) {
		r = -errno;
		seterr(c, "IOMMU group %d not found (%s: %s)", group, path,
		       strerror(-r));
		return r;
	}
	while ((e = readdir(d))) {
		char dp[PATH_MAX];
		unsigned long cls = 0;

		if (e->d_name[0] == '.')
			continue;
		members++;
		r = vfio_path(c, false, dp, sizeof(dp),
			      "/kernel/iommu_groups/%d/devices/%s/class", group,
			      e->d_name);
		if (r == 0 && read_file(dp, buf, sizeof(buf)) == 0)
			cls = strtoul(buf, NULL, 0);
		if ((cls >> 8) == 0x0604)
			continue;
		r = vfio_path(c, false, dp, sizeof(dp),
			      "/kernel/iommu_groups/%d/devices/%s/driver", group,
			      e->d_name);
		if (r < 0 || link_base(dp, drv, sizeof(drv)) < 0)
			drv[0] = '\0';
		if (!drv[0] || !strcmp(drv, VFIO_DRIVER))
			continue;
		nbad++;
		if (used < sizeof(bad)) {
			int n = snprintf(bad + used, sizeof(bad) - used, "%s%s (%s)",
					 used ? ", " : "", e->d_name, drv);
			if (n > 0)
				used += n;
		}
	}
	closedir(d);
	if (!members) {
		seterr(c, "IOMMU group %d has no devices", group);
		return -ENOENT;
	}
	if (nbad) {
		seterr(c, "IOMMU group %d is not viable: %s; bind them to vfio-pci "
		       "or unbind them", group, bad);
		return -EBUSY;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until /dev/vfio/<group> exists: inotify on the /dev root (for the
 * vfio directory) and on /dev/vfio, checking after each watch is in place
 * so an event between check and watch cannot be lost. -ETIMEDOUT after
 * timeout_ms (0: check once). */
int vfio_wait_node(struct vfio_ctx *c, int group, int timeout_ms)
{
	char dir[PATH_MAX], node[PATH_MAX];
	char evbuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int64_t deadline;
	int ifd, wd_dir = -1, r;
	struct stat st;

	c->err[0] = '\0';
	if (group < 0 || timeout_ms < 0)
		return -EINVAL;
	r = vfio_path(c, true, dir, sizeof(dir), "/vfio");
	if (r < 0)
		return r;
	r = vfio_path(c, true, node, sizeof(node), "/vfio/%d", group);
	if (r < 0)
		return r;
	/* The warm path: the node is there already, no watch needed. */
	if (lstat(node, &st) == 0)
		return 0;
	deadline = now_ms() + timeout_ms;
	ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd < 0) {
		r = -errno;
		seterr(c, "inotify_init1: %s", strerror(-r));
		return r;
	}
	if (inotify_add_watch(ifd, c->dev, IN_CREATE | IN_MOVED_TO |
			      IN_ONLYDIR) < 0) {
		r = -errno;
		seterr(c, "cannot watch %s: %s", c->dev, strerror(-r));
		goto out;
	}
	for (;;) {
		struct pollfd pfd = { .fd = ifd, .events = POLLIN };
		int64_t left;

		if (wd_dir < 0) {
			wd_dir = inotify_add_watch(ifd, dir, IN_CREATE |
						   IN_MOVED_TO | IN_ATTRIB |
						   IN_ONLYDIR);
			if (wd_dir < 0 && errno != ENOENT) {
				r = -errno;
				seterr(c, "cannot watch %s: %s", dir, strerror(-r));
				goto out;
			}
		}
		/* Checked after the watches: nothing can slip in between. */
		if (lstat(node, &st) == 0) {
			r = 0;
			goto out;
		}
		left = deadline - now_ms();
		if (left <= 0) {
			seterr(c, "%s did not appear within %d ms: is the device "
			       "bound to vfio-pci?", node, timeout_ms);
			r = -ETIMEDOUT;
			goto out;
		}
		r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno != EINTR) {
			r = -errno;
			seterr(c, "poll: %s", strerror(-r));
			goto out;
		}
		/* Drain; what changed is re-checked by lstat above. */
		while (read(ifd, evbuf, sizeof(evbuf)) > 0)
			;
	}
out:
	close(ifd);
	return r;
}

/* dev_root/vfio as an O_PATH directory fd, reached without links. */
static int open_vfio_dir(struct vfio_ctx *c, int *ret_fd)
{
	int dfd, vfd, r;

	dfd = open(c->dev, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		seterr(c, "cannot open %s: %s", c->dev, strerror(-r));
		return r;
	}
	vfd = openat(dfd, "vfio", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	r = -errno;
	close(dfd);
	if (vfd < 0) {
		if (r == -ELOOP || r == -ENOTDIR) {
			seterr(c, "%s/vfio is not a directory under %s: refused",
			       c->dev, c->dev);
			return -EPERM;
		}
		seterr(c, "cannot open %s/vfio: %s", c->dev, strerror(-r));
		return r;
	}
	*ret_fd = vfd;
	return 0;
}

/* dev_root/vfio/<name> through openat2() from the kept dev root: no link
 * anywhere on the way (one call, no walk of the dev root per node).
 * -ENOSYS on kernels before 5.6. */
static int open_node2(struct vfio_ctx *c, const char *name, int *ret_fd)
{
	struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH |
					   RESOLVE_NO_MAGICLINKS };
	char rel[32];
	long fd;

	if (c->dev_fd < 0) {
		c->dev_fd = open(c->dev, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (c->dev_fd < 0)
			return -errno;
	}
	snprintf(rel, sizeof(rel), "vfio/%s", name);
	fd = syscall(SYS_openat2, c->dev_fd, rel, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	*ret_fd = (int)fd;
	return 0;
}

/* Opens dev_root/vfio/<group> as O_PATH without following any link below
 * the dev root: the result can only be a file under it. */
static int open_node(struct vfio_ctx *c, int group, int *ret_fd)
{
	char name[16];
	int vfd = -1, nfd, r;

	snprintf(name, sizeof(name), "%d", group);
	r = open_node2(c, name, ret_fd);
	if (r == -ENOENT && c->dev_fd >= 0) {
		/* The kept dev root may be gone (a test's tree): once more. */
		close(c->dev_fd);
		c->dev_fd = -1;
		r = open_node2(c, name, ret_fd);
	}
	if (r == -ELOOP || r == -EXDEV) {
		seterr(c, "%s/vfio/%s is reached through a link: refused", c->dev, name);
		return -EPERM;
	}
	if (r != -ENOSYS) {
		if (r < 0)
			seterr(c, "cannot open %s/vfio/%s: %s", c->dev, name, strerror(-r));
		return r;
	}
	r = open_vfio_dir(c, &vfd);
	if (r < 0)
		return r;
	nfd = openat(vfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	r = -errno;
	close(vfd);
	if (nfd < 0) {
		seterr(c, "cannot open %s/vfio/%s: %s", c->dev, name, strerror(-r));
		return r;
	}
	*ret_fd = nfd;
	return 0;
}

/* fchmod() refuses O_PATH descriptors; the /proc link reaches the very
 * inode we checked, not whatever the name points to now. */
static int chmod_fd(int fd, mode_t mode)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if (chmod(p, mode) < 0)
		return -errno;
	return 0;
}

/* Every chmod made by the owner: ownership is taken first (keeping the
 * group) and handed to uid last, so root needs CAP_CHOWN only, never
 * CAP_FOWNER (without it, a chmod of a node the VM user owned failed: an
 * alloc could not finish nor its rollback idle the node). The mode is
 * narrowed before the group changes and widened after, so no intermediate
 * state grants anyone but root more than the old or the new one. */
static int set_owner_mode(struct vfio_ctx *c, int fd, const struct stat *st,
			  uid_t uid, gid_t gid, mode_t mode)
{
	uid_t me;
	gid_t cur_gid = st->st_gid;
	mode_t cur = st->st_mode & 07777;
	int r = 0;

	if (!c->euid_known) {
		c->euid = geteuid();
		c->euid_known = true;
	}
	me = c->euid;
	/* Each step only when it changes something: a node changing hands
	 * costs three calls, not five. */
	if (st->st_uid != me && fchownat(fd, "", me, cur_gid, AT_EMPTY_PATH) < 0)
		return -errno;
	if ((cur & mode) != cur) {
		r = chmod_fd(fd, cur & mode);
		cur &= mode;
	}
	if (r == 0 && cur_gid != gid && fchownat(fd, "", me, gid, AT_EMPTY_PATH) < 0)
		r = -errno;
	if (r == 0 && cur != mode)
		r = chmod_fd(fd, mode);
	if (r == 0 && uid != me && fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		r = -errno;
	return r;
}

/* fstat() without a path: glibc's fstat() is fstatat(fd, "", AT_EMPTY_PATH),
 * which on older kernels (6.1 here) zeroes a 4 KiB name buffer
 * (a cost in every request of the daemon, large under emulation). */
static int fstat_fd(int fd, struct stat *st)
{
#ifdef SYS_fstat
	return syscall(SYS_fstat, fd, st) < 0 ? -errno : 0;
#else
	return fstat(fd, st) < 0 ? -errno : 0;
#endif
}

/* Drops the kept descriptor of group's node, if any. */
static void node_forget(struct vfio_ctx *c, int group)
{
	for (unsigned int i = 0; i < c->n_nodes; i++) {
		if (c->nodes[i].group != group)
			continue;
		close(c->nodes[i].fd);
		c->nodes[i] = c->nodes[--c->n_nodes];
		return;
	}
}

/* dev_root/vfio/<group> as an O_PATH descriptor, with its fstat. With
 * keep_nodes it is c's (kept for the next call; vfio_ctx_keep_nodes says
 * when a kept one is trusted), else the caller's to close. Returns 0 or
 * -errno with c->err set. */
static int node_open_kept(struct vfio_ctx *c, int group, int *ret_fd,
			  struct stat *ret_st)
{
	struct stat st;
	int fd, r;

	for (unsigned int i = 0; i < c->n_nodes; i++) {
		if (c->nodes[i].group != group)
			continue;
		if (fstat_fd(c->nodes[i].fd, &st) == 0 && st.st_nlink > 0) {
			*ret_fd = c->nodes[i].fd;
			*ret_st = st;
			return 0;
		}
		node_forget(c, group);
		break;
	}
	r = open_node(c, group, &fd);
	if (r < 0)
		return r;
	r = fstat_fd(fd, &st);
	if (r < 0) {
		seterr(c, "fstat %s/vfio/%d: %s", c->dev, group, strerror(-r));
		close(fd);
		return r;
	}
	if (!c->keep_nodes) {
		*ret_fd = fd;
		*ret_st = st;
		return 0;
	}
	if (c->n_nodes == VFIO_NODES_KEPT)	/* full: the oldest goes */
		node_forget(c, c->nodes[0].group);
	c->nodes[c->n_nodes].group = group;
	c->nodes[c->n_nodes++].fd = fd;
	*ret_fd = fd;
	*ret_st = st;
	return 0;
}

/* Sets owner, group and mode of dev_root/vfio/<group> where they differ:
 * 1 if something changed, 0 if it was so already. -EPERM (nothing
 * changed) if it is not a character device reached without links under
 * the dev root; another -errno (set_owner_mode's step failed) otherwise.
 * One open of the node, no separate stat first; none with
 * vfio_ctx_keep_nodes(c, true) once it was opened. */
int vfio_node_own(struct vfio_ctx *c, int group, uid_t uid, gid_t gid,
		  mode_t mode)
{
	struct stat st;
	int fd, r;

	c->err[0] = '\0';
	if (group < 0 || (mode & ~07777))
		return -EINVAL;
	r = node_open_kept(c, group, &fd, &st);
	if (r < 0)
		return r;
	/* So already: nothing is touched, whatever it is. */
	if (st.st_uid == uid && st.st_gid == gid && (st.st_mode & 07777) == mode)
		goto out;	/* r is 0 */
	if (!S_ISCHR(st.st_mode)) {
		seterr(c, "%s/vfio/%d is not a character device: refused", c->dev,
		       group);
		r = -EPERM;
		goto out;
	}
	r = set_owner_mode(c, fd, &st, uid, gid, mode);
	if (r < 0)
		seterr(c, "cannot set %s/vfio/%d to %u:%u %04o: %s%s", c->dev, group,
		       (unsigned int)uid, (unsigned int)gid, (unsigned int)mode,
		       strerror(-r), r == -EPERM ? " (needs root with CAP_CHOWN)" :
		       r == -ENOENT ? " (is /proc mounted?)" : "");
	else
		r = 1;
out:
	if (!c->keep_nodes)
		close(fd);
	else if (r < 0)
		node_forget(c, group);	/* opened again next time */
	return r;
}

/* Sets owner, group and mode of dev_root/vfio/<group>: 0, or -errno as
 * vfio_node_own(). */
int vfio_node_chown(struct vfio_ctx *c, int group, uid_t uid, gid_t gid,
		    mode_t mode)
{
	int r = vfio_node_own(c, group, uid, gid, mode);

	return r > 0 ? 0 : r;
}

/* Owner, group and permission bits of dev_root/vfio/<group>, read without
 * following links. */
int vfio_node_stat(struct vfio_ctx *c, int group, uid_t *ret_uid,
		   gid_t *ret_gid, mode_t *ret_mode)
{
	struct stat st;
	int fd, r;

	c->err[0] = '\0';
	if (group < 0)
		return -EINVAL;
	r = open_node(c, group, &fd);
	if (r < 0)
		return r;
	r = fstat(fd, &st) < 0 ? -errno : 0;
	close(fd);
	if (r < 0) {
		seterr(c, "fstat %s/vfio/%d: %s", c->dev, group, strerror(-r));
		return r;
	}
	*ret_uid = st.st_uid;
	*ret_gid = st.st_gid;
	*ret_mode = st.st_mode & 07777;
	return 0;
}

static long bufsize(int name)
{
	long n = sysconf(name);

	return n > 0 ? n : 16384;
}

/* "user:group", "user" (its primary group), "uid:gid" or a mix.
 * -ENOENT if a name is unknown (or a bare uid has no passwd entry),
 * -EINVAL if malformed. Thread-safe (the _r lookups). */
int vfio_parse_owner(const char *spec, uid_t *ret_uid, gid_t *ret_gid)
{
	char user[256], *buf = NULL;
	const char *colon, *gs = NULL;
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	unsigned int num;
	uid_t uid;
	gid_t gid = 0;
	bool have_gid = false;
	size_t ul;
	long blen;
	int r;

	if (!spec || !*spec)
		return -EINVAL;
	colon = strchr(spec, ':');
	ul = colon ? (size_t)(colon - spec) : strlen(spec);
	if (ul == 0 || ul >= sizeof(user))
		return -EINVAL;
	memcpy(user, spec, ul);
	user[ul] = '\0';
	if (colon) {
		gs = colon + 1;
		if (!*gs || strchr(gs, ':'))
			return -EINVAL;
	}
	blen = bufsize(_SC_GETPW_R_SIZE_MAX);
	if (bufsize(_SC_GETGR_R_SIZE_MAX) > blen)
		blen = bufsize(_SC_GETGR_R_SIZE_MAX);
	buf = malloc(blen);
	if (!buf)
		return -ENOMEM;

	if (parse_uint(user, &num) == 0) {
		uid = num;
		if (!gs) {	/* need the primary group */
			r = getpwuid_r(uid, &pw, buf, blen, &pwp);
			if (r || !pwp) {
				r = r ? -r : -ENOENT;
				goto out;
			}
			gid = pwp->pw_gid;
			have_gid = true;
		}
	} else {
		r = getpwnam_r(user, &pw, buf, blen, &pwp);
		if (r || !pwp) {
			r = r ? -r : -ENOENT;
			goto out;
		}
		uid = pwp->pw_uid;
		gid = pwp->pw_gid;
		have_gid = !gs;
	}
	if (gs) {
		if (parse_uint(gs, &num) == 0) {
			gid = num;
		} else {
			r = getgrnam_r(gs, &gr, buf, blen, &grp);
			if (r || !grp) {
				r = r ? -r : -ENOENT;
				goto out;
			}
			gid = grp->gr_gid;
		}
		have_gid = true;
	}
	r = have_gid ? 0 : -EINVAL;
	if (r == 0) {
		*ret_uid = uid;
		*ret_gid = gid;
	}
out:
	free(buf);
	return r;
}

/* reset_method of pci into ret; "" where the kernel has no such file.
 * -ENODEV if pci does not exist. */
int vfio_reset_method(struct vfio_ctx *c, const char *pci, char *ret,
		      size_t len)
{
	return read_opt(c, pci, "reset_method", read_file, ret, len);
}
