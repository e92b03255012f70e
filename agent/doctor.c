/* vfagent doctor: checks the host for what SR-IOV passthrough needs and
 * names the fix for each finding. This file: the findings, the checks of
 * the host itself (IOMMU, interrupt remapping, vfio modules), the run and
 * its rendering to text and JSON. PFs: doctor_pf.c; libvirt: doctor_virt.c. */
#include "agent/doctor.h"

#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "vfio/vfio.h"

const char *const vfa_doc_check_names[DOC_CHECK__MAX] = {
	[DOC_IOMMU_CMDLINE] = "iommu.cmdline",
	[DOC_IOMMU_ACTIVE] = "iommu.active",
	[DOC_INTREMAP] = "iommu.intremap",
	[DOC_VFIO_MODULES] = "vfio.modules",
	[DOC_CONFIG] = "config",
	[DOC_PF_EXISTS] = "pf.exists",
	[DOC_PF_SRIOV] = "pf.sriov",
	[DOC_PF_UP] = "pf.up",
	[DOC_PF_VFS] = "pf.vfs",
	[DOC_PF_ADDRESSES] = "pf.addresses",
	[DOC_VF_DRIVER] = "vf.driver",
	[DOC_VF_GROUPS] = "vf.groups",
	[DOC_VF_NODES] = "vf.nodes",
	[DOC_LIBVIRT] = "libvirt.reachable",
	[DOC_DYN_OWNERSHIP] = "libvirt.dynamic_ownership",
	[DOC_APPARMOR] = "libvirt.apparmor",
	[DOC_SELINUX] = "libvirt.selinux",
	[DOC_MEMLOCK] = "qemu.memlock",
	[DOC_SLOTS] = "domain.slots",
};

const char *const vfa_doc_status_names[DOC_STATUS__MAX] = {
	[DOC_OK] = "ok",
	[DOC_INFO] = "info",
	[DOC_SKIP] = "skip",
	[DOC_WARN] = "warn",
	[DOC_FAIL] = "fail",
};

#define GRUB_FIX "add intel_iommu=on iommu=pt (amd_iommu=on on AMD) to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and reboot"

/**
 * vfa_doc_add() - appends a finding to rep (dropped silently once full:
 * the report holds far more than one host can produce). subject and fix
 * may be NULL.
 */
void vfa_doc_add(struct vfa_doc_report *rep, enum vfa_doc_check check,
		 enum vfa_doc_status status, const char *subject, const char *fix,
		 const char *fmt, ...)
{
	struct vfa_doc_finding *f;
	va_list ap;

	if (rep->n >= DOC_MAX_FINDINGS)
		return;
	f = &rep->f[rep->n++];
	f->check = check;
	f->status = status;
	snprintf(f->subject, sizeof(f->subject), "%s", subject ? subject : "");
	snprintf(f->fix, sizeof(f->fix), "%s", fix ? fix : "");
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

/**
 * vfa_doc_path() - root + formatted rest into buf. 0, or -ENAMETOOLONG.
 */
int vfa_doc_path(char *buf, size_t len, const char *root, const char *fmt, ...)
{
	size_t n = (size_t)snprintf(buf, len, "%s", root);
	va_list ap;
	int m;

	if (n >= len)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return m < 0 || (size_t)m >= len - n ? -ENAMETOOLONG : 0;
}

/**
 * vfa_doc_read() - the start of a small file into buf, NUL-terminated,
 * trailing newlines cut. 0 or -errno.
 */
int vfa_doc_read(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

/**
 * vfa_doc_count_dir() - entries of a directory (dot files aside), -errno
 * if it cannot be opened.
 */
int vfa_doc_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/**
 * vfa_doc_conf_value() - the value of "key = value" in a libvirt-style
 * config file (# comments, quotes stripped): 0 and ret, -ENOENT if the key
 * is not set, -errno if the file cannot be read.
 */
int vfa_doc_conf_value(const char *path, const char *key, char *ret, size_t len)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	size_t kl = strlen(key);
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t"), *v;

		if (strncmp(p, key, kl) || !strchr(" \t=", p[kl]))
			continue;
		v = p + kl + strspn(p + kl, " \t");
		if (*v != '=')
			continue;
		v++;
		v += strspn(v, " \t\"");
		v[strcspn(v, "\"#\r\n")] = '\0';
		while (*v && strchr(" \t", v[strlen(v) - 1]))
			v[strlen(v) - 1] = '\0';
		snprintf(ret, len, "%s", v);
		r = 0;		/* the last setting wins */
	}
	fclose(f);
	return r;
}

/* Does the file contain needle (line by line; for modules.dep's size)? */
static bool file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* Value of a kernel parameter on the command line ("" if absent). */
static const char *cmdline_param(const char *cmdline, const char *name,
				 char *buf, size_t len)
{
	size_t nl = strlen(name);
	const char *p = cmdline;

	buf[0] = '\0';
	while (*p) {
		size_t w;

		p += strspn(p, " \t\n");
		w = strcspn(p, " \t\n");
		if (w > nl && !strncmp(p, name, nl) && p[nl] == '=')
			snprintf(buf, len, "%.*s", (int)(w - nl - 1), p + nl + 1);
		p += w;
	}
	return buf;
}

static bool has_word(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; *p; p += strcspn(p, ","), p += *p == ',')
		if (!strncmp(p, w, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/**
 * vfa_doc_iommu_cmdline() - is the IOMMU switched on (or off) on the
 * kernel command line (PROC/cmdline)?
 */
void vfa_doc_iommu_cmdline(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	char path[512], cmd[4096], intel[64], amd[64];

	if (vfa_doc_path(path, sizeof(path), c->proc, "/cmdline") ||
	    vfa_doc_read(path, cmd, sizeof(cmd))) {
		vfa_doc_add(rep, DOC_IOMMU_CMDLINE, DOC_SKIP, NULL, NULL, "cannot read %s", path);
		return;
	}
	cmdline_param(cmd, "intel_iommu", intel, sizeof(intel));
	cmdline_param(cmd, "amd_iommu", amd, sizeof(amd));
	if (has_word(intel, "off") || has_word(amd, "off"))
		vfa_doc_add(rep, DOC_IOMMU_CMDLINE, DOC_FAIL, NULL,
			    "remove the =off and " GRUB_FIX,
			    "the kernel command line switches the IOMMU off (%s%s)",
			    has_word(intel, "off") ? "intel_iommu=" : "amd_iommu=",
			    has_word(intel, "off") ? intel : amd);
	else if (has_word(intel, "on") || has_word(amd, "on"))
		vfa_doc_add(rep, DOC_IOMMU_CMDLINE, DOC_OK, NULL, NULL,
			    "the kernel command line enables the IOMMU (%s%s)",
			    *intel ? "intel_iommu=" : "amd_iommu=", *intel ? intel : amd);
	else
		vfa_doc_add(rep, DOC_IOMMU_CMDLINE, DOC_INFO, NULL, NULL,
			    "no intel_iommu= or amd_iommu= on the kernel command line: the kernel's default applies (see iommu.active)");
}

/**
 * vfa_doc_iommu_active() - is an IOMMU registered (SYS/class/iommu) and
 * grouping devices (SYS/kernel/iommu_groups)?
 */
void vfa_doc_iommu_active(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	char path[512];
	int units = -ENOENT, groups = -ENOENT;

	if (!vfa_doc_path(path, sizeof(path), c->sys, "/class/iommu"))
		units = vfa_doc_count_dir(path);
	if (!vfa_doc_path(path, sizeof(path), c->sys, "/kernel/iommu_groups"))
		groups = vfa_doc_count_dir(path);
	if (units > 0 && groups > 0)
		vfa_doc_add(rep, DOC_IOMMU_ACTIVE, DOC_OK, NULL, NULL,
			    "IOMMU active: %d unit(s), %d group(s)", units, groups);
	else
		vfa_doc_add(rep, DOC_IOMMU_ACTIVE, DOC_FAIL, NULL,
			    "enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup and " GRUB_FIX,
			    "no active IOMMU (%d unit(s) in /sys/class/iommu, %d group(s) in /sys/kernel/iommu_groups): vfio-pci cannot assign devices",
			    units > 0 ? units : 0, groups > 0 ? groups : 0);
}

/* Does any Intel IOMMU unit advertise interrupt remapping (ECAP.IR, bit 3)? */
static bool ecap_ir(const struct vfa_doc_ctx *c)
{
	char path[512], buf[64];
	struct dirent *de;
	bool ir = false;
	DIR *d;

	if (vfa_doc_path(path, sizeof(path), c->sys, "/class/iommu") || !(d = opendir(path)))
		return false;
	while (!ir && (de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    vfa_doc_path(path, sizeof(path), c->sys, "/class/iommu/%s/intel-iommu/ecap", de->d_name) ||
		    vfa_doc_read(path, buf, sizeof(buf)))
			continue;
		ir = strtoull(buf, NULL, 16) & (1ull << 3);
	}
	closedir(d);
	return ir;
}

/**
 * vfa_doc_intremap() - interrupt remapping, which vfio_iommu_type1
 * requires unless allow_unsafe_interrupts is set. The evidence that it is
 * on: interrupt chips named "IR-..." (IR-PCI-MSI, IR-IO-APIC) in
 * PROC/interrupts, on Intel and AMD alike; no kernel log needed.
 */
void vfa_doc_intremap(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	char path[512], unsafe[8] = "";

	if (vfa_doc_path(path, sizeof(path), c->proc, "/interrupts"))
		return;
	if (file_has(path, " IR-")) {
		vfa_doc_add(rep, DOC_INTREMAP, DOC_OK, NULL, NULL,
			    "interrupt remapping is on (IR- interrupt chips in /proc/interrupts)");
		return;
	}
	if (!vfa_doc_path(path, sizeof(path), c->sys,
			  "/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts"))
		vfa_doc_read(path, unsafe, sizeof(unsafe));
	if (unsafe[0] == 'Y' || unsafe[0] == '1')
		vfa_doc_add(rep, DOC_INTREMAP, DOC_WARN, NULL,
			    "enable interrupt remapping (VT-d/AMD-Vi with x2APIC in firmware, no intremap=off) and drop allow_unsafe_interrupts",
			    "no interrupt remapping; vfio accepts devices anyway (vfio_iommu_type1 allow_unsafe_interrupts=Y): a guest can forge interrupts to the host");
	else if (ecap_ir(c))
		vfa_doc_add(rep, DOC_INTREMAP, DOC_FAIL, NULL,
			    "remove intremap=off (or nointremap) from the kernel command line and reboot",
			    "the IOMMU supports interrupt remapping (ECAP.IR) but it is off: vfio refuses to assign devices");
	else
		vfa_doc_add(rep, DOC_INTREMAP, DOC_FAIL, NULL,
			    "enable interrupt remapping (VT-d/AMD-Vi and x2APIC) in the firmware setup; only if the hardware has none: options vfio_iommu_type1 allow_unsafe_interrupts=1 (insecure)",
			    "no interrupt remapping (no IR- interrupt chips in /proc/interrupts): vfio refuses to assign devices");
}

/**
 * vfa_doc_vfio_modules() - vfio and vfio-pci loaded (SYS/module/...), or
 * at least available to this kernel (MODULES/RELEASE/modules.dep or
 * modules.builtin).
 */
void vfa_doc_vfio_modules(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	static const char *const mods[] = { "vfio", "vfio_pci" };
	static const char *const files[] = { "vfio.ko", "vfio-pci.ko" };
	char path[512], missing[64] = "", absent[64] = "";
	struct stat st;

	for (size_t i = 0; i < 2; i++) {
		char needle[32];
		bool found = false;

		if (!vfa_doc_path(path, sizeof(path), c->sys, "/module/%s", mods[i]) &&
		    !stat(path, &st))
			continue;
		snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
			 "%s%s", *missing ? ", " : "", files[i]);
		snprintf(needle, sizeof(needle), "/%s", files[i]);
		for (size_t k = 0; k < 2 && !found; k++)
			found = !vfa_doc_path(path, sizeof(path), c->modules, "/%s/%s", c->release,
					      k ? "modules.builtin" : "modules.dep") &&
				file_has(path, needle);
		if (!found)
			snprintf(absent + strlen(absent), sizeof(absent) - strlen(absent),
				 "%s%s", *absent ? ", " : "", files[i]);
	}
	if (*absent)
		vfa_doc_add(rep, DOC_VFIO_MODULES, DOC_FAIL, NULL,
			    "install a kernel built with CONFIG_VFIO and CONFIG_VFIO_PCI (Debian's linux-image-amd64 has both)",
			    "kernel %s has no %s (not loaded, not in modules.dep or modules.builtin)",
			    c->release, absent);
	else if (*missing)
		vfa_doc_add(rep, DOC_VFIO_MODULES, DOC_WARN, NULL,
			    "modprobe vfio-pci, and echo vfio-pci > /etc/modules-load.d/vfio-pci.conf to load it at boot",
			    "%s not loaded (available in kernel %s)", missing, c->release);
	else
		vfa_doc_add(rep, DOC_VFIO_MODULES, DOC_OK, NULL, NULL, "vfio and vfio-pci are loaded");
}

/**
 * vfa_doc_config() - did the config load?
 */
void vfa_doc_config(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	if (c->cfg)
		vfa_doc_add(rep, DOC_CONFIG, DOC_OK, NULL, NULL, "%s: %u pool(s)",
			    c->cfg->path, c->cfg->n_pools);
	else
		vfa_doc_add(rep, DOC_CONFIG, DOC_FAIL, NULL,
			    "correct the config (etc/vfagent.conf.example shows every key); the PF checks need it",
			    "%s", c->cfg_err);
}

/**
 * vfa_doc_problems() - true if any finding is a warn or fail.
 */
bool vfa_doc_problems(const struct vfa_doc_report *rep)
{
	for (unsigned int i = 0; i < rep->n; i++)
		if (rep->f[i].status >= DOC_WARN)
			return true;
	return false;
}

/**
 * vfa_doc_run() - every check, in order, into rep (which it clears).
 */
void vfa_doc_run(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	rep->n = 0;
	vfa_doc_iommu_cmdline(c, rep);
	vfa_doc_iommu_active(c, rep);
	vfa_doc_intremap(c, rep);
	vfa_doc_vfio_modules(c, rep);
	vfa_doc_config(c, rep);
	vfa_doc_pfs(c, rep);
	vfa_doc_libvirt(c, rep);
	vfa_doc_dynamic_ownership(c, rep);
	vfa_doc_apparmor(c, rep);
	vfa_doc_selinux(c, rep);
	vfa_doc_memlock(c, rep);
	vfa_doc_slots(c, rep);
}

/**
 * vfa_doc_json() - the report as a new JSON object the caller owns:
 * {"ok", "problems", "findings": [{"check","status","subject","message","fix"}]}.
 */
json_object *vfa_doc_json(const struct vfa_doc_report *rep)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	int problems = 0;

	for (unsigned int i = 0; i < rep->n; i++) {
		const struct vfa_doc_finding *f = &rep->f[i];
		json_object *j = json_object_new_object();

		problems += f->status >= DOC_WARN;
		json_object_object_add(j, "check", json_object_new_string(vfa_doc_check_names[f->check]));
		json_object_object_add(j, "status", json_object_new_string(vfa_doc_status_names[f->status]));
		json_object_object_add(j, "subject", json_object_new_string(f->subject));
		json_object_object_add(j, "message", json_object_new_string(f->msg));
		json_object_object_add(j, "fix", json_object_new_string(f->fix));
		json_object_array_add(a, j);
	}
	json_object_object_add(o, "ok", json_object_new_boolean(!problems));
	json_object_object_add(o, "problems", json_object_new_int(problems));
	json_object_object_add(o, "findings", a);
	return o;
}

/**
 * vfa_doc_text() - the report for people: one line per finding, the fix
 * under each problem, a summary line.
 */
void vfa_doc_text(const struct vfa_doc_report *rep, FILE *f)
{
	unsigned int problems = 0;

	for (unsigned int i = 0; i < rep->n; i++) {
		const struct vfa_doc_finding *x = &rep->f[i];

		problems += x->status >= DOC_WARN;
		fprintf(f, "%-4s  %s%s%s%s: %s\n", vfa_doc_status_names[x->status],
			vfa_doc_check_names[x->check], *x->subject ? " (" : "",
			x->subject, *x->subject ? ")" : "", x->msg);
		if (x->status >= DOC_WARN && *x->fix)
			fprintf(f, "      fix: %s\n", x->fix);
	}
	if (problems)
		fprintf(f, "%u problem(s) found\n", problems);
	else
		fprintf(f, "no problems found\n");
}

/* Addresses of a netdev through getifaddrs(). Returns how many. */
static int sys_ifaddrs(const char *ifname, struct vfa_doc_addr *ret, size_t max)
{
	struct ifaddrs *all, *a;
	int n = 0;

	if (getifaddrs(&all) < 0)
		return -errno;
	for (a = all; a && (size_t)n < max; a = a->ifa_next) {
		const void *src;

		if (!a->ifa_addr || strcmp(a->ifa_name, ifname))
			continue;
		if (a->ifa_addr->sa_family == AF_INET) {
			src = &((struct sockaddr_in *)(void *)a->ifa_addr)->sin_addr;
			ret[n].link_local = false;
		} else if (a->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *in6 = &((struct sockaddr_in6 *)(void *)a->ifa_addr)->sin6_addr;

			src = in6;
			ret[n].link_local = IN6_IS_ADDR_LINKLOCAL(in6);
		} else {
			continue;
		}
		if (inet_ntop(a->ifa_addr->sa_family, src, ret[n].s, sizeof(ret[n].s)))
			n++;
	}
	freeifaddrs(all);
	return n;
}

/* Fills c from the options: roots, kernel release, config, leases,
 * vfio context and libvirt; what fails to open is kept for its check. */
static int ctx_open(const struct vfa_opts *o, struct vfa_doc_ctx *c,
		    struct vfa_config *cfg, struct vfa_lease **leases)
{
	struct vfa_state *st = NULL;
	struct vfa_err e = { "", 0 };
	struct utsname u;
	struct stat sb;

	snprintf(c->sys, sizeof(c->sys), "%s", o->sys_root ? o->sys_root : "/sys");
	snprintf(c->dev, sizeof(c->dev), "%s", o->dev_root ? o->dev_root : "/dev");
	snprintf(c->proc, sizeof(c->proc), "%s", o->proc_root ? o->proc_root : "/proc");
	snprintf(c->etc, sizeof(c->etc), "%s", o->etc_root ? o->etc_root : "/etc");
	snprintf(c->run, sizeof(c->run), "%s", o->run_root ? o->run_root : "/run");
	snprintf(c->modules, sizeof(c->modules), "%s", o->modules_root ? o->modules_root : "/lib/modules");
	if (o->apparmor_param)
		snprintf(c->apparmor, sizeof(c->apparmor), "%s", o->apparmor_param);
	else
		snprintf(c->apparmor, sizeof(c->apparmor), "%s/module/apparmor/parameters/enabled", c->sys);
	snprintf(c->release, sizeof(c->release), "%s", uname(&u) ? "" : u.release);
	c->ifaddrs = sys_ifaddrs;
	if (vfio_ctx_new(c->sys, c->dev, &c->io))
		return -ENOMEM;
	if (vfa_config_load(o->config, cfg, &e))
		snprintf(c->cfg_err, sizeof(c->cfg_err), "%s", e.msg);
	else
		c->cfg = cfg;
	/* Leases are only read: no lock, and no state dir made if none. */
	if (!stat(o->state_dir, &sb) && !vfa_state_open(o->state_dir, &st, &e))
		vfa_lease_list(st, leases, &c->n_leases, NULL);
	vfa_state_close(st);
	c->leases = *leases;
	c->virt_errno = -vfa_virt_open(c->cfg ? c->cfg->libvirt_uri : "", &c->virt, &e);
	snprintf(c->virt_err, sizeof(c->virt_err), "%s", c->virt_errno ? e.msg : "");
	return 0;
}

/**
 * vfa_doctor_main() - runs every check on this host, prints the report
 * (text or JSON) on stdout; returns 0 if nothing was found, 1 if problems
 * were (or the doctor itself could not run).
 */
int vfa_doctor_main(const struct vfa_opts *o, bool json)
{
	struct vfa_doc_report *rep = calloc(1, sizeof(*rep));
	struct vfa_config *cfg = calloc(1, sizeof(*cfg));
	struct vfa_doc_ctx c = { 0 };
	struct vfa_lease *leases = NULL;
	int code = VFA_EXIT_FAIL;

	if (!rep || !cfg || ctx_open(o, &c, cfg, &leases)) {
		fprintf(stderr, "vfagent: doctor: out of memory\n");
		goto out;
	}
	vfa_doc_run(&c, rep);
	if (json) {
		json_object *j = vfa_doc_json(rep);

		puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(j);
	} else {
		vfa_doc_text(rep, stdout);
	}
	code = vfa_doc_problems(rep) ? VFA_EXIT_FAIL : 0;
out:
	vfa_virt_close(c.virt);
	vfio_ctx_free(c.io);
	free(leases);
	free(cfg);
	free(rep);
	return code;
}
