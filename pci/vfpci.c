/* vfpci: PCI identity and the SR-IOV capability through libpci.
 *
 * libpci reports fatal errors through pacc->error(), which it declares
 * noreturn: its callers go on using the state the error was about (a
 * negative fd, buf[-1]) if the handler returns.  So every libpci call is made
 * inside an armed section: the handler records the message and longjmp()s
 * back to the entry point, which frees the device it was reading
 * (put_dev) and returns -EIO.  The entry points also avoid the known error
 * paths (missing device directory, unaligned reads) before calling libpci. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pci/pci.h>

#include "pci/vfpci.h"

#define VFPCI_CFG_SIZE		4096
#define VFPCI_EXT_START		0x100
#define VFPCI_EXT_ID_SRIOV	0x0010
#define VFPCI_SRIOV_LEN		0x40	/* the capability's registers */

struct vfpci {
	struct pci_access *pacc;
	char root[PATH_MAX];	/* sysfs root, e.g. "/sys" */
	char busdir[PATH_MAX];	/* libpci's sysfs.path: root + "/bus/pci" */
	char err[512];
};

/* The armed section of the current thread (libpci's handlers get no
 * context pointer). */
static __thread jmp_buf *armed_jmp;
static __thread char *armed_err;
static __thread size_t armed_errlen;

static void __attribute__((format(printf, 1, 2), noreturn))
on_pci_error(char *msg, ...)
{
	va_list ap;

	if (armed_err) {
		int n = snprintf(armed_err, armed_errlen, "libpci: ");

		va_start(ap, msg);
		vsnprintf(armed_err + n, armed_errlen - n, msg, ap);
		va_end(ap);
	}
	if (armed_jmp)
		longjmp(*armed_jmp, 1);
	/* Unreachable by construction: every libpci call is armed. Aborting
	 * beats returning into libpci with a bad fd. */
	abort();
}

static void __attribute__((format(printf, 1, 2)))
on_pci_warning(char *msg, ...)
{
	(void)msg;	/* failures are seen through return values */
}

static void arm(struct vfpci *p, jmp_buf *jb)
{
	armed_jmp = jb;
	armed_err = p->err;
	armed_errlen = sizeof(p->err);
}

static void disarm(void)
{
	armed_jmp = NULL;
	armed_err = NULL;
	armed_errlen = 0;
}

static void __attribute__((format(printf, 2, 3)))
seterr(struct vfpci *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
}

/* Opens libpci's sysfs backend on sysfs_root + "/bus/pci" (libpci's
 * "sysfs.path" is the bus directory, PCI_PATH_SYS_BUS_PCI). No scan.
 * Returns 0 and *ret (caller frees with vfpci_close) or -errno. */
int vfpci_open(const char *sysfs_root, struct vfpci **ret)
{
	struct vfpci *volatile p;
	jmp_buf jb;
	int n;

	if (!sysfs_root)
		sysfs_root = "/sys";
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	n = snprintf(p->root, sizeof(p->root), "%s", sysfs_root);
	if (n < 0 || (size_t)n >= sizeof(p->root) ||
	    snprintf(p->busdir, sizeof(p->busdir), "%s/bus/pci", sysfs_root) >=
	    (int)sizeof(p->busdir)) {
		free(p);
		return -ENAMETOOLONG;
	}
	p->pacc = pci_alloc();
	if (!p->pacc) {
		free(p);
		return -ENOMEM;
	}
	p->pacc->error = on_pci_error;
	p->pacc->warning = on_pci_warning;
	p->pacc->debug = on_pci_warning;
	p->pacc->method = PCI_ACCESS_SYS_BUS_PCI;
	p->pacc->id_lookup_mode = 0;	/* no DNS, no ~/.pciids-cache */
	if (setjmp(jb)) {
		disarm();
		/* pci_cleanup() after a failed init could fail again; leak. */
		free(p);
		return -EIO;
	}
	arm(p, &jb);
	if (pci_set_param(p->pacc, "sysfs.path", p->busdir) < 0) {
		disarm();
		pci_cleanup(p->pacc);
		free(p);
		return -EINVAL;
	}
	pci_init(p->pacc);
	disarm();
	*ret = p;
	return 0;
}

/* Frees p and libpci's state. Accepts NULL. */
void vfpci_close(struct vfpci *p)
{
	jmp_buf jb;

	if (!p)
		return;
	if (!setjmp(jb)) {
		arm(p, &jb);
		pci_cleanup(p->pacc);
	}
	disarm();
	free(p);
}

/* The last failure's explanation; "" if none. Owned by p. */
const char *vfpci_errmsg(const struct vfpci *p)
{
	return p ? p->err : "no libpci handle";
}

static int hexfield(const char **s, unsigned int maxdigits, unsigned int *ret)
{
	unsigned int v = 0, n = 0;
	const char *c = *s;

	for (; n < maxdigits; n++, c++) {
		unsigned int d;

		if (*c >= '0' && *c <= '9')
			d = *c - '0';
		else if (*c >= 'a' && *c <= 'f')
			d = *c - 'a' + 10;
		else if (*c >= 'A' && *c <= 'F')
			d = *c - 'A' + 10;
		else
			break;
		v = v * 16 + d;
	}
	if (n == 0)
		return -EINVAL;
	*s = c;
	*ret = v;
	return 0;
}

/* Parses "dddd:bb:dd.f" or "bb:dd.f". 0 or -EINVAL; *ret only on success. */
int vfpci_addr_parse(const char *s, struct vfpci_addr *ret)
{
	unsigned int a, b, d, f, dom = 0, bus;
	const char *c = s;

	if (!s || hexfield(&c, 4, &a) < 0 || *c++ != ':' ||
	    hexfield(&c, 2, &b) < 0)
		return -EINVAL;
	if (*c == ':') {	/* domain given */
		c++;
		dom = a;
		bus = b;
		if (hexfield(&c, 2, &d) < 0)
			return -EINVAL;
	} else {
		if (a > 0xff)
			return -EINVAL;
		bus = a;
		d = b;
	}
	if (*c++ != '.' || hexfield(&c, 1, &f) < 0 || *c != '\0')
		return -EINVAL;
	if (d > 0x1f || f > 7)
		return -EINVAL;
	ret->domain = dom;
	ret->bus = bus;
	ret->dev = d;
	ret->fn = f;
	return 0;
}

/* Formats a into buf (the sysfs name). Returns buf. */
char *vfpci_addr_str(const struct vfpci_addr *a, char buf[VFPCI_ADDR_LEN])
{
	snprintf(buf, VFPCI_ADDR_LEN, "%04x:%02x:%02x.%x", a->domain,
		 a->bus & 0xff, a->dev & 0x1f, a->fn & 7);
	return buf;
}

/* -ENODEV with a message unless root/bus/pci/devices/<a> exists; keeps
 * libpci away from its missing-file error paths. */
static int dev_exists(struct vfpci *p, const struct vfpci_addr *a)
{
	char path[PATH_MAX], name[VFPCI_ADDR_LEN];
	struct stat st;
	int n;

	vfpci_addr_str(a, name);
	n = snprintf(path, sizeof(path), "%s/devices/%s/config", p->busdir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		seterr(p, "path too long under %s", p->busdir);
		return -ENAMETOOLONG;
	}
	if (stat(path, &st) < 0) {
		int e = errno;

		seterr(p, "PCI function %s not found (%s: %s)", name, path,
		       strerror(e));
		return e == ENOENT || e == ENOTDIR ? -ENODEV : -e;
	}
	return 0;
}

/* Frees a device libpci's error handler jumped out of (d may be NULL).
 * pci_get_dev() returns it whole; what a failed fill or read left behind
 * (fields not yet set, a cached fd) is what pci_free_dev() expects to
 * clean up. Armed once more so a second error cannot return into libpci. */
static void put_dev(struct pci_dev *d)
{
	jmp_buf jb;

	if (!d)
		return;
	if (!setjmp(jb)) {
		armed_jmp = &jb;
		pci_free_dev(d);
	}
	disarm();
}

static void lookup(struct pci_access *pacc, char *dst, size_t len, int what,
		   unsigned int v, unsigned int d)
{
	char buf[256];
	const char *s;

	s = pci_lookup_name(pacc, buf, sizeof(buf),
			    what | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB,
			    v, d);
	snprintf(dst, len, "%s", s ? s : "");
}

/* Identity of function a (the kernel's view from sysfs, revision and
 * missing subsystem ids from config space) and its pci.ids names.
 * -ENODEV if a does not exist, -EIO if libpci failed. */
int vfpci_ident(struct vfpci *p, const struct vfpci_addr *a,
		struct vfpci_ident *ret)
{
	struct pci_dev *volatile d = NULL;
	struct vfpci_ident id;
	unsigned int known;
	jmp_buf jb;
	int r;

	p->err[0] = '\0';
	r = dev_exists(p, a);
	if (r < 0)
		return r;
	memset(&id, 0, sizeof(id));
	if (setjmp(jb)) {
		disarm();
		put_dev(d);
		return -EIO;
	}
	arm(p, &jb);
	d = pci_get_dev(p->pacc, a->domain, a->bus, a->dev, a->fn);
	known = pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS |
			      PCI_FILL_CLASS_EXT | PCI_FILL_SUBSYS);
	id.vendor = d->vendor_id;
	id.device = d->device_id;
	id.class = (uint32_t)d->device_class << 8 | d->prog_if;
	id.revision = d->rev_id;
	if (known & PCI_FILL_SUBSYS) {
		id.subsys_vendor = d->subsys_vendor_id;
		id.subsys_device = d->subsys_id;
	} else if ((pci_read_byte(d, PCI_HEADER_TYPE) & 0x7f) ==
		   PCI_HEADER_TYPE_NORMAL) {
		id.subsys_vendor = pci_read_word(d, PCI_SUBSYSTEM_VENDOR_ID);
		id.subsys_device = pci_read_word(d, PCI_SUBSYSTEM_ID);
	}
	lookup(p->pacc, id.vendor_name, sizeof(id.vendor_name),
	       PCI_LOOKUP_VENDOR, id.vendor, 0);
	lookup(p->pacc, id.device_name, sizeof(id.device_name),
	       PCI_LOOKUP_DEVICE, id.vendor, id.device);
	pci_free_dev(d);
	disarm();
	*ret = id;
	return 0;
}

static uint16_t le16(const uint8_t *b)
{
	return b[0] | b[1] << 8;
}

static uint32_t le32(const uint8_t *b)
{
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Parses the SR-IOV extended capability out of a config-space image.
 * -ENOENT if there is none (or no extended space in the image), -EBADMSG
 * if the chain or the capability is corrupt (misaligned or out-of-range
 * next pointer, a loop, a capability cut off by len, NumVFs or
 * InitialVFs above TotalVFs), -EINVAL for a NULL image. */
int vfpci_parse_sriov(const uint8_t *cfg, size_t len, struct vfpci_sriov *ret)
{
	struct vfpci_sriov s;
	unsigned int off = VFPCI_EXT_START, ttl;
	const uint8_t *c;

	if (!cfg)
		return -EINVAL;
	if (len > VFPCI_CFG_SIZE)
		len = VFPCI_CFG_SIZE;
	if (len < VFPCI_EXT_START + 4)
		return -ENOENT;
	/* Each capability takes at least 4 bytes, so more hops than that is
	 * a loop. */
	ttl = (len - VFPCI_EXT_START) / 4;
	for (;;) {
		uint32_t h = le32(cfg + off);
		unsigned int next;

		/* No extended capabilities at all, or a hole in the chain. */
		if (h == 0 || h == 0xffffffff)
			return off == VFPCI_EXT_START ? -ENOENT : -EBADMSG;
		if ((h & 0xffff) == VFPCI_EXT_ID_SRIOV)
			break;
		next = h >> 20;
		if (next == 0)
			return -ENOENT;
		if (next < VFPCI_EXT_START || (next & 3) || next + 4 > len ||
		    --ttl == 0)
			return -EBADMSG;
		off = next;
	}
	if (off + VFPCI_SRIOV_LEN > len)
		return -EBADMSG;
	c = cfg + off;
	memset(&s, 0, sizeof(s));
	s.cap_offset = off;
	s.caps = le32(c + 0x04);
	s.ctrl = le16(c + 0x08);
	s.vf_enable = s.ctrl & 0x0001;
	s.initial_vfs = le16(c + 0x0c);
	s.total_vfs = le16(c + 0x0e);
	s.num_vfs = le16(c + 0x10);
	s.vf_offset = le16(c + 0x14);
	s.vf_stride = le16(c + 0x16);
	s.vf_device = le16(c + 0x1a);
	s.supported_page_sizes = le32(c + 0x1c);
	s.system_page_size = le32(c + 0x20);
	if (s.num_vfs > s.total_vfs || s.initial_vfs > s.total_vfs)
		return -EBADMSG;
	*ret = s;
	return 0;
}

/* Reads as much of pf's config space as the caller may (4096, 256 or 64
 * bytes) and parses the SR-IOV capability. -EACCES when only the
 * unprivileged 64 bytes are readable. */
int vfpci_sriov(struct vfpci *p, const struct vfpci_addr *pf,
		struct vfpci_sriov *ret)
{
	static const int sizes[] = { VFPCI_CFG_SIZE, 256, 64 };
	struct pci_dev *volatile d = NULL;
	volatile int got = 0;
	uint8_t cfg[VFPCI_CFG_SIZE];
	char name[VFPCI_ADDR_LEN];
	struct vfpci_sriov s;
	jmp_buf jb;
	size_t i;
	int r;

	p->err[0] = '\0';
	r = dev_exists(p, pf);
	if (r < 0)
		return r;
	vfpci_addr_str(pf, name);
	if (setjmp(jb)) {
		disarm();
		put_dev(d);
		return -EIO;
	}
	arm(p, &jb);
	d = pci_get_dev(p->pacc, pf->domain, pf->bus, pf->dev, pf->fn);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (pci_read_block(d, 0, cfg, sizes[i])) {
			got = sizes[i];
			break;
		}
	}
	pci_free_dev(d);
	disarm();
	if (got == 0) {
		seterr(p, "cannot read the config space of %s", name);
		return -EIO;
	}
	if (got == 64) {
		seterr(p, "only the first 64 bytes of %s's config space are "
		       "readable: run as root (CAP_SYS_ADMIN)", name);
		return -EACCES;
	}
	r = vfpci_parse_sriov(cfg, got, &s);
	if (r == -ENOENT)
		seterr(p, "%s has no SR-IOV capability", name);
	else if (r == -EBADMSG)
		seterr(p, "%s: corrupt extended capability chain or SR-IOV "
		       "capability in config space", name);
	else if (r < 0)
		seterr(p, "%s: %s", name, strerror(-r));
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}

static unsigned int rid(const struct vfpci_addr *a)
{
	return (unsigned int)a->bus << 8 | (a->dev & 0x1f) << 3 | (a->fn & 7);
}

/* VF vf_index's address: routing ID arithmetic per the SR-IOV spec; the bus
 * may differ from the PF's, the domain never does. -ERANGE if the index is
 * beyond TotalVFs, the offset/stride cannot name distinct VFs, or the
 * routing ID overflows bus 255. */
int vfpci_vf_addr(const struct vfpci_addr *pf, const struct vfpci_sriov *s,
		  unsigned int vf_index, struct vfpci_addr *ret)
{
	unsigned long r;

	if (vf_index >= s->total_vfs || s->vf_offset == 0 ||
	    (vf_index > 0 && s->vf_stride == 0))
		return -ERANGE;
	r = rid(pf) + s->vf_offset + (unsigned long)s->vf_stride * vf_index;
	if (r > 0xffff)
		return -ERANGE;
	ret->domain = pf->domain;
	ret->bus = r >> 8;
	ret->dev = (r >> 3) & 0x1f;
	ret->fn = r & 7;
	return 0;
}

/* The index whose vfpci_vf_addr() is vf. -ENOENT if none. */
int vfpci_vf_index(const struct vfpci_addr *pf, const struct vfpci_sriov *s,
		   const struct vfpci_addr *vf, unsigned int *ret_index)
{
	long d;
	unsigned long i;

	if (vf->domain != pf->domain || s->vf_offset == 0)
		return -ENOENT;
	d = (long)rid(vf) - (long)rid(pf) - s->vf_offset;
	if (d < 0)
		return -ENOENT;
	if (s->vf_stride == 0) {
		if (d != 0)
			return -ENOENT;
		i = 0;
	} else {
		if (d % s->vf_stride)
			return -ENOENT;
		i = d / s->vf_stride;
	}
	if (i >= s->total_vfs)
		return -ENOENT;
	*ret_index = i;
	return 0;
}

/* PF of vf from its physfn link, index from the PF's capability.
 * -ENOENT if vf has no physfn link (not a VF) or the math disagrees. */
int vfpci_vf_pf(struct vfpci *p, const struct vfpci_addr *vf,
		struct vfpci_addr *ret_pf, unsigned int *ret_index)
{
	char path[PATH_MAX], link[PATH_MAX], name[VFPCI_ADDR_LEN];
	struct vfpci_addr pf;
	struct vfpci_sriov s;
	const char *base;
	unsigned int idx;
	ssize_t n;
	int r;

	p->err[0] = '\0';
	r = dev_exists(p, vf);
	if (r < 0)
		return r;
	vfpci_addr_str(vf, name);
	r = snprintf(path, sizeof(path), "%s/devices/%s/physfn", p->busdir, name);
	if (r < 0 || (size_t)r >= sizeof(path))
		return -ENAMETOOLONG;
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		r = -errno;
		seterr(p, "%s is not a VF (no physfn link: %s)", name,
		       strerror(-r));
		return r == -EINVAL ? -ENOENT : r;
	}
	link[n] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (vfpci_addr_parse(base, &pf) < 0) {
		seterr(p, "%s: physfn link points to \"%s\"", name, link);
		return -EBADMSG;
	}
	r = vfpci_sriov(p, &pf, &s);
	if (r < 0)
		return r;
	r = vfpci_vf_index(&pf, &s, vf, &idx);
	if (r < 0) {
		seterr(p, "%s is not a VF of %s by its SR-IOV offset/stride",
		       name, base);
		return r;
	}
	*ret_pf = pf;
	*ret_index = idx;
	return 0;
}
