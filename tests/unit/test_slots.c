/* agent/slots.c: free hot-plug slots counted from libvirt domain XML
 * (tests/fixtures/slots: the lab L2's live XML as libvirt 11.3 wrote it,
 * and hand-made q35 and i440fx cases), and the XML that adds ports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/slots.h"
#include "tests/unit/t.h"

static char *load(const char *name)
{
	char path[256];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "tests/fixtures/slots/%s", name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int count(const char *xml, struct vfa_slots *s)
{
	memset(s, 0xff, sizeof(*s));
	return vfa_slots_count(xml, strlen(xml), s);
}

static void fixture(const char *name, enum vfa_machine m, unsigned int free_,
		    unsigned int ports)
{
	char t[128];
	char *xml = load(name);
	struct vfa_slots s;
	int r;

	snprintf(t, sizeof(t), "slots.%s", name);
	if (!xml) {
		T(t, 0, "cannot read tests/fixtures/slots/%s (run from the tree's top)", name);
		return;
	}
	r = count(xml, &s);
	T(t, r == 0 && s.machine == m && s.free == free_ && s.ports == ports,
	  "r=%d machine %s free %u ports %u, want %s free %u ports %u", r,
	  r ? "?" : vfa_machine_names[s.machine], s.free, s.ports,
	  vfa_machine_names[m], free_, ports);
	free(xml);
}

/* An i440fx domain with devices on the given pci.0 slots. */
static char *pc_with(unsigned int first, unsigned int last, const char *root_extra)
{
	size_t len = 4096 + 160 * 32;
	char *x = malloc(len);
	size_t n;

	n = (size_t)snprintf(x, len, "<domain><devices><controller type='pci' index='0' model='pci-root'>%s</controller>",
			     root_extra);
	for (unsigned int s = first; s <= last; s++)
		n += (size_t)snprintf(x + n, len - n,
				      "<interface type='network'><address type='pci' domain='0x0000' bus='0x00' slot='0x%02x' function='0x0'/></interface>",
				      s);
	snprintf(x + n, len - n, "</devices></domain>");
	return x;
}

static void test_pc(void)
{
	struct vfa_slots s;
	int r;
	char *x = pc_with(2, 31, "");

	r = count(x, &s);
	T("slots.pc_full", r == 0 && s.machine == VFA_MACHINE_PC && s.free == 0,
	  "free %u (slot 1 is the PIIX3 whatever the XML says)", s.free);
	free(x);
	x = pc_with(2, 30, "");
	r = count(x, &s);
	T("slots.pc_last_slot_free", r == 0 && s.free == 1, "free %u", s.free);
	free(x);
	x = pc_with(2, 3, "<target hotplug='off'/>");
	r = count(x, &s);
	T("slots.pc_root_hotplug_off", r == 0 && s.free == 0, "free %u", s.free);
	free(x);
	r = count("<domain><devices><controller type='pci' index='0' model='pci-root'/>"
		"<controller type='pci' index='1' model='pci-bridge'><address type='pci' bus='0x00' slot='0x1f'/></controller>"
		"<hostdev><address type='pci' bus='0x01' slot='0x01'/></hostdev>"
		"</devices></domain>", &s);
	T("slots.pc_bridge_slots", r == 0 && s.free == 29 + 30,
	  "free %u, want 29 on pci.0 (slots 2..30) + 30 on the bridge", s.free);
}

static void test_q35_ports(void)
{
	static const char q35[] =
		"<domain><os><type machine='q35'>hvm</type></os><devices>"
		"<controller type='pci' index='0' model='pcie-root'/>"
		"<controller type='pci' index='1' model='pcie-root-port'><target chassis='1' port='0x8'/>"
		"<address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/></controller>"
		"<controller type='pci' index='2' model='pcie-root-port'>"
		"<address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x1'/></controller>"
		"<hostdev mode='subsystem' type='pci' managed='no'><source>"
		"<address domain='0x0000' bus='0x02' slot='0x00' function='0x0'/></source>"
		"<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></hostdev>"
		"</devices></domain>";
	struct vfa_slots s;
	char *more = NULL;
	int r;

	r = count(q35, &s);
	T("slots.q35_one_free", r == 0 && s.machine == VFA_MACHINE_Q35 &&
	  s.free == 1 && s.ports == 2, "free %u ports %u", s.free, s.ports);
	/* pcie.0 takes no hot-plug, even with free slots */
	r = count("<domain><devices><controller type='pci' index='0' model='pcie-root'/></devices></domain>", &s);
	T("slots.q35_root_not_hotplug", r == 0 &&
	  s.machine == VFA_MACHINE_Q35 && s.free == 0, "free %u", s.free);
	r = vfa_slots_add_ports(q35, 3, &more);
	T("slots.add_ports", r == 0 && count(more, &s) == 0 && s.ports == 5,
	  "r=%d ports %u after adding 3 to 2", r, more ? s.ports : 0);
	T("slots.add_ports_text", more && strstr(more, "<controller type='pci' model='pcie-root-port'/>") &&
	  strstr(more, "</devices></domain>") && !strncmp(more, q35, 200),
	  "%.300s", more ? more : "(null)");
	free(more);
	more = NULL;
	T("slots.add_ports_zero", vfa_slots_add_ports(q35, 0, &more) == -ERANGE && !more, "not refused");
	T("slots.add_ports_too_many", vfa_slots_add_ports(q35, VFA_PORTS_MAX + 1, &more) == -ERANGE, "not refused");
	{
		char *pc = pc_with(2, 3, "");

		T("slots.add_ports_pc_refused", vfa_slots_add_ports(pc, 1, &more) == -ENOTSUP && !more,
		  "pcie-root-ports added to an i440fx domain");
		free(pc);
	}
}

static void test_bad(void)
{
	static const char *const bad[] = {
		"<domain><devices><controller type='pci' index='0' model='pcie-root'",
		"<domain><devices></domain>",
		"<domain><devices><address type='pci' bus=0x00/></devices></domain>",
		"<domain><devices><address type='pci' bus='0x00/></devices></domain>",
		"<domain></devices>",
		"<!-- never closed",
	};
	struct vfa_slots s;
	char name[64];
	int r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "slots.malformed_%zu", i);
		T(name, count(bad[i], &s) == -EBADMSG, "accepted: %s", bad[i]);
	}
	r = count("<domain><devices/></domain>", &s);
	T("slots.no_pci_root_unknown", r == 0 &&
	  s.machine == VFA_MACHINE_UNKNOWN && s.free == 0, "machine %d", s.machine);
	r = count("<domain><devices><controller type='pci' index='0' model='pcie-root'/>"
		"<x><address type='pci' bus='0x1000' slot='0x40'/></x></devices></domain>", &s);
	T("slots.bus_out_of_range_ignored", r == 0,
	  "rejected");
}

int main(void)
{
	fixture("pc_basic.xml", VFA_MACHINE_PC, 26, 0);
	fixture("q35_hotplug_off.xml", VFA_MACHINE_Q35, 1, 2);
	fixture("q35_l2_live.xml", VFA_MACHINE_Q35, 1, 3);
	fixture("q35_l2_full.xml", VFA_MACHINE_Q35, 0, 3);
	test_pc();
	test_q35_ports();
	test_bad();
	return t_done();
}
