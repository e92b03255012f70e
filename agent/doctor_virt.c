/* vfagent doctor: libvirt (reachable, dynamic_ownership), what confines
 * QEMU (AppArmor, SELinux), QEMU's locked-memory limit, and the free
 * hot-plug slots of each domain that holds a lease. */
#include "agent/doctor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/slots.h"

#define CAP_SYS_RESOURCE_BIT 24
#define AA_RULE "/dev/vfio/* rw,"

/**
 * vfa_doc_libvirt() - could the doctor connect to libvirt (the config's
 * URI, through agent/virt.c)?
 */
void vfa_doc_libvirt(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	if (c->virt)
		vfa_doc_add(rep, DOC_LIBVIRT, DOC_OK, NULL, NULL, "libvirt reachable (%s)",
			    c->cfg && *c->cfg->libvirt_uri ? c->cfg->libvirt_uri : "default URI");
	else if (c->virt_errno == ENOTSUP)
		vfa_doc_add(rep, DOC_LIBVIRT, DOC_SKIP, NULL, NULL,
			    "%s: --domain cannot be used", c->virt_err);
	else
		vfa_doc_add(rep, DOC_LIBVIRT, DOC_FAIL, NULL,
			    "start libvirt (systemctl start libvirtd, or virtqemud.socket) or correct [libvirt] uri",
			    "%s", c->virt_err);
}

/**
 * vfa_doc_dynamic_ownership() - with dynamic_ownership = 0 in
 * ETC/libvirt/qemu.conf libvirt leaves /dev/vfio/N as it finds it, so
 * every pool needs an owner QEMU runs as.
 */
void vfa_doc_dynamic_ownership(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	char path[512], v[32], bad[256] = "";
	int r;

	if (vfa_doc_path(path, sizeof(path), c->etc, "/libvirt/qemu.conf"))
		return;
	r = vfa_doc_conf_value(path, "dynamic_ownership", v, sizeof(v));
	if (r && r != -ENOENT) {
		vfa_doc_add(rep, DOC_DYN_OWNERSHIP, DOC_SKIP, NULL, NULL,
			    "no %s: libvirt's QEMU driver is not installed", path);
		return;
	}
	if (r == -ENOENT || strcmp(v, "0")) {
		vfa_doc_add(rep, DOC_DYN_OWNERSHIP, DOC_OK, NULL, NULL,
			    "dynamic_ownership is on: libvirt gives /dev/vfio/N to the VM's user at attach");
		return;
	}
	for (unsigned int i = 0; c->cfg && i < c->cfg->n_pools; i++)
		if (!c->cfg->pools[i].has_owner)
			snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), "%s%s",
				 *bad ? ", " : "", c->cfg->pools[i].name);
	if (*bad)
		vfa_doc_add(rep, DOC_DYN_OWNERSHIP, DOC_FAIL, NULL,
			    "set owner = libvirt-qemu:kvm and mode = 0660 in those pools, or dynamic_ownership = 1 in qemu.conf",
			    "dynamic_ownership = 0 and pool(s) %s set no owner: QEMU cannot open /dev/vfio/N (root 0600)",
			    bad);
	else
		vfa_doc_add(rep, DOC_DYN_OWNERSHIP, DOC_OK, NULL, NULL,
			    "dynamic_ownership = 0 and every pool sets the owner of its nodes");
}

/* Does a profile line allow read-write on every /dev/vfio/N node? */
static bool aa_line_covers(const char *line)
{
	const char *p = line + strspn(line, " \t");
	char path[128], perms[32];

	if (!strncmp(p, "owner ", 6))
		p += 6;
	if (!strncmp(p, "audit ", 6))
		p += 6;
	if (strncmp(p, "/dev/vfio/", 10) ||
	    sscanf(p, "%127s %31[a-zA-Z]", path, perms) != 2)
		return false;
	return strcmp(path, "/dev/vfio/vfio") && strpbrk(path + 10, "*[{") &&
	       strchr(perms, 'r') && strchr(perms, 'w');
}

static bool aa_file_covers(const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = aa_line_covers(line);
	fclose(f);
	return found;
}

/**
 * vfa_doc_apparmor() - when AppArmor is on and libvirt's QEMU profile is
 * installed, a rule letting QEMU open /dev/vfio/N (the group nodes, not
 * only /dev/vfio/vfio) in ETC/apparmor.d/abstractions/libvirt-qemu or its
 * local override.
 */
void vfa_doc_apparmor(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	char path[512], local[512], v[16] = "";

	if (vfa_doc_read(c->apparmor, v, sizeof(v)) || v[0] != 'Y') {
		vfa_doc_add(rep, DOC_APPARMOR, DOC_SKIP, NULL, NULL, "AppArmor is not enabled (%s)",
			    c->apparmor);
		return;
	}
	if (!vfa_doc_path(path, sizeof(path), c->etc, "/libvirt/qemu.conf") &&
	    !vfa_doc_conf_value(path, "security_driver", v, sizeof(v)) && !strcmp(v, "none")) {
		vfa_doc_add(rep, DOC_APPARMOR, DOC_SKIP, NULL, NULL,
			    "libvirt confines no domain (security_driver = \"none\")");
		return;
	}
	if (vfa_doc_path(path, sizeof(path), c->etc, "/apparmor.d/abstractions/libvirt-qemu") ||
	    vfa_doc_path(local, sizeof(local), c->etc, "/apparmor.d/local/abstractions/libvirt-qemu") ||
	    access(path, F_OK)) {
		vfa_doc_add(rep, DOC_APPARMOR, DOC_SKIP, NULL, NULL,
			    "libvirt's AppArmor profile for QEMU is not installed (%s)", path);
		return;
	}
	if (aa_file_covers(path) || aa_file_covers(local))
		vfa_doc_add(rep, DOC_APPARMOR, DOC_OK, NULL, NULL,
			    "AppArmor lets QEMU open /dev/vfio/N (libvirt-qemu abstraction)");
	else
		vfa_doc_add(rep, DOC_APPARMOR, DOC_FAIL, NULL,
			    "echo '" AA_RULE "' >> /etc/apparmor.d/local/abstractions/libvirt-qemu; then systemctl reload apparmor",
			    "AppArmor confines QEMU and no rule lets it open /dev/vfio/N (neither %s nor %s has one): attach fails with \"Permission denied\"",
			    path, local);
}

/**
 * vfa_doc_selinux() - SELinux needs no rule from us: libvirt's selinux
 * driver labels each /dev/vfio/N for its domain. Said as info.
 */
void vfa_doc_selinux(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	char path[512], v[8];

	if (vfa_doc_path(path, sizeof(path), c->sys, "/fs/selinux/enforce") ||
	    vfa_doc_read(path, v, sizeof(v)))
		vfa_doc_add(rep, DOC_SELINUX, DOC_SKIP, NULL, NULL, "SELinux is not enabled");
	else
		vfa_doc_add(rep, DOC_SELINUX, DOC_INFO, NULL, NULL,
			    "SELinux is on (%s): libvirt labels /dev/vfio/N for each domain itself",
			    v[0] == '1' ? "enforcing" : "permissive");
}

/* PID of the running libvirt daemon that starts QEMU, from its pid file. */
static long daemon_pid(const struct vfa_doc_ctx *c, const char **ret_name)
{
	static const char *const names[] = { "libvirtd", "virtqemud" };
	char path[512], buf[32];

	for (size_t i = 0; i < 2; i++) {
		long pid;
		struct stat st;

		if (vfa_doc_path(path, sizeof(path), c->run, "/%s.pid", names[i]) ||
		    vfa_doc_read(path, buf, sizeof(buf)))
			continue;
		pid = strtol(buf, NULL, 10);
		if (pid <= 0 || vfa_doc_path(path, sizeof(path), c->proc, "/%ld", pid) ||
		    stat(path, &st))
			continue;
		*ret_name = names[i];
		return pid;
	}
	return -1;
}

/**
 * vfa_doc_memlock() - VFIO pins all guest RAM, beyond QEMU's default
 * RLIMIT_MEMLOCK. libvirt raises the limit of each QEMU with a hostdev
 * itself (guest RAM + 1 GiB, also on hot-plug), which takes
 * CAP_SYS_RESOURCE in its daemon (PROC/PID/status CapEff of the daemon in
 * RUN/libvirtd.pid or RUN/virtqemud.pid). That capability is what is
 * checked; the daemon's own limit is only reported.
 */
void vfa_doc_memlock(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	char path[512], line[256], lim[64] = "?";
	unsigned long long eff = 0;
	bool have = false;
	const char *name = NULL;
	long pid = daemon_pid(c, &name);
	FILE *f;

	if (pid < 0) {
		vfa_doc_add(rep, DOC_MEMLOCK, DOC_SKIP, NULL, NULL,
			    "no running libvirt daemon (no libvirtd.pid or virtqemud.pid in %s)", c->run);
		return;
	}
	if (!vfa_doc_path(path, sizeof(path), c->proc, "/%ld/status", pid) && (f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "CapEff: %llx", &eff) == 1)
				have = true;
		fclose(f);
	}
	if (!vfa_doc_path(path, sizeof(path), c->proc, "/%ld/limits", pid) && (f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "Max locked memory", 17))
				sscanf(line + 17, " %63s", lim);
		fclose(f);
	}
	if (!have)
		vfa_doc_add(rep, DOC_MEMLOCK, DOC_SKIP, NULL, NULL, "cannot read the capabilities of %s (pid %ld)",
			    name, pid);
	else if (eff & (1ull << CAP_SYS_RESOURCE_BIT))
		vfa_doc_add(rep, DOC_MEMLOCK, DOC_OK, NULL, NULL,
			    "%s (pid %ld, own limit %s) has CAP_SYS_RESOURCE: it raises each QEMU's locked-memory limit to guest RAM + 1 GiB for VFIO",
			    name, pid, lim);
	else
		vfa_doc_add(rep, DOC_MEMLOCK, DOC_WARN, NULL,
			    "run the system libvirt daemon with its stock unit (root, all capabilities), or give QEMU LimitMEMLOCK=infinity",
			    "%s (pid %ld) lacks CAP_SYS_RESOURCE: it cannot raise QEMU's locked-memory limit (%s), and VFIO's pinning of guest RAM fails",
			    name, pid, lim);
}

/* The KiB value of <NAME unit='KiB'>N</NAME> in libvirt's XML (libvirt
 * writes memory sizes in KiB); 0 if absent. */
static unsigned long long xml_kib(const char *xml, const char *name)
{
	char open_tag[64];
	const char *p;

	snprintf(open_tag, sizeof(open_tag), "<%s unit='KiB'>", name);
	p = strstr(xml, open_tag);
	return p ? strtoull(p + strlen(open_tag), NULL, 10) : 0;
}

/**
 * vfa_doc_memlock_xml() - a domain's <memtune><hard_limit> below its RAM:
 * libvirt then caps QEMU's locked memory at hard_limit instead of RAM +
 * 1 GiB, and VFIO cannot pin the guest's RAM.
 */
void vfa_doc_memlock_xml(const char *domain, const char *xml, struct vfa_doc_report *rep)
{
	unsigned long long mem = xml_kib(xml, "memory"), hard = xml_kib(xml, "hard_limit");

	if (hard && hard < mem)
		vfa_doc_add(rep, DOC_MEMLOCK, DOC_FAIL, domain,
			    "raise or remove <memtune><hard_limit> (virsh memtune DOMAIN --hard-limit, at least RAM + 1 GiB)",
			    "%s: memtune hard_limit %llu KiB is below its %llu KiB of RAM: libvirt caps QEMU's locked memory there and VFIO cannot pin the guest's RAM",
			    domain, hard, mem);
}

/**
 * vfa_doc_slots_xml() - the finding for one domain from its live XML.
 */
void vfa_doc_slots_xml(const char *domain, const char *xml, struct vfa_doc_report *rep)
{
	struct vfa_slots s;

	if (vfa_slots_count(xml, strlen(xml), &s))
		vfa_doc_add(rep, DOC_SLOTS, DOC_SKIP, domain, NULL, "cannot read the XML of %s", domain);
	else if (s.machine == VFA_MACHINE_UNKNOWN)
		vfa_doc_add(rep, DOC_SLOTS, DOC_INFO, domain, NULL,
			    "%s: machine type without a PCI root: slots not counted", domain);
	else if (!s.free) {
		char fix[256];

		snprintf(fix, sizeof(fix), s.machine == VFA_MACHINE_Q35 ?
			 "vfagent ports %s --add 4, then restart the domain (virsh shutdown, virsh start)" :
			 "add <controller type='pci' model='pci-bridge'/> with virsh edit %s and restart it",
			 domain);
		vfa_doc_add(rep, DOC_SLOTS, DOC_FAIL, domain, fix,
			    "%s (%s) has no free hot-plug slot: the next live attach fails (\"No more available PCI slots\")",
			    domain, vfa_machine_names[s.machine]);
	} else {
		vfa_doc_add(rep, DOC_SLOTS, DOC_OK, domain, NULL, "%s (%s): %u free hot-plug slot(s)",
			    domain, vfa_machine_names[s.machine], s.free);
	}
}

/* Is the lease's domain running? By UUID, or by name for leases journaled
 * before UUIDs. */
static int domain_running(struct vfa_virt *v, const struct vfa_lease *l,
			  bool *ret_running, struct vfa_err *e)
{
	char name[VFA_DOMAIN_LEN], uuid[VFA_UUID_LEN];

	if (l->uuid[0])
		return vfa_virt_domain_uuid(v, l->uuid, ret_running, name, e);
	return vfa_virt_domain(v, l->domain, ret_running, uuid, e);
}

/**
 * vfa_doc_slots() - free hot-plug slots (and the memtune hard_limit) of
 * each running domain that holds a lease, from its live XML.
 */
void vfa_doc_slots(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	for (size_t i = 0; i < c->n_leases; i++) {
		const char *d = c->leases[i].domain;
		struct vfa_err e = { "", 0 };
		bool seen = false, running = false;
		char *xml = NULL;

		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(c->leases[k].domain, d);
		if (!*d || seen)
			continue;
		if (!c->virt) {
			vfa_doc_add(rep, DOC_SLOTS, DOC_SKIP, d, NULL, "libvirt not reachable: slots of %s not counted", d);
			continue;
		}
		if (domain_running(c->virt, &c->leases[i], &running, &e) || !running) {
			vfa_doc_add(rep, DOC_SLOTS, DOC_INFO, d, NULL, "%s is not running: %s", d,
				    *e.msg ? e.msg : "slots are counted while it runs");
			continue;
		}
		if (vfa_virt_xml(c->virt, d, false, &xml, &e))
			vfa_doc_add(rep, DOC_SLOTS, DOC_SKIP, d, NULL, "%s", e.msg);
		else {
			vfa_doc_slots_xml(d, xml, rep);
			vfa_doc_memlock_xml(d, xml, rep);
		}
		free(xml);
	}
}
