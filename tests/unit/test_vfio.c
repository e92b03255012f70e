/* vfio/ against a temporary tree: a fake sysfs (regular files for the
 * attributes, symlinks for driver/iommu_group/virtfn, as the kernel lays
 * them out) and a fake /dev. Binding cannot really happen here, so the bind
 * tests check what was written where and that the missing effect is
 * reported; the lab test checks the real thing. No root needed; the
 * character-device chown test runs only as root (mknod). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vfio/vfio.h"
#include "tests/unit/t.h"

static char top[256];

static int put(const char *rel, const char *s)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	f = fopen(p, "w");
	if (!f)
		return -1;
	fputs(s, f);
	return fclose(f);
}

static const char *get(const char *rel)
{
	static char buf[256];
	char p[512];
	FILE *f;

	buf[0] = '\0';
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	f = fopen(p, "r");
	if (!f)
		return "(missing)";
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static int dir(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	return mkdir(p, 0755);
}

static int ln(const char *target, const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	unlink(p);
	return symlink(target, p);
}

static int build(void)
{
	static const char *dirs[] = { "sys", "sys/bus", "sys/bus/pci",
		"sys/bus/pci/devices", "sys/bus/pci/drivers",
		"sys/bus/pci/drivers/igbvf", "sys/bus/pci/drivers/vfio-pci",
		"sys/bus/pci/drivers/pcieport", "sys/kernel",
		"sys/kernel/iommu_groups", "sys/kernel/iommu_groups/6",
		"sys/kernel/iommu_groups/6/devices", "sys/kernel/iommu_groups/7",
		"sys/kernel/iommu_groups/7/devices",
		"sys/bus/pci/devices/0000:00:02.0", "sys/bus/pci/devices/0000:00:12.0",
		"sys/bus/pci/devices/0000:00:12.2", "sys/bus/pci/devices/0000:00:1c.0",
		"dev", "empty", "empty/bus", "empty/bus/pci", "empty/kernel",
		"empty/kernel/iommu_groups", "empty/bus/pci/drivers",
		"empty/bus/pci/drivers/vfio-pci", NULL };
	const char *pd = "sys/bus/pci/devices/";
	char p[256];
	int i, r = 0;

	for (i = 0; dirs[i]; i++)
		r |= dir(dirs[i]);
	r |= put("sys/bus/pci/drivers_probe", "");
	r |= put("sys/bus/pci/drivers/igbvf/unbind", "");
	r |= put("sys/bus/pci/drivers/vfio-pci/unbind", "");
	/* The PF. */
	r |= put("sys/bus/pci/devices/0000:00:02.0/sriov_totalvfs", "7\n");
	r |= put("sys/bus/pci/devices/0000:00:02.0/sriov_numvfs", "3\n");
	r |= put("sys/bus/pci/devices/0000:00:02.0/sriov_drivers_autoprobe", "1\n");
	r |= ln("../0000:00:12.0", "sys/bus/pci/devices/0000:00:02.0/virtfn0");
	/* VF 0: igbvf, group 6. VF 1 unbound and a bridge: group 7. */
	for (i = 0; i < 3; i++) {
		const char *n[] = { "0000:00:12.0", "0000:00:12.2", "0000:00:1c.0" };

		snprintf(p, sizeof(p), "%s%s/class", pd, n[i]);
		r |= put(p, i == 2 ? "0x060400\n" : "0x020000\n");
		snprintf(p, sizeof(p), "%s%s/driver_override", pd, n[i]);
		r |= put(p, "(null)\n");
	}
	r |= put("sys/bus/pci/devices/0000:00:12.0/reset_method", "flr\n");
	r |= ln("../../../../bus/pci/drivers/igbvf",
		"sys/bus/pci/devices/0000:00:12.0/driver");
	r |= ln("../../../../bus/pci/drivers/pcieport",
		"sys/bus/pci/devices/0000:00:1c.0/driver");
	r |= ln("../../../../kernel/iommu_groups/6",
		"sys/bus/pci/devices/0000:00:12.0/iommu_group");
	r |= ln("../../../../kernel/iommu_groups/7",
		"sys/bus/pci/devices/0000:00:12.2/iommu_group");
	r |= ln("../../../../bus/pci/devices/0000:00:12.0",
		"sys/kernel/iommu_groups/6/devices/0000:00:12.0");
	r |= ln("../../../../bus/pci/devices/0000:00:12.2",
		"sys/kernel/iommu_groups/7/devices/0000:00:12.2");
	r |= ln("../../../../bus/pci/devices/0000:00:1c.0",
		"sys/kernel/iommu_groups/7/devices/0000:00:1c.0");
	return r;
}

static int64_t ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_path(struct vfio_ctx *c)
{
	char buf[64], big[600];
	int r;

	r = vfio_path(c, false, buf, sizeof(buf), "/bus/pci/devices/%s", "x");
	T("vfio.path.sys", r == 0 && strncmp(buf, top, strlen(top)) == 0 &&
	  strstr(buf, "/sys/bus/pci/devices/x"), "r=%d \"%s\"", r, buf);
	r = vfio_path(c, true, buf, sizeof(buf), "/vfio/%d", 7);
	T("vfio.path.dev", r == 0 && strstr(buf, "/dev/vfio/7"), "r=%d \"%s\"", r,
	  buf);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r = vfio_path(c, false, buf, sizeof(buf), "/%s", big);
	T_EQ_INT("vfio.path.too_long", r, -ENAMETOOLONG);
	r = vfio_path(c, false, buf, strlen(top) + 4, "/");
	T_EQ_INT("vfio.path.root_too_long", r, -ENAMETOOLONG);
}

static void test_host(struct vfio_ctx *c)
{
	struct vfio_ctx *e = NULL;
	char s[300];
	int r;

	r = vfio_check_host(c);
	T("vfio.host.ok", r == 0, "r=%d (%s)", r, vfio_errmsg(c));
	snprintf(s, sizeof(s), "%s/empty", top);
	if (vfio_ctx_new(s, NULL, &e) < 0) {
		T("vfio.host.ctx", 0, "vfio_ctx_new failed");
		return;
	}
	r = vfio_check_host(e);
	T("vfio.host.no_iommu", r == -ENODEV && strstr(vfio_errmsg(e),
	  "intel_iommu=on"), "r=%d (%s)", r, vfio_errmsg(e));
	snprintf(s, sizeof(s), "%s/empty/bus/pci/drivers/vfio-pci", top);
	rmdir(s);
	r = vfio_check_host(e);
	T("vfio.host.no_vfio_pci", r == -ENOENT && strstr(vfio_errmsg(e),
	  "modprobe vfio-pci"), "r=%d (%s)", r, vfio_errmsg(e));
	vfio_ctx_free(e);
}

static void test_bind(struct vfio_ctx *c)
{
	char drv[VFIO_DRV_LEN] = "x";
	int r;

	r = vfio_driver(c, "0000:00:12.0", drv, sizeof(drv));
	T("vfio.driver.bound", r == 0 && !strcmp(drv, "igbvf"), "r=%d \"%s\"", r,
	  drv);
	r = vfio_driver(c, "0000:00:12.2", drv, sizeof(drv));
	T("vfio.driver.unbound", r == 0 && !strcmp(drv, ""), "r=%d \"%s\"", r, drv);
	strcpy(drv, "x");
	r = vfio_driver(c, "0000:00:99.0", drv, sizeof(drv));
	T("vfio.driver.missing", r == -ENODEV && !strcmp(drv, "x"), "r=%d", r);
	r = vfio_driver(c, "../../..", drv, sizeof(drv));
	T_EQ_INT("vfio.driver.bad_name", r, -EINVAL);

	/* Already bound: nothing written. */
	r = vfio_bind(c, "0000:00:12.0", "igbvf");
	T("vfio.bind.already", r == 0 && !strcmp(get("sys/bus/pci/devices/"
	  "0000:00:12.0/driver_override"), "(null)"), "r=%d override \"%s\"", r,
	  get("sys/bus/pci/devices/0000:00:12.0/driver_override"));
	/* The race-free sequence; the fake kernel never binds, so -EIO. */
	r = vfio_bind(c, "0000:00:12.0", "vfio-pci");
	T("vfio.bind.unverified", r == -EIO && strstr(vfio_errmsg(c),
	  "did not bind"), "r=%d (%s)", r, vfio_errmsg(c));
	T_EQ_STR("vfio.bind.override_written",
		 get("sys/bus/pci/devices/0000:00:12.0/driver_override"),
		 "vfio-pci");
	T_EQ_STR("vfio.bind.unbound_from_old",
		 get("sys/bus/pci/drivers/igbvf/unbind"), "0000:00:12.0");
	T_EQ_STR("vfio.bind.probed", get("sys/bus/pci/drivers_probe"),
		 "0000:00:12.0");
	/* Simulate the kernel's bind: now it is a no-op success. */
	ln("../../../../bus/pci/drivers/vfio-pci",
	   "sys/bus/pci/devices/0000:00:12.0/driver");
	r = vfio_bind(c, "0000:00:12.0", "vfio-pci");
	T("vfio.bind.verified", r == 0, "r=%d (%s)", r, vfio_errmsg(c));

	put("sys/bus/pci/drivers_probe", "");
	r = vfio_bind(c, "0000:00:12.2", "nosuchdrv");
	T("vfio.bind.unknown_driver", r == -ENOENT &&
	  strstr(vfio_errmsg(c), "nosuchdrv") &&
	  !strcmp(get("sys/bus/pci/drivers_probe"), ""), "r=%d (%s)", r,
	  vfio_errmsg(c));
	T_EQ_INT("vfio.bind.bad_driver_name",
		 vfio_bind(c, "0000:00:12.2", "../igbvf"), -EINVAL);
}

static void test_sriov(struct vfio_ctx *c)
{
	char name[64] = "x", p[512];
	unsigned int n = 99;
	int ifd, r, writes = 0;

	r = vfio_numvfs(c, "0000:00:02.0", &n);
	T("vfio.numvfs.read", r == 0 && n == 3, "r=%d n=%u", r, n);
	r = vfio_numvfs(c, "0000:00:12.0", &n);
	T("vfio.numvfs.not_pf", r == -ENOENT && n == 3, "r=%d", r);

	/* 3 -> 5 must go through 0: two writes to sriov_numvfs. */
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/0000:00:02.0/sriov_numvfs",
		 top);
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	/* IN_OPEN in between keeps inotify from merging the two writes. */
	inotify_add_watch(ifd, p, IN_OPEN | IN_CLOSE_WRITE);
	r = vfio_set_numvfs(c, "0000:00:02.0", 5, false);
	{
		char ev[4096] __attribute__((aligned(8)));
		ssize_t len = read(ifd, ev, sizeof(ev));
		ssize_t off = 0;

		while (len > 0 && off < len) {
			struct inotify_event *e = (struct inotify_event *)(ev + off);

			if (e->mask & IN_CLOSE_WRITE)
				writes++;
			off += sizeof(*e) + e->len;
		}
	}
	close(ifd);
	T("vfio.set_numvfs.value", r == 0 &&
	  !strcmp(get("sys/bus/pci/devices/0000:00:02.0/sriov_numvfs"), "5"),
	  "r=%d (%s) numvfs \"%s\"", r, vfio_errmsg(c),
	  get("sys/bus/pci/devices/0000:00:02.0/sriov_numvfs"));
	T_EQ_INT("vfio.set_numvfs.through_zero", writes, 2);
	T_EQ_STR("vfio.set_numvfs.autoprobe_off",
		 get("sys/bus/pci/devices/0000:00:02.0/sriov_drivers_autoprobe"),
		 "0");
	r = vfio_set_numvfs(c, "0000:00:02.0", 8, false);
	T("vfio.set_numvfs.above_total", r == -ERANGE &&
	  !strcmp(get("sys/bus/pci/devices/0000:00:02.0/sriov_numvfs"), "5"),
	  "r=%d", r);

	r = vfio_virtfn(c, "0000:00:02.0", 0, name, sizeof(name));
	T("vfio.virtfn.0", r == 0 && !strcmp(name, "0000:00:12.0"), "r=%d \"%s\"",
	  r, name);
	strcpy(name, "x");
	r = vfio_virtfn(c, "0000:00:02.0", 1, name, sizeof(name));
	T("vfio.virtfn.absent", r == -ENOENT && !strcmp(name, "x"), "r=%d", r);
}

static void test_groups(struct vfio_ctx *c)
{
	char rm[64] = "x";
	int g = -1, r;

	r = vfio_group(c, "0000:00:12.0", &g);
	T("vfio.group.vf0", r == 0 && g == 6, "r=%d g=%d", r, g);
	g = -1;
	r = vfio_group(c, "0000:00:02.0", &g);
	T("vfio.group.none", r == -ENOENT && g == -1 &&
	  strstr(vfio_errmsg(c), "IOMMU"), "r=%d (%s)", r, vfio_errmsg(c));

	/* 12.0 is bound to vfio-pci by test_bind's simulated kernel. */
	r = vfio_group_viable(c, 6);
	T("vfio.viable.vfio_bound", r == 0, "r=%d (%s)", r, vfio_errmsg(c));
	r = vfio_group_viable(c, 7);
	T("vfio.viable.unbound_plus_bridge", r == 0, "r=%d (%s)", r,
	  vfio_errmsg(c));
	ln("../../../../bus/pci/drivers/igbvf",
	   "sys/bus/pci/devices/0000:00:12.2/driver");
	r = vfio_group_viable(c, 7);
	T("vfio.viable.host_driver", r == -EBUSY &&
	  strstr(vfio_errmsg(c), "0000:00:12.2 (igbvf)") &&
	  !strstr(vfio_errmsg(c), "1c.0"), "r=%d (%s)", r, vfio_errmsg(c));
	T_EQ_INT("vfio.viable.no_group", vfio_group_viable(c, 99), -ENOENT);

	r = vfio_reset_method(c, "0000:00:12.0", rm, sizeof(rm));
	T("vfio.reset_method", r == 0 && !strcmp(rm, "flr"), "r=%d \"%s\"", r, rm);
	r = vfio_reset_method(c, "0000:00:12.2", rm, sizeof(rm));
	T("vfio.reset_method.absent", r == 0 && !strcmp(rm, ""), "r=%d \"%s\"", r,
	  rm);
}

static void test_wait(struct vfio_ctx *c)
{
	int64_t t0;
	pid_t pid;
	int r;

	t0 = ms();
	r = vfio_wait_node(c, 6, 150);
	T("vfio.wait.timeout", r == -ETIMEDOUT && ms() - t0 >= 150 &&
	  ms() - t0 < 1000, "r=%d after %lld ms", r, (long long)(ms() - t0));

	/* The directory and then the node appear later, from another process;
	 * the waiter must see them by event, well before its deadline. */
	pid = fork();
	if (pid == 0) {
		struct timespec d = { 0, 100 * 1000000 };
		char p[512];

		nanosleep(&d, NULL);
		snprintf(p, sizeof(p), "%s/dev/vfio", top);
		mkdir(p, 0755);
		nanosleep(&d, NULL);
		snprintf(p, sizeof(p), "%s/dev/vfio/6", top);
		close(open(p, O_CREAT | O_WRONLY, 0600));
		_exit(0);
	}
	t0 = ms();
	r = vfio_wait_node(c, 6, 5000);
	T("vfio.wait.event", r == 0 && ms() - t0 >= 150 && ms() - t0 < 2000,
	  "r=%d after %lld ms (%s)", r, (long long)(ms() - t0), vfio_errmsg(c));
	waitpid(pid, NULL, 0);
	t0 = ms();
	r = vfio_wait_node(c, 6, 0);
	T("vfio.wait.present", r == 0 && ms() - t0 < 50, "r=%d", r);
}

static void test_chown(struct vfio_ctx *c)
{
	char p[512], q[512];
	uid_t u = 1;
	gid_t g = 1;
	mode_t m = 0;
	struct stat st;
	int r;

	/* dev/vfio/6 is a regular file (from test_wait). */
	r = vfio_node_chown(c, 6, 0, 0, 0666);
	snprintf(p, sizeof(p), "%s/dev/vfio/6", top);
	stat(p, &st);
	T("vfio.chown.regular_refused", r == -EPERM && (st.st_mode & 0777) == 0600
	  && strstr(vfio_errmsg(c), "character device"), "r=%d mode %o (%s)", r,
	  st.st_mode & 0777, vfio_errmsg(c));
	/* A symlink to a device outside: refused, target untouched. */
	snprintf(p, sizeof(p), "%s/dev/vfio/8", top);
	symlink("/dev/null", p);
	stat("/dev/null", &st);
	r = vfio_node_chown(c, 8, 12345, 12345, 0600);
	{
		struct stat st2;

		stat("/dev/null", &st2);
		T("vfio.chown.symlink_refused", r == -EPERM &&
		  st2.st_uid == st.st_uid && st2.st_mode == st.st_mode, "r=%d", r);
	}
	T_EQ_INT("vfio.chown.bad_mode", vfio_node_chown(c, 6, 0, 0, 010000),
		 -EINVAL);
	r = vfio_node_chown(c, 42, 0, 0, 0600);
	T_EQ_INT("vfio.chown.absent", r, -ENOENT);

	if (geteuid() != 0) {
		t_skip("vfio.chown.chardev", "not root: cannot mknod a character "
		       "device (the lab test covers real /dev/vfio nodes)");
	} else {
		snprintf(p, sizeof(p), "%s/dev/vfio/9", top);
		if (mknod(p, S_IFCHR | 0600, makedev(1, 3)) < 0) {
			t_skip("vfio.chown.chardev", "mknod failed in the temp dir");
		} else {
			r = vfio_node_chown(c, 9, 65534, 65534, 0660);
			T("vfio.chown.chardev", r == 0, "r=%d (%s)", r, vfio_errmsg(c));
			r = vfio_node_stat(c, 9, &u, &g, &m);
			T("vfio.chown.chardev_stat", r == 0 && u == 65534 && g == 65534
			  && m == 0660, "r=%d %u:%u %o", r, (unsigned)u, (unsigned)g,
			  (unsigned)m);
			r = vfio_node_chown(c, 9, 0, 0, 0600);
			stat(p, &st);
			T("vfio.chown.chardev_restore", r == 0 && st.st_uid == 0 &&
			  st.st_gid == 0 && (st.st_mode & 07777) == 0600, "r=%d", r);
		}
	}
	/* dev/vfio itself a link to elsewhere: refused. */
	snprintf(p, sizeof(p), "%s/dev/vfio", top);
	snprintf(q, sizeof(q), "%s/dev/vfio.real", top);
	rename(p, q);
	symlink("vfio.real", p);
	r = vfio_node_chown(c, 9, 0, 0, 0600);
	T("vfio.chown.dir_symlink_refused", r == -EPERM, "r=%d (%s)", r,
	  vfio_errmsg(c));
	u = 4242;
	r = vfio_node_stat(c, 9, &u, &g, &m);
	T("vfio.stat.dir_symlink_refused", r == -EPERM && u == 4242, "r=%d", r);
}

static void test_owner(void)
{
	static const char *bad[] = { "", ":0", "root:", "a:b:c", NULL };
	struct passwd *pw;
	uid_t u = 7;
	gid_t g = 7;
	char name[64];
	int i, r;

	r = vfio_parse_owner("root", &u, &g);
	T("vfio.owner.root", r == 0 && u == 0 && g == 0, "r=%d %u:%u", r,
	  (unsigned)u, (unsigned)g);
	r = vfio_parse_owner("0:0", &u, &g);
	T("vfio.owner.numbers", r == 0 && u == 0 && g == 0, "r=%d", r);
	r = vfio_parse_owner("4000:4001", &u, &g);
	T("vfio.owner.unknown_numbers", r == 0 && u == 4000 && g == 4001, "r=%d",
	  r);
	r = vfio_parse_owner("root:root", &u, &g);
	T("vfio.owner.names", r == 0 && u == 0 && g == 0, "r=%d", r);
	pw = getpwnam("nobody");
	if (pw) {
		uid_t pu = pw->pw_uid;
		gid_t pg = pw->pw_gid;

		r = vfio_parse_owner("nobody", &u, &g);
		T("vfio.owner.primary_group", r == 0 && u == pu && g == pg,
		  "r=%d %u:%u want %u:%u", r, (unsigned)u, (unsigned)g,
		  (unsigned)pu, (unsigned)pg);
	} else {
		t_skip("vfio.owner.primary_group", "no user nobody");
	}
	u = 7;
	r = vfio_parse_owner("no_such_user_vfagent", &u, &g);
	T("vfio.owner.unknown_user", r == -ENOENT && u == 7, "r=%d", r);
	r = vfio_parse_owner("root:no_such_group_vfagent", &u, &g);
	T("vfio.owner.unknown_group", r == -ENOENT && u == 7, "r=%d", r);
	r = vfio_parse_owner("4000", &u, &g);
	T("vfio.owner.bare_uid_unknown", r == -ENOENT && u == 7, "r=%d", r);
	for (i = 0; bad[i]; i++) {
		snprintf(name, sizeof(name), "vfio.owner.reject[%s]", bad[i]);
		r = vfio_parse_owner(bad[i], &u, &g);
		T(name, r == -EINVAL && u == 7, "r=%d", r);
	}
}

int main(void)
{
	struct vfio_ctx *c = NULL;
	char s[300], d[300];
	int r;

	snprintf(top, sizeof(top), "/tmp/vfio-test.XXXXXX");
	if (!mkdtemp(top) || build() != 0) {
		T("vfio.setup", 0, "cannot build the fake tree in %s", top);
		return t_done();
	}
	snprintf(s, sizeof(s), "%s/sys", top);
	snprintf(d, sizeof(d), "%s/dev", top);
	r = vfio_ctx_new(s, d, &c);
	T("vfio.ctx_new", r == 0 && !strcmp(vfio_sys_root(c), s), "r=%d", r);
	if (r == 0) {
		test_path(c);
		test_host(c);
		test_bind(c);
		test_sriov(c);
		test_groups(c);
		test_wait(c);
		test_chown(c);
	}
	test_owner();
	vfio_ctx_free(c);
	vfio_ctx_free(NULL);
	snprintf(s, sizeof(s), "rm -rf '%s'", top);
	if (system(s) != 0)
		fprintf(stderr, "cannot remove %s\n", top);
	return t_done();
}
