/* agent/slots.c: free hot-plug slots of a libvirt domain, from its XML.
 * Pure parsing, no libvirt: included by agent/ files and tests only. */
#ifndef VFAGENT_SLOTS_H
#define VFAGENT_SLOTS_H

#include <stddef.h>

enum vfa_machine {
	VFA_MACHINE_UNKNOWN,	/* no PCI root controller seen: not counted */
	VFA_MACHINE_Q35,	/* pcie-root: devices hot-plug into PCIe ports */
	VFA_MACHINE_PC,		/* pci-root (i440fx): slots on pci.0 and bridges */
	VFA_MACHINE__MAX,
};
extern const char *const vfa_machine_names[VFA_MACHINE__MAX];

struct vfa_slots {
	enum vfa_machine machine;
	unsigned int free;	/* places a hot-plugged PCIe/PCI device can go */
	unsigned int ports;	/* q35: hot-pluggable PCIe ports, empty or not */
};

#define VFA_PORTS_MAX 64	/* ports added by one command */

int vfa_slots_count(const char *xml, size_t len, struct vfa_slots *ret);
int vfa_slots_add_ports(const char *xml, unsigned int n, char **ret_xml);

#endif
