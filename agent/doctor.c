/* vfagent doctor: checks the host for what SR-IOV passthrough needs and
 * names the fix for each finding. This file: the findings and the helpers
 * the checks share, the run, its rendering to text and JSON, and the
 * command. The host (IOMMU, interrupt remapping, vfio modules):
 * doctor_host.c; PFs and VFs: doctor_pf.c; libvirt: doctor_virt.c. */
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
	[DOC_JOURNAL] = "state.journal",
	[DOC_LEASE_FENCED] = "lease.fenced",
};

const char *const vfa_doc_status_names[DOC_STATUS__MAX] = {
	[DOC_OK] = "ok",
	[DOC_INFO] = "info",
	[DOC_SKIP] = "skip",
	[DOC_WARN] = "warn",
	[DOC_FAIL] = "fail",
};

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

/**
 * vfa_doc_config() - did the config load?
 */
static void vfa_doc_config(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
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
	vfa_doc_journal(c, rep);
	vfa_doc_fenced(c, rep);
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

/* The persistent journal's damaged records (none read: none), or why it
 * cannot be read; only read: no lock, and no dir made if none. */
static void persist_damaged(const struct vfa_opts *o, struct vfa_doc_ctx *c)
{
	const char *dir = o->persist_dir ? o->persist_dir : VFA_PERSIST_DIR;
	struct vfa_state *pst = NULL;
	struct vfa_lease *ls = NULL;
	struct vfa_err e = { "", 0 };
	size_t n = 0;
	int r = vfa_persist_open(dir, false, &pst, &e);

	if (!r && pst) {
		r = vfa_lease_list(pst, &ls, &n, NULL);
		if (r)
			vfa_fail(&e, -r, "journal %s/journal: %s", dir, strerror(-r));
	}
	snprintf(c->persist_dir, sizeof(c->persist_dir), "%s", (r || pst) ? dir : "");
	if (r) {
		c->persist_errno = -r;
		snprintf(c->persist_err, sizeof(c->persist_err), "%s", e.msg);
	} else if (pst) {
		c->persist_damaged = vfa_lease_damaged(pst);
	}
	free(ls);
	vfa_state_close(pst);
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
	int r = 0;

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
	if (!stat(o->state_dir, &sb) && !(r = vfa_state_open(o->state_dir, &st, &e)) &&
	    !vfa_lease_list(st, leases, &c->n_leases, NULL)) {
		snprintf(c->state_dir, sizeof(c->state_dir), "%s", o->state_dir);
		c->journal_damaged = vfa_lease_damaged(st);
	} else if (r) {
		c->state_errno = -r;	/* there, but vfa_state_open said why not */
		snprintf(c->state_err, sizeof(c->state_err), "%s", e.msg);
	}
	vfa_state_close(st);
	persist_damaged(o, c);
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
