/* The CLI's text output. A reply (from the daemon or the direct path) is
 * decoded once into typed views, by one field table per view, and the
 * text is printed from those structs: a key is named in one place only. */
#include "agent/agent.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* A JSON boolean as the text shows it: absent ("-": not reported), false,
 * true. */
enum tri { TRI_NONE, TRI_FALSE, TRI_TRUE };
static const char *const tri_str[] = { "-", "false", "true" };

enum ftype { F_STR, F_INT, F_TRI };
struct field {
	const char *key;
	enum ftype type;
	size_t off, len;	/* where in the view; len: F_STR buffer size */
};
#define FS(t, k, m) { k, F_STR, offsetof(t, m), sizeof(((t *)0)->m) }
#define FI(t, k, m) { k, F_INT, offsetof(t, m), 0 }
#define FT(t, k, m) { k, F_TRI, offsetof(t, m), 0 }
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* Fills view from o by the table: strings "" and ints -1 when absent or
 * null, so a reply missing a field prints as it always did. */
static void decode(json_object *o, const struct field *f, size_t n, void *view)
{
	for (size_t i = 0; i < n; i++) {
		char *at = (char *)view + f[i].off;
		json_object *v = NULL;

		json_object_object_get_ex(o, f[i].key, &v);
		switch (f[i].type) {
		case F_STR:
			snprintf(at, f[i].len, "%s", v ? json_object_get_string(v) : "");
			break;
		case F_INT:
			*(int *)at = v ? json_object_get_int(v) : -1;
			break;
		case F_TRI:
			*(enum tri *)at = !v ? TRI_NONE : json_object_get_boolean(v) ? TRI_TRUE : TRI_FALSE;
			break;
		}
	}
}

struct lease_view {
	char id[24], state[16], pool[VFA_NAME_LEN], pf[VFA_NAME_LEN], pci[16];
	char node[32], mac[18], domain[VFA_DOMAIN_LEN], holder[VFA_HOLDER_LEN];
	int vf, group, vlan, qos;
	enum tri attached;
};
static const struct field lease_fields[] = {
	FS(struct lease_view, "id", id), FS(struct lease_view, "state", state),
	FS(struct lease_view, "pool", pool), FS(struct lease_view, "pf", pf),
	FS(struct lease_view, "pci", pci), FS(struct lease_view, "vfio_node", node),
	FS(struct lease_view, "mac", mac), FS(struct lease_view, "domain", domain),
	FS(struct lease_view, "holder", holder), FI(struct lease_view, "vf", vf),
	FI(struct lease_view, "iommu_group", group), FI(struct lease_view, "vlan", vlan),
	FI(struct lease_view, "qos", qos), FT(struct lease_view, "attached", attached),
};

struct pool_view {
	char pool[VFA_NAME_LEN];
	int vfs, present, free, leased;
};
static const struct field pool_fields[] = {
	FS(struct pool_view, "pool", pool), FI(struct pool_view, "vfs", vfs),
	FI(struct pool_view, "present", present), FI(struct pool_view, "free", free),
	FI(struct pool_view, "leased", leased),
};

struct pf_view {
	char pf[VFA_NAME_LEN], pci[16], pool[VFA_NAME_LEN], vf_device[16];
	char error[VFA_ERR_LEN];	/* its SR-IOV could not be read: no counts */
	int num_vfs, total_vfs, total_vfs_config;
	enum tri up, truncated;
};
static const struct field pf_fields[] = {
	FS(struct pf_view, "pf", pf), FS(struct pf_view, "pci", pci),
	FS(struct pf_view, "pool", pool), FS(struct pf_view, "vf_device", vf_device),
	FS(struct pf_view, "error", error),
	FI(struct pf_view, "num_vfs", num_vfs), FI(struct pf_view, "total_vfs", total_vfs),
	FI(struct pf_view, "total_vfs_config", total_vfs_config),
	FT(struct pf_view, "up", up), FT(struct pf_view, "truncated", truncated),
};

struct vf_view {
	char pci[16], driver[32], netdev[32], owner[48], mac[18];
	int vf, group, vlan, qos;
	enum tri spoofchk, trust;
};
static const struct field vf_fields[] = {
	FS(struct vf_view, "pci", pci), FS(struct vf_view, "driver", driver),
	FS(struct vf_view, "netdev", netdev), FS(struct vf_view, "node_owner", owner),
	FS(struct vf_view, "mac", mac), FI(struct vf_view, "vf", vf),
	FI(struct vf_view, "iommu_group", group), FI(struct vf_view, "vlan", vlan),
	FI(struct vf_view, "qos", qos), FT(struct vf_view, "spoofchk", spoofchk),
	FT(struct vf_view, "trust", trust),
};

static const char *or_dash(const char *s)
{
	return *s ? s : "-";
}

/* An int field as text: "-" for -1, which decode() gives a key the reply
 * left out or set to null (a VF without IOMMU group, a VLAN the kernel
 * did not report) and the lease's iommu_group uses for "none known"; no
 * field shown here has a real negative value. */
static const char *num(char buf[12], int v)
{
	if (v < 0)
		return "-";
	snprintf(buf, 12, "%d", v);
	return buf;
}

/* The i-th element of array key of o, or NULL past its end or when o has
 * no such array (json-c asserts on the length of a non-array: list's PF
 * with an "error" has no "vfs"). */
static json_object *item(json_object *o, const char *key, size_t i)
{
	json_object *a = NULL;

	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
		return NULL;
	return i < json_object_array_length(a) ? json_object_array_get_idx(a, i) : NULL;
}

static void print_lease(FILE *f, json_object *o, const char *verb)
{
	struct lease_view l;
	char n1[12], n2[12];

	decode(o, lease_fields, NFIELDS(lease_fields), &l);
	fprintf(f, "%s lease %s: pool %s, PF %s vf %s (%s), ", verb, l.id, or_dash(l.pool),
		or_dash(l.pf), num(n1, l.vf), or_dash(l.pci));
	/* -1, or no key: no group known, so no node to name */
	if (l.group >= 0)
		fprintf(f, "IOMMU group %d (%s)", l.group, l.node);
	else
		fprintf(f, "no IOMMU group");
	fprintf(f, ", mac %s, vlan %s qos %s", or_dash(l.mac), num(n1, l.vlan), num(n2, l.qos));
	if (*l.domain)
		fprintf(f, ", domain %s%s", l.domain, l.attached == TRI_TRUE ? " (attached)" : "");
	if (*l.holder)
		fprintf(f, ", holder %s", l.holder);
	fputc('\n', f);
}

static void print_release(FILE *f, json_object *res)
{
	json_object *x;

	for (size_t i = 0; (x = item(res, "released", i)); i++)
		print_lease(f, x, "released");
	for (size_t i = 0; (x = item(res, "pending", i)); i++)
		print_lease(f, x, "detach pending (VF stays leased until the guest releases it or the domain stops):");
}

static void print_setup(FILE *f, json_object *res)
{
	json_object *x;
	size_t i;

	for (i = 0; (x = item(res, "changes", i)); i++)
		fprintf(f, "changed: %s\n", json_object_get_string(x));
	if (!i)
		fprintf(f, "nothing to change: the host already matches the config\n");
}

static void print_status(FILE *f, json_object *res)
{
	json_object *po, *x;

	for (size_t i = 0; (po = item(res, "pools", i)); i++) {
		struct pool_view p;

		decode(po, pool_fields, NFIELDS(pool_fields), &p);
		fprintf(f, "pool %s: %d VFs, %d present, %d free, %d leased\n", p.pool, p.vfs,
			p.present, p.free, p.leased);
		for (size_t k = 0; (x = item(po, "leases", k)); k++) {
			struct lease_view l;
			char n[12];

			decode(x, lease_fields, NFIELDS(lease_fields), &l);
			fprintf(f, "  %s  %s vf %s  %-9s  %s  %s%s%s\n", l.id, l.pf, num(n, l.vf), l.state,
				l.pci, or_dash(l.domain), *l.holder ? "  holder " : "", l.holder);
		}
	}
}

static void print_vf(FILE *f, json_object *o)
{
	json_object *lo = NULL;
	struct lease_view l = { .id = "-" };
	struct vf_view v;
	char vq[32], n1[12], n2[12];

	decode(o, vf_fields, NFIELDS(vf_fields), &v);
	json_object_object_get_ex(o, "lease", &lo);
	if (lo)
		decode(lo, lease_fields, NFIELDS(lease_fields), &l);
	/* No vlan key: the kernel reported none ("-"); 0:0 only when it said 0. */
	if (v.vlan < 0)
		snprintf(vq, sizeof(vq), "-");
	else
		snprintf(vq, sizeof(vq), "%d:%s", v.vlan, num(n2, v.qos));
	fprintf(f, "  %-3d %-13s %-9s %-8s %-5s %-30s %-17s %-8s %-5s %-5s %s%s%s\n", v.vf,
		or_dash(v.pci), or_dash(v.driver), or_dash(v.netdev), num(n1, v.group),
		or_dash(v.owner), or_dash(v.mac), vq, tri_str[v.spoofchk], tri_str[v.trust], l.id,
		*l.domain ? "@" : "", l.domain);
}

struct journal_view {
	int damaged;
	char fix[512];
};
static const struct field journal_fields[] = {
	FI(struct journal_view, "damaged_records", damaged), FS(struct journal_view, "fix", fix),
};

static void print_list(FILE *f, json_object *res)
{
	struct journal_view j;
	json_object *po, *x, *jo = NULL;

	for (size_t i = 0; (po = item(res, "pfs", i)); i++) {
		struct pf_view p;

		decode(po, pf_fields, NFIELDS(pf_fields), &p);
		if (*p.error) {
			/* no counts, no VFs: list could not read its SR-IOV */
			fprintf(f, "%s %s pool %s %s: %s\n", p.pf, p.pci, or_dash(p.pool),
				p.up == TRI_TRUE ? "up" : "DOWN", p.error);
			continue;
		}
		fprintf(f, "%s %s pool %s %s: %d of %d VFs (device %s)", p.pf, p.pci, or_dash(p.pool),
			p.up == TRI_TRUE ? "up" : "DOWN", p.num_vfs, p.total_vfs, p.vf_device);
		if (p.total_vfs_config >= 0)
			fprintf(f, " (kernel limit; config space TotalVFs %d)", p.total_vfs_config);
		fprintf(f, "%s\n", p.truncated == TRI_TRUE ? " (kernel truncated the VF list)" : "");
		fprintf(f, "  %-3s %-13s %-9s %-8s %-5s %-30s %-17s %-8s %-5s %-5s %s\n", "vf", "pci",
			"driver", "netdev", "group", "node owner", "mac", "vlan:qos", "spoof", "trust",
			"lease");
		for (size_t k = 0; (x = item(po, "vfs", k)); k++)
			print_vf(f, x);
	}
	json_object_object_get_ex(res, "journal", &jo);
	decode(jo, journal_fields, NFIELDS(journal_fields), &j);
	if (j.damaged > 0)
		fprintf(f, "journal: %d damaged records skipped: %s\n", j.damaged, j.fix);
}

/* Prints the result res of command cmd as text on f (the CLI without
 * --json); commands without a text form print nothing. */
void vfa_render_text(FILE *f, const char *cmd, json_object *res)
{
	static const struct {
		const char *cmd;
		void (*print)(FILE *f, json_object *res);
	} by_cmd[] = {
		{ "release", print_release }, { "setup", print_setup },
		{ "status", print_status }, { "list", print_list },
	};

	if (!strcmp(cmd, "alloc")) {
		print_lease(f, res, "new");
		return;
	}
	for (size_t i = 0; i < NFIELDS(by_cmd); i++)
		if (!strcmp(cmd, by_cmd[i].cmd))
			by_cmd[i].print(f, res);
}
