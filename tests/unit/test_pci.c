/* pci/ against the lab's recorded igb PF/VF config spaces, served to libpci
 * from a temporary sysfs tree (bus/pci/devices/<addr>/...), plus the
 * hand-made broken images. No root needed. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pci/vfpci.h"
#include "tests/unit/t.h"

static char fix[1024];	/* tests/fixtures/pci */
static char root[256];	/* the fake sysfs */

static const char *ident_files[] = {
	"vendor", "device", "class", "subsystem_vendor", "subsystem_device",
	"revision", "irq", "resource", NULL
};

static int copy(const char *from, const char *to)
{
	char buf[8192];
	ssize_t n;
	int in, out, r = 0;

	in = open(from, O_RDONLY);
	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			r = -1;
	if (n < 0)
		r = -1;
	close(in);
	close(out);
	return r;
}

/* devices/<addr> with the identity files of fixture dir src and config
 * from cfg (a path under the fixtures). physfn: link target or NULL. */
static int mkdev(const char *addr, const char *src, const char *cfg,
		 const char *physfn)
{
	char d[512], a[PATH_MAX], b[PATH_MAX];
	int i;

	snprintf(d, sizeof(d), "%s/bus/pci/devices/%s", root, addr);
	if (mkdir(d, 0755) < 0)
		return -1;
	for (i = 0; src && ident_files[i]; i++) {
		snprintf(a, sizeof(a), "%s/%s/%s", fix, src, ident_files[i]);
		snprintf(b, sizeof(b), "%s/%s", d, ident_files[i]);
		if (copy(a, b) < 0)
			return -1;
	}
	snprintf(a, sizeof(a), "%s/%s", fix, cfg);
	snprintf(b, sizeof(b), "%s/config", d);
	if (copy(a, b) < 0)
		return -1;
	if (physfn) {
		snprintf(b, sizeof(b), "%s/physfn", d);
		if (symlink(physfn, b) < 0)
			return -1;
	}
	return 0;
}

static unsigned long fixnum(const char *rel, int base)
{
	char p[PATH_MAX], buf[64] = "";
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", fix, rel);
	f = fopen(p, "r");
	if (!f)
		return (unsigned long)-1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtoul(buf, NULL, base);
}

static size_t load(const char *rel, uint8_t *buf, size_t len)
{
	char p[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", fix, rel);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, len);
	close(fd);
	return n < 0 ? 0 : (size_t)n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct vfpci_addr A(const char *s)
{
	struct vfpci_addr a = { 0xffff, 0xff, 0xff, 0xff };

	vfpci_addr_parse(s, &a);
	return a;
}

static void test_addr(void)
{
	static const char *bad[] = { "", "0:0", "00:20.0", "00:02.8",
		"0000:00:02.0x", "00000:00:02.0", "100:02.0", "00:02", "g0:02.0",
		"0000:000:02.0", NULL };
	struct vfpci_addr a = { 1, 2, 3, 4 };
	char buf[VFPCI_ADDR_LEN], name[64];
	int i, r;

	r = vfpci_addr_parse("0000:00:02.0", &a);
	T("pci.addr.parse_full", r == 0 && a.domain == 0 && a.bus == 0 &&
	  a.dev == 2 && a.fn == 0, "r=%d %x:%x:%x.%x", r, a.domain, a.bus,
	  a.dev, a.fn);
	r = vfpci_addr_parse("ab:1f.7", &a);
	T("pci.addr.parse_short", r == 0 && a.domain == 0 && a.bus == 0xab &&
	  a.dev == 0x1f && a.fn == 7, "r=%d", r);
	r = vfpci_addr_parse("ABCD:FF:1F.7", &a);
	T_EQ_STR("pci.addr.roundtrip", r == 0 ? vfpci_addr_str(&a, buf) : "",
		 "abcd:ff:1f.7");
	for (i = 0; bad[i]; i++) {
		a = (struct vfpci_addr){ 9, 9, 9, 9 };
		r = vfpci_addr_parse(bad[i], &a);
		snprintf(name, sizeof(name), "pci.addr.reject[%s]", bad[i]);
		T(name, r == -EINVAL && a.domain == 9 && a.bus == 9,
		  "r=%d, ret written=%d", r, a.domain != 9);
	}
}

static void test_ident(struct vfpci *p)
{
	struct vfpci_ident id;
	struct vfpci_addr a = A("0000:00:02.0");
	int r;

	r = vfpci_ident(p, &a, &id);
	T("pci.ident.pf", r == 0 && id.vendor == 0x8086 && id.device == 0x10c9 &&
	  id.subsys_vendor == 0x1af4 && id.subsys_device == 0x1100 &&
	  id.class == 0x020000 && id.revision == 1,
	  "r=%d (%s) %04x:%04x sub %04x:%04x class %06x rev %u", r,
	  vfpci_errmsg(p), id.vendor, id.device, id.subsys_vendor,
	  id.subsys_device, id.class, id.revision);
	if (access("/usr/share/misc/pci.ids", R_OK) == 0 && r == 0) {
		T("pci.ident.names", strstr(id.vendor_name, "Intel") &&
		  strstr(id.device_name, "82576"), "names \"%s\" / \"%s\"",
		  id.vendor_name, id.device_name);
	} else {
		t_skip("pci.ident.names", "/usr/share/misc/pci.ids not installed");
	}
	a = A("00:12.0");
	r = vfpci_ident(p, &a, &id);
	T("pci.ident.vf", r == 0 && id.vendor == 0x8086 && id.device == 0x10ca,
	  "r=%d %04x:%04x", r, id.vendor, id.device);
	a = A("00:1f.7");
	memset(&id, 0x5a, sizeof(id));
	r = vfpci_ident(p, &a, &id);
	T("pci.ident.missing", r == -ENODEV && id.vendor == 0x5a5a,
	  "r=%d, ret written=%d", r, id.vendor != 0x5a5a);
	/* No vendor file: libpci's sysfs backend calls error(), whose default
	 * would exit(); ours must turn it into -EIO and leave p usable. */
	a = A("00:05.0");
	r = vfpci_ident(p, &a, &id);
	T("pci.ident.libpci_error", r == -EIO && strstr(vfpci_errmsg(p), "vendor"),
	  "r=%d msg \"%s\"", r, vfpci_errmsg(p));
	a = A("00:02.0");
	r = vfpci_ident(p, &a, &id);
	T("pci.ident.after_error", r == 0 && id.device == 0x10c9, "r=%d", r);
}

static void test_sriov(struct vfpci *p)
{
	static const struct { const char *addr, *name; int err; } broken[] = {
		{ "00:03.0", "loop", -EBADMSG },
		{ "00:03.1", "selfloop", -EBADMSG },
		{ "00:03.2", "truncated", -EBADMSG },
		{ "00:03.3", "numvfs", -EBADMSG },
		{ "00:03.4", "misaligned", -EBADMSG },
		{ "00:03.5", "low", -EBADMSG },
		{ "00:04.0", "short64", -EACCES },
		{ "00:12.0", "vf_has_none", -ENOENT },
	};
	struct vfpci_sriov s, z;
	struct vfpci_addr a = A("00:02.0");
	char name[64];
	size_t i;
	int r;

	memset(&s, 0, sizeof(s));
	r = vfpci_sriov(p, &a, &s);
	T("pci.sriov.pf", r == 0, "r=%d (%s)", r, vfpci_errmsg(p));
	T_EQ_INT("pci.sriov.cap_offset", s.cap_offset, 0x160);
	/* Recorded truth: the kernel's own view from sysfs in the lab. */
	T_EQ_INT("pci.sriov.num_vfs=sysfs", s.num_vfs,
		 fixnum("igb_pf/sriov_numvfs", 10));
	T_EQ_INT("pci.sriov.offset=sysfs", s.vf_offset,
		 fixnum("igb_pf/sriov_offset", 10));
	T_EQ_INT("pci.sriov.stride=sysfs", s.vf_stride,
		 fixnum("igb_pf/sriov_stride", 10));
	T_EQ_INT("pci.sriov.vf_device=sysfs", s.vf_device,
		 fixnum("igb_pf/sriov_vf_device", 16));
	/* From lspci -vvv of the same PF (fixtures/pci/README). */
	T_EQ_INT("pci.sriov.total_vfs", s.total_vfs, 8);
	T_EQ_INT("pci.sriov.initial_vfs", s.initial_vfs, 8);
	T("pci.sriov.vf_enable", s.vf_enable && (s.ctrl & 1), "ctrl %#x", s.ctrl);
	T_EQ_INT("pci.sriov.supported_page_sizes", s.supported_page_sizes, 0x553);
	T_EQ_INT("pci.sriov.system_page_size", s.system_page_size, 1);

	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		double t0 = now_s();

		a = A(broken[i].addr);
		memset(&z, 0x5a, sizeof(z));
		r = vfpci_sriov(p, &a, &z);
		snprintf(name, sizeof(name), "pci.sriov.reject.%s", broken[i].name);
		T(name, r == broken[i].err && z.total_vfs == 0x5a5a &&
		  now_s() - t0 < 1.0, "r=%d want %d, ret written=%d, %.3f s (%s)",
		  r, broken[i].err, z.total_vfs != 0x5a5a, now_s() - t0,
		  vfpci_errmsg(p));
	}
	r = vfpci_sriov(p, &a, &z);
	T("pci.sriov.errmsg", strstr(vfpci_errmsg(p), "SR-IOV") != NULL,
	  "msg \"%s\"", vfpci_errmsg(p));
}

static void test_parse(void)
{
	static uint8_t img[4096];
	struct vfpci_sriov s;
	size_t n;
	int r;

	T_EQ_INT("pci.parse.null", vfpci_parse_sriov(NULL, 4096, &s), -EINVAL);
	n = load("igb_pf/config", img, sizeof(img));
	T_EQ_INT("pci.parse.fixture_len", n, 4096);
	T_EQ_INT("pci.parse.first64", vfpci_parse_sriov(img, 64, &s), -ENOENT);
	/* Header of SR-IOV at 0x160 present, its registers cut off. */
	T_EQ_INT("pci.parse.cut_at_0x170", vfpci_parse_sriov(img, 0x170, &s),
		 -EBADMSG);
	r = vfpci_parse_sriov(img, 0x1a0, &s);
	T("pci.parse.exact_len", r == 0 && s.num_vfs == 7, "r=%d", r);
	memset(img, 0, sizeof(img));
	T_EQ_INT("pci.parse.zeros", vfpci_parse_sriov(img, 4096, &s), -ENOENT);
	memset(img, 0xff, sizeof(img));
	T_EQ_INT("pci.parse.ones", vfpci_parse_sriov(img, 4096, &s), -ENOENT);
	n = load("broken_loop.cfg", img, sizeof(img));
	T_EQ_INT("pci.parse.loop", vfpci_parse_sriov(img, n, &s), -EBADMSG);
}

static void test_math(struct vfpci *p)
{
	static const char *want[] = { "0000:00:12.0", "0000:00:12.2",
		"0000:00:12.4", "0000:00:12.6", "0000:00:13.0", "0000:00:13.2",
		"0000:00:13.4" };
	struct vfpci_addr pf = A("00:02.0"), vf, back;
	struct vfpci_sriov s;
	char buf[VFPCI_ADDR_LEN], name[64];
	unsigned int i, idx;
	int r;

	if (vfpci_sriov(p, &pf, &s) < 0) {
		T("pci.math", 0, "no SR-IOV capability: %s", vfpci_errmsg(p));
		return;
	}
	for (i = 0; i < 7; i++) {
		r = vfpci_vf_addr(&pf, &s, i, &vf);
		snprintf(name, sizeof(name), "pci.math.vf%u", i);
		T_EQ_STR(name, r == 0 ? vfpci_addr_str(&vf, buf) : "error", want[i]);
		idx = 99;
		r = vfpci_vf_index(&pf, &s, &vf, &idx);
		snprintf(name, sizeof(name), "pci.math.index%u", i);
		T(name, r == 0 && idx == i, "r=%d idx=%u", r, idx);
	}
	r = vfpci_vf_addr(&pf, &s, s.total_vfs, &vf);
	T_EQ_INT("pci.math.beyond_total", r, -ERANGE);
	back = A("00:12.1");
	T_EQ_INT("pci.math.between_strides", vfpci_vf_index(&pf, &s, &back, &idx),
		 -ENOENT);
	T_EQ_INT("pci.math.pf_is_no_vf", vfpci_vf_index(&pf, &s, &pf, &idx),
		 -ENOENT);
	back = A("0001:00:12.0");
	T_EQ_INT("pci.math.other_domain", vfpci_vf_index(&pf, &s, &back, &idx),
		 -ENOENT);
	/* A large offset crosses into the next bus; the domain stays. */
	pf = A("0003:00:02.0");
	s.vf_offset = 0x100;
	r = vfpci_vf_addr(&pf, &s, 1, &vf);
	T_EQ_STR("pci.math.next_bus", r == 0 ? vfpci_addr_str(&vf, buf) : "error",
		 "0003:01:02.2");
	pf = A("ff:1f.7");
	T_EQ_INT("pci.math.overflow", vfpci_vf_addr(&pf, &s, 0, &vf), -ERANGE);
}

static void test_vf_pf(struct vfpci *p)
{
	struct vfpci_addr vf = A("00:12.2"), pf = { 9, 9, 9, 9 };
	char buf[VFPCI_ADDR_LEN];
	unsigned int idx = 99;
	int r;

	r = vfpci_vf_pf(p, &vf, &pf, &idx);
	T("pci.vf_pf", r == 0 && idx == 1 &&
	  !strcmp(vfpci_addr_str(&pf, buf), "0000:00:02.0"),
	  "r=%d (%s) pf %s idx %u", r, vfpci_errmsg(p), vfpci_addr_str(&pf, buf),
	  idx);
	vf = A("00:02.0");
	idx = 99;
	r = vfpci_vf_pf(p, &vf, &pf, &idx);
	T("pci.vf_pf.not_vf", r == -ENOENT && idx == 99, "r=%d", r);
}

static int rmtree(const char *path)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

int main(int argc, char **argv)
{
	static const struct { const char *addr, *src, *cfg, *physfn; } devs[] = {
		{ "0000:00:02.0", "igb_pf", "igb_pf/config", NULL },
		{ "0000:00:12.0", "igb_vf", "igb_vf/config", "../0000:00:02.0" },
		{ "0000:00:12.2", "igb_vf", "igb_vf/config", "../0000:00:02.0" },
		{ "0000:00:03.0", "igb_pf", "broken_loop.cfg", NULL },
		{ "0000:00:03.1", "igb_pf", "broken_selfloop.cfg", NULL },
		{ "0000:00:03.2", "igb_pf", "broken_truncated.cfg", NULL },
		{ "0000:00:03.3", "igb_pf", "broken_numvfs.cfg", NULL },
		{ "0000:00:03.4", "igb_pf", "broken_misaligned.cfg", NULL },
		{ "0000:00:03.5", "igb_pf", "broken_low.cfg", NULL },
		{ "0000:00:04.0", "igb_pf", "short64.cfg", NULL },
		{ "0000:00:05.0", NULL, "igb_pf/config", NULL },
	};
	char self[512], d[512];
	struct vfpci *p = NULL;
	size_t i;
	int r;

	(void)argc;
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(fix, sizeof(fix), "%s/../fixtures/pci", dirname(self));
	snprintf(root, sizeof(root), "/tmp/vfpci-test.XXXXXX");
	if (!mkdtemp(root)) {
		T("pci.setup", 0, "mkdtemp: %s", strerror(errno));
		return t_done();
	}
	snprintf(d, sizeof(d), "%s/bus", root);
	mkdir(d, 0755);
	snprintf(d, sizeof(d), "%s/bus/pci", root);
	mkdir(d, 0755);
	snprintf(d, sizeof(d), "%s/bus/pci/devices", root);
	mkdir(d, 0755);
	for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		if (mkdev(devs[i].addr, devs[i].src, devs[i].cfg, devs[i].physfn) < 0) {
			T("pci.setup", 0, "cannot build %s from %s: %s", devs[i].addr,
			  fix, strerror(errno));
			rmtree(root);
			return t_done();
		}
	}
	test_addr();
	test_parse();
	r = vfpci_open(root, &p);
	T("pci.open", r == 0, "r=%d", r);
	if (r == 0) {
		test_ident(p);
		test_sriov(p);
		test_math(p);
		test_vf_pf(p);
	}
	vfpci_close(p);
	vfpci_close(NULL);
	rmtree(root);
	return t_done();
}
