/* --domain takes a libvirt domain's name or its UUID, as virsh does, and a
 * release the daemon pinned to a UUID acts on that domain only. Against
 * libvirt's own test driver (test:///default: one running domain "test",
 * private to each connection), on the fake lab host of test_policy.c (its
 * harness included, its own tests not run here). SKIP without libvirt. */
#define main policy_main
int policy_main(void);
#include "tests/unit/test_policy.c"
#undef main

#define TEST_URI "test:///default"
#define TEST_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"	/* the driver's "test" */

static void test_lookup(struct vfa_virt *v)
{
	char uuid[VFA_UUID_LEN] = "", xml_uuid[64];
	struct vfa_err e = { "", 0 };
	char *xml = NULL;
	bool running = false;
	int r;

	r = vfa_virt_domain(v, "test", &running, uuid, &e);
	T("domain.by_name", r == 0 && running && !strcmp(uuid, TEST_UUID), "r=%d %s uuid %s", r,
	  e.msg, uuid);
	uuid[0] = '\0';
	r = vfa_virt_domain(v, TEST_UUID, &running, uuid, &e);
	T("domain.by_uuid", r == 0 && running && !strcmp(uuid, TEST_UUID), "r=%d %s", r, e.msg);
	uuid[0] = '\0';
	r = vfa_virt_domain(v, "6695EB01F6A4830479AA97F2502E193F", &running, uuid, &e);
	T("domain.by_uuid_undashed", r == 0 && !strcmp(uuid, TEST_UUID), "r=%d %s", r, e.msg);
	r = vfa_virt_domain(v, "6695eb01-f6a4-8304-79aa-000000000000", &running, uuid, &e);
	T("domain.unknown_uuid", r == -ENOENT && strstr(e.msg, "unknown domain"), "r=%d %s", r, e.msg);
	r = vfa_virt_domain(v, "nosuch", &running, uuid, &e);
	T("domain.unknown_name", r == -ENOENT, "r=%d %s", r, e.msg);
	r = vfa_virt_xml(v, TEST_UUID, false, &xml, &e);
	snprintf(xml_uuid, sizeof(xml_uuid), "<uuid>%s</uuid>", TEST_UUID);
	T("domain.xml_by_uuid", r == 0 && xml && strstr(xml, xml_uuid), "r=%d %s", r, e.msg);
	free(xml);
}

/* alloc --domain UUID: the lease keeps the UUID and shows the name. */
static void test_alloc_by_uuid(void)
{
	struct vfa_opts o = { .pool = "net1", .domain = TEST_UUID, .live = true };
	struct vfa_err e = { "", 0 };
	json_object *res = NULL;
	struct vfa_lease l;
	int r;

	if (start("[libvirt]\nuri = " TEST_URI "\n" POOL7, true, false)) {
		T("domain.alloc.start", 0, "cannot set up the fake host");
		return;
	}
	r = vfa_alloc(A, &o, &res, &e);
	r = r ? r : vfa_lease_load(A->st, jstr(res, "pci"), &l);
	T("domain.alloc_by_uuid_names_it", r == 0 && !strcmp(l.domain, "test") &&
	  !strcmp(l.uuid, TEST_UUID), "r=%d %s lease %s", r, e.msg,
	  res ? json_object_to_json_string(res) : "none");
	json_object_put(res);
	stop();
}

/* Two leases: A's domain was renamed away, B's domain took A's old name.
 * A release of "vm-a" the daemon pinned to A's UUID frees A only. */
static void test_pinned_release(void)
{
	struct vfa_opts o = { .domain = "vm-a", .domain_uuid = "0b6e1c0a-5a34-4f5e-9f3b-00000000000a" };
	struct vfa_err e = { "", 0 };
	struct vfa_lease a, b;
	json_object *res = NULL;
	int r;

	if (start(POOL7, true, false)) {
		T("domain.pinned.start", 0, "cannot set up the fake host");
		return;
	}
	r = alloc(NULL, NULL, vf_pci[0], &res, &e);
	json_object_put(res);
	r |= alloc(NULL, NULL, vf_pci[1], &res, &e);
	json_object_put(res);
	r |= vfa_lease_load(A->st, vf_pci[0], &a) | vfa_lease_load(A->st, vf_pci[1], &b);
	snprintf(a.domain, sizeof(a.domain), "vm-x");	/* renamed since */
	snprintf(a.uuid, sizeof(a.uuid), "%s", o.domain_uuid);
	snprintf(b.domain, sizeof(b.domain), "vm-a");	/* took the name */
	snprintf(b.uuid, sizeof(b.uuid), "0b6e1c0a-5a34-4f5e-9f3b-00000000000b");
	r |= vfa_lease_save(A->st, &a, &e) | vfa_lease_save(A->st, &b, &e);
	res = NULL;
	if (!r)
		r = vfa_release(A, &o, &res, &e);
	T("domain.pinned_release_frees_the_authorized", r == 0 && released(res) == 1 &&
	  vfa_lease_load(A->st, vf_pci[0], &a) == -ENOENT &&
	  vfa_lease_load(A->st, vf_pci[1], &b) == 0, "r=%d %s released %zu", r, e.msg,
	  res ? released(res) : 0);
	json_object_put(res);
	stop();
}

int main(void)
{
	struct vfa_err e = { "", 0 };
	struct vfa_virt *v = NULL;

	if (access(FIX, R_OK)) {
		t_skip("domain", "run from the source tree: " FIX " not found");
		return t_done();
	}
	test_pinned_release();
	if (vfa_virt_open(TEST_URI, &v, &e)) {
		t_skip("domain.libvirt", e.msg);
		return t_done();
	}
	test_lookup(v);
	vfa_virt_close(v);
	test_alloc_by_uuid();
	return t_done();
}
