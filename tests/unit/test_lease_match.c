/* One matcher for the leases a release names (agent/lease_match.c): what
 * vfa_release touches is what the daemon's ownership rule checks, so the
 * rule neither misses a lease the release would take nor refuses a release
 * for a lease it would not touch. */
#include "agent/lease_match.h"
#include "agent/serve_priv.h"
#include "tests/unit/t.h"

#include <errno.h>

#define U1 "1111aaaa-2222-3333-4444-555555555555"
#define U2 "66666666-2222-3333-4444-555555555555"

static const struct vfa_lease ls[] = {
	{ .id = "aaaa", .pci = "0000:00:12.0", .domain = "vm1", .uuid = U1, .holder = "h1",
	  .owner = 1000 },
	{ .id = "bbbb", .pci = "0000:00:12.2", .domain = "vm1", .uuid = U2, .owner = 1001 },
	{ .id = "cccc", .pci = "0000:00:12.4", .domain = "vm2", .owner = VFA_NO_OWNER },
};

/* The ids of the leases of ls that o (with libvirt's uuid) names, as "a,b". */
static const char *matched(const struct vfa_opts *o, const char *uuid)
{
	static char out[64];

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++)
		if (vfa_lease_match(o, uuid, &ls[i]))
			snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%.8s",
				 out[0] ? "," : "", ls[i].id);
	return out;
}

static void test_match(void)
{
	struct vfa_opts pci = { .pci = "0000:00:12.2" }, lease = { .lease = "cccc" },
			holder = { .holder = "h1" }, vm1 = { .domain = "vm1" },
			vm2 = { .domain = "vm2" }, by_uuid = { .domain = U2 },
			renamed = { .domain = "vm1-new" };

	T_EQ_STR("match.pci", matched(&pci, ""), "bbbb");
	T_EQ_STR("match.lease", matched(&lease, ""), "cccc");
	T_EQ_STR("match.holder", matched(&holder, ""), "aaaa");
	/* libvirt unknown: by the journaled name, or a UUID given as the name */
	T_EQ_STR("match.domain_name", matched(&vm1, ""), "aaaa,bbbb");
	T_EQ_STR("match.domain_as_uuid", matched(&by_uuid, ""), "bbbb");
	/* libvirt knows the name: by UUID where the lease has one */
	T_EQ_STR("match.domain_uuid", matched(&vm1, U1), "aaaa");
	T_EQ_STR("match.renamed", matched(&renamed, U2), "bbbb");
	T_EQ_STR("match.old_journal_by_name", matched(&vm2, "77777777-2222-3333-4444-555555555555"), "cccc");
	T_EQ_STR("match.uuid_case", matched(&vm1, "1111AAAA-2222-3333-4444-555555555555"), "aaaa");
}

/* A name reused by another domain: the release takes only the lease of the
 * domain that has the name now, so the rule must not refuse for the other
 * user's lease journaled under the old name (it did, with its own matcher). */
static void test_authz_reused_name(void)
{
	struct vfa_config c = { .path = "/etc/vfagent/vfagent.conf" };
	struct vfa_peer u1000 = { .uid = 1000, .gid = 1000 };
	struct vfa_opts vm1 = { .domain = "vm1" }, by_uuid = { .domain = U2 };
	struct vfa_err e = { "", 0 };
	int r;

	c.allow_uid[c.n_allow_uid++] = 1000;
	r = vfa_authz_release(&c, &u1000, &vm1, U1, ls, 3, &e);
	T("match.authz_reused_name", r == 0, "r=%d %s", r, e.msg);
	r = vfa_authz_release(&c, &u1000, &vm1, U2, ls, 3, &e);
	T("match.authz_other_uuid_denied", r == -EACCES && strstr(e.msg, "bbbb"), "r=%d %s", r, e.msg);
	r = vfa_authz_release(&c, &u1000, &by_uuid, "", ls, 3, &e);
	T("match.authz_uuid_as_name_denied", r == -EACCES && strstr(e.msg, "bbbb"), "r=%d %s", r, e.msg);
}

int main(void)
{
	test_match();
	test_authz_reused_name();
	return t_done();
}
