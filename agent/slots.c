/* Free hot-plug slots of a libvirt domain, counted from its domain XML the
 * way libvirt places a hot-plugged device when it picks the address:
 *
 * - q35 (pcie-root): pcie.0 itself takes no hot-plug; a device goes into a
 *   pcie-root-port or pcie-switch-downstream-port (one slot each, slot 0)
 *   that nothing is plugged into and whose <target hotplug='off'/> is not
 *   set. Slots of a pci-bridge are not counted: libvirt does not put a
 *   PCIe endpoint (a VF) there by itself.
 * - pc/i440fx (pci-root): pci.0 slots 1..31 (slot 0 is the host bridge,
 *   slot 1 the PIIX3 south bridge, whatever the XML lists), and slots 1..31
 *   of each pci-bridge, minus every slot some device's <address type='pci'>
 *   uses; none on pci.0 with <target hotplug='off'/>.
 *
 * The XML is libvirt's own output, so a small tag scanner is enough: only
 * guest addresses (type='pci', direct child of a device under <devices>)
 * count; <source><address> of a hostdev names the host device. */
#include "agent/slots.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const vfa_machine_names[VFA_MACHINE__MAX] = {
	[VFA_MACHINE_UNKNOWN] = "unknown",
	[VFA_MACHINE_Q35] = "q35",
	[VFA_MACHINE_PC] = "pc",
};

#define MAX_BUS 256
#define NAME_LEN 32
#define VAL_LEN 64
#define MAX_ATTR 8
#define MAX_DEPTH 16

enum bus_model { BUS_NONE, BUS_PCI_ROOT, BUS_PCIE_ROOT, BUS_PCIE_PORT,
		 BUS_PCI_BRIDGE, BUS_OTHER };

struct tag {
	char name[NAME_LEN];
	bool close, empty, skip;	/* skip: comment or declaration */
	unsigned int n_attr;
	char key[MAX_ATTR][NAME_LEN];
	char val[MAX_ATTR][VAL_LEN];
};

struct scan {
	bool seen[MAX_BUS];
	enum bus_model model[MAX_BUS];
	bool hotplug_off[MAX_BUS];
	uint32_t used[MAX_BUS];	/* bit per slot */
	unsigned int new_ports;	/* pcie-root-ports without index yet: empty */
	/* the device element being read (depth 3: domain/devices/X) */
	bool in_ctrl;
	int ctrl_index;
	enum bus_model ctrl_model;
};

static const char *attr(const struct tag *t, const char *k)
{
	for (unsigned int i = 0; i < t->n_attr; i++)
		if (!strcmp(t->key[i], k))
			return t->val[i];
	return NULL;
}

static void copy_tok(char *dst, size_t len, const char *s, size_t n)
{
	if (n >= len)
		n = len - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Reads the tag starting at p[0] == '<'. Returns the length consumed
 * (t->skip set for a comment or declaration), -EBADMSG when the tag never
 * ends or an attribute is malformed. */
static long read_tag(const char *p, const char *end, struct tag *t)
{
	const char *q = p + 1, *s;

	memset(t, 0, sizeof(*t));
	if (q < end && (*q == '!' || *q == '?')) {
		const char *stop = (end - q >= 3 && !strncmp(q, "!--", 3)) ? "-->" : ">";
		const char *m = memmem(q, (size_t)(end - q), stop, strlen(stop));

		t->skip = true;
		return m ? m + strlen(stop) - p : -EBADMSG;
	}
	if (q < end && *q == '/') {
		t->close = true;
		q++;
	}
	for (s = q; q < end && !strchr(" \t\r\n/>", *q); q++)
		;
	copy_tok(t->name, sizeof(t->name), s, (size_t)(q - s));
	while (q < end) {
		char quote;
		const char *k, *v;
		size_t kn;

		while (q < end && strchr(" \t\r\n", *q))
			q++;
		if (q < end && *q == '>')
			return q + 1 - p;
		if (end - q >= 2 && q[0] == '/' && q[1] == '>') {
			t->empty = true;
			return q + 2 - p;
		}
		for (k = q; q < end && !strchr(" \t\r\n=/>", *q); q++)
			;
		kn = (size_t)(q - k);
		if (!kn || q >= end || *q != '=' || q + 1 >= end ||
		    (q[1] != '\'' && q[1] != '"'))
			return -EBADMSG;
		quote = q[1];
		v = q + 2;
		q = memchr(v, quote, (size_t)(end - v));
		if (!q)
			return -EBADMSG;
		if (t->n_attr < MAX_ATTR) {
			copy_tok(t->key[t->n_attr], NAME_LEN, k, kn);
			copy_tok(t->val[t->n_attr], VAL_LEN, v, (size_t)(q - v));
			t->n_attr++;
		}
		q++;
	}
	return -EBADMSG;
}

static enum bus_model model_of(const char *m)
{
	if (!m)
		return BUS_OTHER;
	if (!strcmp(m, "pci-root"))
		return BUS_PCI_ROOT;
	if (!strcmp(m, "pcie-root"))
		return BUS_PCIE_ROOT;
	if (!strcmp(m, "pcie-root-port") || !strcmp(m, "pcie-switch-downstream-port"))
		return BUS_PCIE_PORT;
	if (!strcmp(m, "pci-bridge"))
		return BUS_PCI_BRIDGE;
	return BUS_OTHER;
}

static int num(const char *s, long max)
{
	char *endp;
	long v;

	if (!s || !*s)
		return -1;
	v = strtol(s, &endp, 0);
	return *endp || v < 0 || v > max ? -1 : (int)v;
}

/* An element at depth 3 (a device) or 4 (its children). */
static void on_tag(struct scan *sc, const struct tag *t, unsigned int depth)
{
	const char *type = attr(t, "type");

	if (depth == 3) {
		sc->in_ctrl = !strcmp(t->name, "controller") && type && !strcmp(type, "pci");
		if (sc->in_ctrl) {
			sc->ctrl_index = num(attr(t, "index"), MAX_BUS - 1);
			sc->ctrl_model = model_of(attr(t, "model"));
			if (sc->ctrl_index >= 0) {
				sc->seen[sc->ctrl_index] = true;
				sc->model[sc->ctrl_index] = sc->ctrl_model;
			} else if (sc->ctrl_model == BUS_PCIE_PORT) {
				sc->new_ports++;
			}
		}
		return;
	}
	if (depth != 4)
		return;
	if (!strcmp(t->name, "address") && type && !strcmp(type, "pci")) {
		int bus = num(attr(t, "bus"), MAX_BUS - 1), slot = num(attr(t, "slot"), 31);

		if (bus >= 0 && slot >= 0)
			sc->used[bus] |= 1u << slot;
	} else if (sc->in_ctrl && sc->ctrl_index >= 0 && !strcmp(t->name, "target")) {
		const char *h = attr(t, "hotplug");

		sc->hotplug_off[sc->ctrl_index] = h && !strcmp(h, "off");
	}
}

static unsigned int free_of(const struct scan *sc, unsigned int bus,
			    enum vfa_machine m)
{
	uint32_t avail = 0xfffffffeu;	/* slots 1..31 */
	unsigned int n = 0;

	if (sc->hotplug_off[bus])
		return 0;
	switch (sc->model[bus]) {
	case BUS_PCIE_PORT:
		return m == VFA_MACHINE_Q35 && !sc->used[bus];
	case BUS_PCI_ROOT:
		avail &= ~(1u << 1);	/* PIIX3 */
		break;
	case BUS_PCI_BRIDGE:
		if (m != VFA_MACHINE_PC)
			return 0;
		break;
	default:
		return 0;
	}
	avail &= ~sc->used[bus];
	for (; avail; avail &= avail - 1)
		n++;
	return n;
}

/**
 * vfa_slots_count() - free hot-plug slots in a domain's XML (xml, len).
 * Returns 0 with *ret filled, or -EBADMSG if the XML is malformed.
 */
int vfa_slots_count(const char *xml, size_t len, struct vfa_slots *ret)
{
	struct scan *sc = calloc(1, sizeof(*sc));
	const char *p = xml, *end = xml + len;
	char stack[MAX_DEPTH][NAME_LEN];
	unsigned int depth = 0;
	struct vfa_slots res = { VFA_MACHINE_UNKNOWN, 0, 0 };
	int r = 0;

	if (!sc)
		return -ENOMEM;
	while ((p = memchr(p, '<', (size_t)(end - p)))) {
		struct tag t;
		long n = read_tag(p, end, &t);

		if (n < 0) {
			r = -EBADMSG;
			goto out;
		}
		p += n;
		if (t.skip)
			continue;
		if (t.close) {
			if (!depth || strcmp(stack[depth - 1], t.name)) {
				r = -EBADMSG;
				goto out;
			}
			depth--;
			continue;
		}
		if (depth == MAX_DEPTH) {
			r = -EBADMSG;
			goto out;
		}
		if (depth >= 2 && !strcmp(stack[0], "domain") && !strcmp(stack[1], "devices"))
			on_tag(sc, &t, depth + 1);
		if (!t.empty)
			snprintf(stack[depth++], NAME_LEN, "%s", t.name);
	}
	if (depth) {
		r = -EBADMSG;
		goto out;
	}
	if (sc->seen[0])
		res.machine = sc->model[0] == BUS_PCIE_ROOT ? VFA_MACHINE_Q35 :
			      sc->model[0] == BUS_PCI_ROOT ? VFA_MACHINE_PC : VFA_MACHINE_UNKNOWN;
	if (res.machine == VFA_MACHINE_Q35)
		res.free = res.ports = sc->new_ports;
	for (unsigned int b = 0; b < MAX_BUS && res.machine != VFA_MACHINE_UNKNOWN; b++) {
		if (!sc->seen[b])
			continue;
		res.free += free_of(sc, b, res.machine);
		res.ports += sc->model[b] == BUS_PCIE_PORT && !sc->hotplug_off[b];
	}
	*ret = res;
out:
	free(sc);
	return r;
}

/**
 * vfa_slots_add_ports() - the domain XML xml with n empty pcie-root-port
 * controllers added (libvirt numbers and places them when the config is
 * defined). *ret_xml is malloc'd, the caller frees it. -ENOTSUP unless the
 * domain is q35, -ERANGE if n is 0 or above VFA_PORTS_MAX, -EBADMSG if the
 * XML has no </devices>.
 */
int vfa_slots_add_ports(const char *xml, unsigned int n, char **ret_xml)
{
	static const char port[] = "    <controller type='pci' model='pcie-root-port'/>\n";
	struct vfa_slots s;
	const char *at, *next;
	size_t head, len = strlen(xml);
	char *out, *w;
	int r;

	if (!n || n > VFA_PORTS_MAX)
		return -ERANGE;
	r = vfa_slots_count(xml, len, &s);
	if (r)
		return r;
	if (s.machine != VFA_MACHINE_Q35)
		return -ENOTSUP;
	at = strstr(xml, "</devices>");
	if (!at)
		return -EBADMSG;
	while ((next = strstr(at + 1, "</devices>")))
		at = next;
	/* keep the closing tag's indentation on its own line */
	head = (size_t)(at - xml);
	while (head && (xml[head - 1] == ' ' || xml[head - 1] == '\t'))
		head--;
	out = malloc(len + n * (sizeof(port) - 1) + 1);
	if (!out)
		return -ENOMEM;
	memcpy(out, xml, head);
	w = out + head;
	for (unsigned int i = 0; i < n; i++, w += sizeof(port) - 1)
		memcpy(w, port, sizeof(port) - 1);
	memcpy(w, xml + head, len - head + 1);
	*ret_xml = out;
	return 0;
}
