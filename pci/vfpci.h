/* vfpci: PCI identity and the SR-IOV capability, read from config space
 * through libpci. Mechanism only: 0 or -errno, never prints or exits
 * (libpci's exit-on-error handler is replaced). vfpci_errmsg() explains
 * the last failure. */
#ifndef VFAGENT_VFPCI_H
#define VFAGENT_VFPCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VFPCI_ADDR_LEN 13	/* "dddd:bb:dd.f" + NUL */

struct vfpci;			/* opaque: one libpci access */

struct vfpci_addr {
	uint16_t domain;
	uint8_t bus, dev, fn;
};

struct vfpci_ident {
	uint16_t vendor, device;
	uint16_t subsys_vendor, subsys_device;
	uint32_t class;		/* 24 bits: base, sub, prog-if */
	uint8_t revision;
	char vendor_name[128];	/* from pci.ids, "" if not installed */
	char device_name[128];
};

struct vfpci_sriov {
	uint16_t cap_offset;	/* of the extended capability */
	uint32_t caps;
	uint16_t ctrl;
	bool vf_enable;
	uint16_t total_vfs, initial_vfs, num_vfs;
	uint16_t vf_offset, vf_stride, vf_device;
	uint32_t supported_page_sizes, system_page_size;
};

/* Opens libpci on sysfs_root (NULL: "/sys"). Scans nothing.
 * *ret is owned by the caller; free with vfpci_close(). */
int vfpci_open(const char *sysfs_root, struct vfpci **ret);
void vfpci_close(struct vfpci *p);	/* accepts NULL */
const char *vfpci_errmsg(const struct vfpci *p);

/* "0000:00:02.0" or "00:02.0" (domain 0). -EINVAL if malformed. */
int vfpci_addr_parse(const char *s, struct vfpci_addr *ret);
/* Writes "dddd:bb:dd.f" into buf (VFPCI_ADDR_LEN bytes). Returns buf. */
char *vfpci_addr_str(const struct vfpci_addr *a, char buf[VFPCI_ADDR_LEN]);

/* Identity of one function. -ENODEV if it does not exist. */
int vfpci_ident(struct vfpci *p, const struct vfpci_addr *a,
		struct vfpci_ident *ret);

/* The SR-IOV capability of a PF from its config space. -ENOENT if it has
 * none, -EBADMSG if the capability chain is corrupt, -EACCES if only the
 * first 64 bytes are readable (not root). */
int vfpci_sriov(struct vfpci *p, const struct vfpci_addr *pf,
		struct vfpci_sriov *ret);

/* Pure parser over a config-space image (len up to 4096). */
int vfpci_parse_sriov(const uint8_t *cfg, size_t len, struct vfpci_sriov *ret);

/* Address of VF vf_index (0-based): PF routing ID + offset + stride*index.
 * -ERANGE if vf_index >= total_vfs or the result leaves the bus range. */
int vfpci_vf_addr(const struct vfpci_addr *pf, const struct vfpci_sriov *s,
		  unsigned int vf_index, struct vfpci_addr *ret);

/* Inverse: which VF index of pf is vf. -ENOENT if none. */
int vfpci_vf_index(const struct vfpci_addr *pf, const struct vfpci_sriov *s,
		   const struct vfpci_addr *vf, unsigned int *ret_index);

/* The PF and VF index of a VF, from its physfn link and the PF's
 * capability. -ENOENT if vf is not a VF. */
int vfpci_vf_pf(struct vfpci *p, const struct vfpci_addr *vf,
		struct vfpci_addr *ret_pf, unsigned int *ret_index);

#endif
