/* vfagent doctor: the host itself. Is the IOMMU on (kernel command line)
 * and active (sysfs), is interrupt remapping on, are vfio and vfio-pci
 * loaded or at least in the running kernel? */
#include "agent/doctor.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GRUB_FIX "add intel_iommu=on iommu=pt (amd_iommu=on on AMD) to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and reboot"

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
