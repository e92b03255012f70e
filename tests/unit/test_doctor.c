/* vfagent doctor on fake trees: each check once on a host that is right
 * and once on one that is wrong (sysfs, /proc, /etc, /dev and /run built
 * under a temporary directory as the kernel and Debian lay them out; the
 * static files come from tests/fixtures/doctor). No root needed. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/doctor.h"
#include "vfio/vfio.h"
#include "tests/unit/t.h"

static char top[128];
static struct vfa_doc_ctx ctx;
static struct vfa_doc_report rep;
static struct vfa_config cfg;

static void mkdirs(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	for (char *s = p + strlen(top) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
}

static void put(const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void put(const char *rel, const char *fmt, ...)
{
	char p[512], dir[512];
	va_list ap;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rel);
	if (strrchr(dir, '/')) {
		*strrchr(dir, '/') = '\0';
		mkdirs(dir);
	}
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	f = fopen(p, "w");
	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static void ln(const char *target, const char *rel)
{
	char p[512], dir[512];

	snprintf(dir, sizeof(dir), "%s", rel);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	snprintf(p, sizeof(p), "%s/%s", top, rel);
	unlink(p);
	if (symlink(target, p) < 0)
		perror(p);
}

static void rm(const char *rel)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", top, rel);
	if (system(cmd) != 0)
		fprintf(stderr, "%s failed\n", cmd);
}

static void mode(const char *rel, mode_t m)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (chmod(p, m) < 0)
		perror(p);
}

static void copy_fixture(const char *name, const char *rel)
{
	char p[256], buf[8192];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "tests/fixtures/doctor/%s", name);
	f = fopen(p, "r");
	if (!f) {
		fprintf(stderr, "cannot read %s (run from the tree's top)\n", p);
		return;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	put(rel, "%s", buf);
}

static struct vfa_doc_addr fake_addrs[4];
static int n_fake_addrs;

static int fake_ifaddrs(const char *ifname, struct vfa_doc_addr *ret, size_t max)
{
	(void)ifname;
	for (int i = 0; i < n_fake_addrs && (size_t)i < max; i++)
		ret[i] = fake_addrs[i];
	return n_fake_addrs;
}

/* A fresh tree; the context points at it. */
static void tree(void)
{
	if (*top)
		rm("");
	snprintf(top, sizeof(top), "/tmp/vfagent-doctor.XXXXXX");
	if (!mkdtemp(top))
		abort();
	vfio_ctx_free(ctx.io);
	memset(&ctx, 0, sizeof(ctx));
	snprintf(ctx.sys, sizeof(ctx.sys), "%s/sys", top);
	snprintf(ctx.proc, sizeof(ctx.proc), "%s/proc", top);
	snprintf(ctx.etc, sizeof(ctx.etc), "%s/etc", top);
	snprintf(ctx.dev, sizeof(ctx.dev), "%s/dev", top);
	snprintf(ctx.run, sizeof(ctx.run), "%s/run", top);
	snprintf(ctx.modules, sizeof(ctx.modules), "%s/lib/modules", top);
	snprintf(ctx.release, sizeof(ctx.release), "6.1.0-99-amd64");
	snprintf(ctx.apparmor, sizeof(ctx.apparmor), "%s/sys/module/apparmor/parameters/enabled", top);
	ctx.ifaddrs = fake_ifaddrs;
	n_fake_addrs = 0;
	mkdirs("sys");
	mkdirs("proc");
	mkdirs("etc");
	mkdirs("dev");
	mkdirs("run");
	vfio_ctx_new(ctx.sys, ctx.dev, &ctx.io);
	rep.n = 0;
}

/* The one finding of check (the first if several); NULL if none. */
static const struct vfa_doc_finding *find(enum vfa_doc_check c)
{
	for (unsigned int i = 0; i < rep.n; i++)
		if (rep.f[i].check == c)
			return &rep.f[i];
	return NULL;
}

/* Checks that check produced a finding with status, and fix if a problem. */
static void expect(const char *name, enum vfa_doc_check c, enum vfa_doc_status st,
		   const char *needle)
{
	const struct vfa_doc_finding *f = find(c);

	T(name, f && f->status == st && (st < DOC_WARN || *f->fix) &&
	  (!needle || strstr(f->msg, needle) || strstr(f->fix, needle)),
	  "%s: got %s \"%s\" (fix \"%s\"), want %s%s%s", vfa_doc_check_names[c],
	  f ? vfa_doc_status_names[f->status] : "nothing", f ? f->msg : "", f ? f->fix : "",
	  vfa_doc_status_names[st], needle ? " mentioning " : "", needle ? needle : "");
	rep.n = 0;
}

typedef void doc_check_fn(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep);

/* Runs one doctor check on the current tree, then expect(). */
static void check(const char *name, doc_check_fn *run, enum vfa_doc_check c,
		  enum vfa_doc_status st, const char *needle)
{
	run(&ctx, &rep);
	expect(name, c, st, needle);
}

static void test_iommu(void)
{
	tree();
	put("proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iommu=pt quiet\n");
	check("doctor.cmdline_on", vfa_doc_iommu_cmdline, DOC_IOMMU_CMDLINE, DOC_OK, "intel_iommu=on");
	put("proc/cmdline", "root=/dev/sda1 amd_iommu=off\n");
	check("doctor.cmdline_off", vfa_doc_iommu_cmdline, DOC_IOMMU_CMDLINE, DOC_FAIL, "amd_iommu=off");
	put("proc/cmdline", "root=/dev/sda1 quiet\n");
	check("doctor.cmdline_default", vfa_doc_iommu_cmdline, DOC_IOMMU_CMDLINE, DOC_INFO, NULL);

	check("doctor.iommu_inactive", vfa_doc_iommu_active, DOC_IOMMU_ACTIVE, DOC_FAIL, "intel_iommu=on");
	mkdirs("sys/class/iommu/dmar0");
	mkdirs("sys/kernel/iommu_groups/0/devices");
	check("doctor.iommu_active", vfa_doc_iommu_active, DOC_IOMMU_ACTIVE, DOC_OK, "1 unit");
}

static void test_intremap(void)
{
	tree();
	copy_fixture("interrupts-ir", "proc/interrupts");
	check("doctor.intremap_on", vfa_doc_intremap, DOC_INTREMAP, DOC_OK, NULL);
	copy_fixture("interrupts-noir", "proc/interrupts");
	check("doctor.intremap_off", vfa_doc_intremap, DOC_INTREMAP, DOC_FAIL, "vfio refuses");
	/* ECAP with IR (bit 3): supported, so it was switched off */
	put("sys/class/iommu/dmar0/intel-iommu/ecap", "f0205e\n");
	check("doctor.intremap_switched_off", vfa_doc_intremap, DOC_INTREMAP, DOC_FAIL, "intremap=off");
	put("sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n");
	check("doctor.intremap_unsafe", vfa_doc_intremap, DOC_INTREMAP, DOC_WARN, "allow_unsafe_interrupts");
}

static void test_modules(void)
{
	tree();
	check("doctor.vfio_absent", vfa_doc_vfio_modules, DOC_VFIO_MODULES, DOC_FAIL, "CONFIG_VFIO_PCI");
	put("lib/modules/6.1.0-99-amd64/modules.dep",
	    "kernel/drivers/net/ethernet/intel/igb/igb.ko: kernel/drivers/dca/dca.ko\n"
	    "kernel/drivers/vfio/vfio.ko: kernel/drivers/vfio/vfio_iommu_type1.ko\n"
	    "kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/pci/vfio-pci-core.ko kernel/drivers/vfio/vfio.ko\n");
	check("doctor.vfio_not_loaded", vfa_doc_vfio_modules, DOC_VFIO_MODULES, DOC_WARN, "modprobe vfio-pci");
	mkdirs("sys/module/vfio");
	mkdirs("sys/module/vfio_pci");
	check("doctor.vfio_loaded", vfa_doc_vfio_modules, DOC_VFIO_MODULES, DOC_OK, NULL);
}

/* A PF eth0 (0000:00:02.0) with total VFs, num VFs, flags, and its VFs
 * 0000:00:12.0 and 12.2 on vfio-pci in groups 5 and 6 with their nodes. */
static void fake_pf(unsigned int total, unsigned int num, unsigned int flags)
{
	static const char *const vfs[] = { "0000:00:12.0", "0000:00:12.2" };
	char rel[256], tgt[256];

	put("sys/bus/pci/devices/0000:00:02.0/sriov_totalvfs", "%u\n", total);
	put("sys/bus/pci/devices/0000:00:02.0/sriov_numvfs", "%u\n", num);
	put("sys/bus/pci/devices/0000:00:02.0/class", "0x020000\n");
	mkdirs("sys/bus/pci/devices/0000:00:02.0/net/eth0");
	mkdirs("sys/bus/pci/drivers/vfio-pci");
	put("sys/class/net/eth0/flags", "0x%x\n", flags);
	ln("../../../bus/pci/devices/0000:00:02.0", "sys/class/net/eth0/device");
	for (unsigned int i = 0; i < num && i < 2; i++) {
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/0000:00:02.0/virtfn%u", i);
		snprintf(tgt, sizeof(tgt), "../%s", vfs[i]);
		ln(tgt, rel);
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/class", vfs[i]);
		put(rel, "0x020000\n");
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver", vfs[i]);
		ln("../../../bus/pci/drivers/vfio-pci", rel);
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/iommu_group", vfs[i]);
		snprintf(tgt, sizeof(tgt), "../../../kernel/iommu_groups/%u", 5 + i);
		ln(tgt, rel);
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%u/devices/%s", 5 + i, vfs[i]);
		snprintf(tgt, sizeof(tgt), "../../../../bus/pci/devices/%s", vfs[i]);
		ln(tgt, rel);
		snprintf(rel, sizeof(rel), "dev/vfio/%u", 5 + i);
		put(rel, "%s", "");
		mode(rel, 0660);
	}
}

static void fake_config(const char *pf, unsigned int vfs, bool owner)
{
	struct vfa_pool *p = &cfg.pools[0];

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.path, sizeof(cfg.path), "/etc/vfagent/vfagent.conf");
	cfg.n_pools = 1;
	snprintf(p->name, sizeof(p->name), "net1");
	snprintf(p->pf[0], sizeof(p->pf[0]), "%s", pf);
	p->n_pf = 1;
	p->vfs = vfs;
	p->has_owner = owner;
	p->keep_owner = owner;
	p->uid = getuid();
	p->gid = getgid();
	p->mode = 0660;
	ctx.cfg = &cfg;
}

/* The fixture most checks start from: a fresh tree with a healthy PF eth0
 * (7 VFs possible, 2 made, up) and a pool of 2 VFs on it. */
static void good_host(bool owner)
{
	tree();
	fake_pf(7, 2, 0x1003);
	fake_config("eth0", 2, owner);
}

static void test_pf(void)
{
	good_host(true);
	vfa_doc_pfs(&ctx, &rep);
	T("doctor.pf_all_good", !vfa_doc_problems(&rep), "%u findings, first problem: %s", rep.n,
	  ({ const char *m = "none"; for (unsigned int i = 0; i < rep.n; i++)
	     if (rep.f[i].status >= DOC_WARN) { m = rep.f[i].msg; break; } m; }));
	check("doctor.pf_exists", vfa_doc_pfs, DOC_PF_EXISTS, DOC_OK, "0000:00:02.0");
	check("doctor.pf_sriov", vfa_doc_pfs, DOC_PF_SRIOV, DOC_OK, "7 VFs");
	check("doctor.pf_up", vfa_doc_pfs, DOC_PF_UP, DOC_OK, NULL);
	check("doctor.pf_vfs", vfa_doc_pfs, DOC_PF_VFS, DOC_OK, NULL);
	check("doctor.pf_no_addresses", vfa_doc_pfs, DOC_PF_ADDRESSES, DOC_OK, NULL);
	check("doctor.vf_driver", vfa_doc_pfs, DOC_VF_DRIVER, DOC_OK, NULL);
	check("doctor.vf_groups", vfa_doc_pfs, DOC_VF_GROUPS, DOC_OK, NULL);
	check("doctor.vf_nodes", vfa_doc_pfs, DOC_VF_NODES, DOC_OK, NULL);

	fake_config("0000:00:02.0", 2, true);
	check("doctor.pf_by_pci", vfa_doc_pfs, DOC_PF_EXISTS, DOC_OK, "eth0");
	fake_config("eth9", 2, true);
	check("doctor.pf_missing", vfa_doc_pfs, DOC_PF_EXISTS, DOC_FAIL, "eth9");
	fake_config("eth0", 8, true);
	check("doctor.pf_vfs_over_limit", vfa_doc_pfs, DOC_PF_VFS, DOC_FAIL, "at most 7");
	fake_config("eth0", 3, true);
	check("doctor.pf_vfs_missing", vfa_doc_pfs, DOC_PF_VFS, DOC_FAIL, "vfagent setup");

	fake_config("eth0", 2, true);
	put("sys/class/net/eth0/flags", "0x1002\n");
	check("doctor.pf_down", vfa_doc_pfs, DOC_PF_UP, DOC_FAIL, "vfagent setup");
	put("sys/class/net/eth0/flags", "0x1003\n");

	copy_fixture("route-default-eth0", "proc/net/route");
	check("doctor.pf_default_route4", vfa_doc_pfs, DOC_PF_ADDRESSES, DOC_WARN, "IPv4 default route");
	copy_fixture("route-default-eth1", "proc/net/route");
	copy_fixture("ipv6_route-default-eth0", "proc/net/ipv6_route");
	check("doctor.pf_default_route6", vfa_doc_pfs, DOC_PF_ADDRESSES, DOC_WARN, "IPv6 default route");
	rm("proc/net/ipv6_route");
	snprintf(fake_addrs[0].s, sizeof(fake_addrs[0].s), "fe80::5054:ff:fe12:3456");
	fake_addrs[0].link_local = true;
	n_fake_addrs = 1;
	check("doctor.pf_link_local_only", vfa_doc_pfs, DOC_PF_ADDRESSES, DOC_OK, "beyond link-local");
	snprintf(fake_addrs[1].s, sizeof(fake_addrs[1].s), "192.0.2.7");
	n_fake_addrs = 2;
	check("doctor.pf_address", vfa_doc_pfs, DOC_PF_ADDRESSES, DOC_WARN, "192.0.2.7");
	n_fake_addrs = 0;

	rm("sys/bus/pci/devices/0000:00:02.0/sriov_totalvfs");
	check("doctor.pf_not_sriov", vfa_doc_pfs, DOC_PF_SRIOV, DOC_FAIL, "SR-IOV");
}

static void test_vfs(void)
{
	good_host(true);
	mkdirs("sys/bus/pci/drivers/igbvf");
	ln("../../../bus/pci/drivers/igbvf", "sys/bus/pci/devices/0000:00:12.2/driver");
	check("doctor.vf_wrong_driver", vfa_doc_pfs, DOC_VF_DRIVER, DOC_FAIL, "0000:00:12.2 (igbvf)");
	ln("../../../bus/pci/drivers/vfio-pci", "sys/bus/pci/devices/0000:00:12.2/driver");

	/* a foreign device, on a host driver, in the group of VF 0 */
	put("sys/bus/pci/devices/0000:00:1f.3/class", "0x040300\n");
	mkdirs("sys/bus/pci/drivers/snd_hda_intel");
	ln("../../../bus/pci/drivers/snd_hda_intel", "sys/bus/pci/devices/0000:00:1f.3/driver");
	ln("../../../../bus/pci/devices/0000:00:1f.3", "sys/kernel/iommu_groups/5/devices/0000:00:1f.3");
	check("doctor.vf_group_foreign", vfa_doc_pfs, DOC_VF_GROUPS, DOC_FAIL, "0000:00:1f.3 (snd_hda_intel)");
	rm("sys/kernel/iommu_groups/5/devices/0000:00:1f.3");

	mode("dev/vfio/6", 0600);
	check("doctor.vf_node_owner", vfa_doc_pfs, DOC_VF_NODES, DOC_WARN, "/dev/vfio/6 is");
	rm("dev/vfio/6");
	check("doctor.vf_node_missing", vfa_doc_pfs, DOC_VF_NODES, DOC_WARN, "/dev/vfio/6 missing");
}

static void test_libvirt(void)
{
	int dummy;

	tree();
	fake_config("eth0", 2, false);
	ctx.virt_errno = ECONNREFUSED;
	snprintf(ctx.virt_err, sizeof(ctx.virt_err), "libvirt not reachable (default URI): no socket");
	check("doctor.libvirt_down", vfa_doc_libvirt, DOC_LIBVIRT, DOC_FAIL, "systemctl start");
	ctx.virt_errno = ENOTSUP;
	snprintf(ctx.virt_err, sizeof(ctx.virt_err), "libvirt support is not built in (make LIBVIRT=1)");
	check("doctor.libvirt_not_built", vfa_doc_libvirt, DOC_LIBVIRT, DOC_SKIP, "not built in");
	ctx.virt = (struct vfa_virt *)(void *)&dummy;	/* only tested for NULL */
	check("doctor.libvirt_up", vfa_doc_libvirt, DOC_LIBVIRT, DOC_OK, NULL);
	ctx.virt = NULL;

	put("etc/libvirt/qemu.conf", "# dynamic_ownership = 0\nuser = \"libvirt-qemu\"\n");
	check("doctor.dynown_default", vfa_doc_dynamic_ownership, DOC_DYN_OWNERSHIP, DOC_OK, NULL);
	put("etc/libvirt/qemu.conf", "dynamic_ownership = 0\n");
	check("doctor.dynown_off_no_owner", vfa_doc_dynamic_ownership, DOC_DYN_OWNERSHIP, DOC_FAIL, "net1");
	fake_config("eth0", 2, true);
	check("doctor.dynown_off_owner", vfa_doc_dynamic_ownership, DOC_DYN_OWNERSHIP, DOC_OK, NULL);
}

static void test_apparmor(void)
{
	tree();
	check("doctor.apparmor_absent", vfa_doc_apparmor, DOC_APPARMOR, DOC_SKIP, "not enabled");
	put("sys/module/apparmor/parameters/enabled", "Y\n");
	copy_fixture("libvirt-qemu-abstraction", "etc/apparmor.d/abstractions/libvirt-qemu");
	check("doctor.apparmor_no_rule", vfa_doc_apparmor, DOC_APPARMOR, DOC_FAIL, "/dev/vfio/* rw,");
	put("etc/apparmor.d/local/abstractions/libvirt-qemu", "# site rules\n  /dev/vfio/* rw,\n");
	check("doctor.apparmor_local_rule", vfa_doc_apparmor, DOC_APPARMOR, DOC_OK, NULL);
	put("etc/apparmor.d/local/abstractions/libvirt-qemu", "# /dev/vfio/* rw,\n/dev/vfio/vfio rw,\n/dev/vfio/* r,\n");
	check("doctor.apparmor_rule_commented", vfa_doc_apparmor, DOC_APPARMOR, DOC_FAIL, NULL);
	put("etc/libvirt/qemu.conf", "security_driver = \"none\"\n");
	check("doctor.apparmor_unconfined", vfa_doc_apparmor, DOC_APPARMOR, DOC_SKIP, "none");
	put("sys/module/apparmor/parameters/enabled", "N\n");
	check("doctor.apparmor_disabled", vfa_doc_apparmor, DOC_APPARMOR, DOC_SKIP, "not enabled");

	check("doctor.selinux_off", vfa_doc_selinux, DOC_SELINUX, DOC_SKIP, NULL);
	put("sys/fs/selinux/enforce", "1");
	check("doctor.selinux_on", vfa_doc_selinux, DOC_SELINUX, DOC_INFO, "enforcing");
}

static void test_memlock(void)
{
	tree();
	check("doctor.memlock_no_daemon", vfa_doc_memlock, DOC_MEMLOCK, DOC_SKIP, NULL);
	put("run/libvirtd.pid", "4242\n");
	put("proc/4242/status", "Name:\tlibvirtd\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n");
	put("proc/4242/limits", "Max locked memory         8388608              8388608              bytes\n");
	check("doctor.memlock_daemon_can_raise", vfa_doc_memlock, DOC_MEMLOCK, DOC_OK, "8388608");
	put("proc/4242/status", "Name:\tlibvirtd\nCapEff:\t0000000000003000\n");
	check("doctor.memlock_daemon_cannot", vfa_doc_memlock, DOC_MEMLOCK, DOC_WARN, "CAP_SYS_RESOURCE");
	vfa_doc_memlock_xml("vm1", "<domain><memory unit='KiB'>4194304</memory><memtune>"
			    "<hard_limit unit='KiB'>2097152</hard_limit></memtune></domain>", &rep);
	expect("doctor.memlock_hard_limit_low", DOC_MEMLOCK, DOC_FAIL, "hard_limit 2097152 KiB");
	vfa_doc_memlock_xml("vm1", "<domain><memory unit='KiB'>4194304</memory><memtune>"
			    "<hard_limit unit='KiB'>6291456</hard_limit></memtune></domain>", &rep);
	vfa_doc_memlock_xml("vm1", "<domain><memory unit='KiB'>4194304</memory></domain>", &rep);
	T("doctor.memlock_hard_limit_ok", rep.n == 0, "%u findings: %s", rep.n, rep.n ? rep.f[0].msg : "");
}

static void test_slots(void)
{
	static const char full[] =
		"<domain><devices><controller type='pci' index='0' model='pcie-root'/>"
		"<controller type='pci' index='1' model='pcie-root-port'/>"
		"<hostdev><address type='pci' bus='0x01' slot='0x00' function='0x0'/></hostdev>"
		"</devices></domain>";
	static const char room[] =
		"<domain><devices><controller type='pci' index='0' model='pcie-root'/>"
		"<controller type='pci' index='1' model='pcie-root-port'/>"
		"<controller type='pci' index='2' model='pcie-root-port'/>"
		"<hostdev><address type='pci' bus='0x01' slot='0x00' function='0x0'/></hostdev>"
		"</devices></domain>";

	rep.n = 0;
	vfa_doc_slots_xml("vm1", full, &rep);
	expect("doctor.slots_none", DOC_SLOTS, DOC_FAIL, "vfagent ports vm1 --add");
	vfa_doc_slots_xml("vm1", room, &rep);
	expect("doctor.slots_free", DOC_SLOTS, DOC_OK, "1 free");
}

static void test_render(void)
{
	json_object *j, *v;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	rep.n = 0;
	vfa_doc_add(&rep, DOC_PF_UP, DOC_FAIL, "pool net1, PF eth0", "run vfagent setup", "eth0 is down");
	vfa_doc_add(&rep, DOC_IOMMU_ACTIVE, DOC_OK, NULL, NULL, "IOMMU active");
	j = vfa_doc_json(&rep);
	T("doctor.json", json_object_object_get_ex(j, "problems", &v) && json_object_get_int(v) == 1 &&
	  json_object_object_get_ex(j, "findings", &v) && json_object_array_length(v) == 2 &&
	  !strcmp(json_object_get_string(json_object_object_get(json_object_array_get_idx(v, 0), "check")), "pf.up") &&
	  !strcmp(json_object_get_string(json_object_object_get(json_object_array_get_idx(v, 0), "status")), "fail"),
	  "%s", json_object_to_json_string(j));
	json_object_put(j);
	f = open_memstream(&buf, &len);
	vfa_doc_text(&rep, f);
	fclose(f);
	T("doctor.text", buf && strstr(buf, "fail  pf.up (pool net1, PF eth0): eth0 is down\n      fix: run vfagent setup\n") &&
	  strstr(buf, "ok    iommu.active: IOMMU active\n") && strstr(buf, "1 problem(s) found"), "%s", buf);
	free(buf);
	rep.n = 0;
	vfa_doc_add(&rep, DOC_SELINUX, DOC_SKIP, NULL, NULL, "off");
	T("doctor.no_problems", !vfa_doc_problems(&rep), "skip counted as a problem");
}

int main(void)
{
	test_iommu();
	test_intremap();
	test_modules();
	test_pf();
	test_vfs();
	test_libvirt();
	test_apparmor();
	test_memlock();
	test_slots();
	test_render();
	rm("");
	vfio_ctx_free(ctx.io);
	return t_done();
}
