/* Who holds a VF: the domain XML hostdev parser (agent/domxml.c), the
 * lease's UUID and domain name in the journal (agent/lease.c), the
 * once-per-boot rebuild marker (agent/persist.c). */
#include "agent/agent.h"
#include "tests/unit/t.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* As libvirt 11.3 writes them (virsh dumpxml), trimmed. */
static const char xml_live[] =
	"<domain type='qemu' id='1'>\n"
	"  <name>l2</name>\n"
	"  <uuid>8a1f5c8e-4b9e-4d0c-9a53-2f6f0b1c2d3e</uuid>\n"
	"  <devices>\n"
	"    <controller type='pci' index='0' model='pcie-root'/>\n"
	"    <hostdev mode='subsystem' type='pci' managed='no'>\n"
	"      <driver name='vfio'/>\n"
	"      <source>\n"
	"        <address domain='0x0000' bus='0x00' slot='0x12' function='0x2'/>\n"
	"      </source>\n"
	"      <alias name='hostdev0'/>\n"
	"      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>\n"
	"    </hostdev>\n"
	"    <hostdev mode='subsystem' type='usb' managed='yes'>\n"
	"      <source><vendor id='0x1234'/><product id='0xbeef'/></source>\n"
	"    </hostdev>\n"
	"    <interface type='hostdev' managed='yes'>\n"
	"      <mac address='52:54:00:aa:bb:cc'/>\n"
	"      <source>\n"
	"        <address type='pci' domain='0x0000' bus='0x03' slot='0x10' function='0x7'/>\n"
	"      </source>\n"
	"      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>\n"
	"    </interface>\n"
	"    <interface type='network'>\n"
	"      <mac address='52:54:00:00:00:01'/>\n"
	"      <source network='default'/>\n"
	"    </interface>\n"
	"  </devices>\n"
	"</domain>\n";

static void test_domxml(void)
{
	struct vfa_hostdev d[4];
	size_t n = 99;
	int r;

	r = vfa_domxml_hostdevs(xml_live, d, 4, &n);
	T_EQ_INT("domxml.ok", r, 0);
	T_EQ_INT("domxml.count", n, 2);
	if (n == 2) {
		/* The host source, never the guest-side <address>. */
		T_EQ_STR("domxml.hostdev_source", d[0].pci, "0000:00:12.2");
		T_EQ_STR("domxml.hostdev_no_mac", d[0].mac, "");
		T_EQ_STR("domxml.interface_source", d[1].pci, "0000:03:10.7");
		T_EQ_STR("domxml.interface_mac", d[1].mac, "52:54:00:aa:bb:cc");
	}
	T_EQ_INT("domxml.too_many", vfa_domxml_hostdevs(xml_live, d, 1, &n), -ENOSPC);
	n = 99;
	T_EQ_INT("domxml.none", vfa_domxml_hostdevs("<domain><devices/></domain>", d, 4, &n), 0);
	T_EQ_INT("domxml.none_count", n, 0);
	n = 99;
	vfa_domxml_hostdevs("<domain><devices><hostdev mode='subsystem' type=\"pci\">"
			    "<source><address domain=\"0x0001\" bus=\"0x81\" slot=\"0x1f\" function=\"0x7\"/>"
			    "</source></hostdev></devices></domain>", d, 4, &n);
	T("domxml.double_quotes", n == 1 && !strcmp(d[0].pci, "0001:81:1f.7"),
	  "n=%zu pci=%s", n, n ? d[0].pci : "-");
	/* Out of range or cut: skipped, never guessed. */
	n = 99;
	vfa_domxml_hostdevs("<hostdev type='pci'><source><address domain='0x0' bus='0x100' slot='0x1' function='0x0'/></source></hostdev>"
			    "<hostdev type='pci'><source><address domain='0x0' bus='0x1' slot='0x20' function='0x0'/></source></hostdev>"
			    "<hostdev type='pci'><source><address domain='0x0' bus='0x1' slot='0x1' function='0x0'/>",
			    d, 4, &n);
	T_EQ_INT("domxml.bad_skipped", n, 0);
	n = 99;
	vfa_domxml_hostdevs("<hostdevx type='pci'><source><address domain='0' bus='1' slot='1' function='0'/></source></hostdevx>"
			    "<hostdev type='pci'><source/></hostdev>", d, 4, &n);
	T_EQ_INT("domxml.other_tags_skipped", n, 0);
}

static void test_lease_identity(void)
{
	struct vfa_lease l = {
		.id = "0123456789abcdef", .state = VFA_LS_READY, .pool = "net1", .pf = "eth0",
		.pf_pci = "0000:00:02.0", .vf = 1, .pci = "0000:00:12.2", .group = 7,
		.mac = "02:00:00:00:00:01", .uuid = "8a1f5c8e-4b9e-4d0c-9a53-2f6f0b1c2d3e",
		.attached = true, .persistent = true,
	}, got;
	json_object *o;
	const char *txt;
	char buf[4096];

	/* A 200-byte name round-trips whole (it was cut to 127 bytes). */
	memset(l.domain, 'd', 200);
	l.domain[200] = '\0';
	o = vfa_lease_json(&l);
	txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	T_EQ_INT("lease.long_name_parses", vfa_lease_parse(txt, strlen(txt), &got), 0);
	T_EQ_INT("lease.long_name_whole", strlen(got.domain), 200);
	T_EQ_STR("lease.uuid_kept", got.uuid, l.uuid);
	json_object_put(o);
	/* Longer than the journal holds: refused, not cut. */
	snprintf(buf, sizeof(buf), "{\"id\":\"0123456789abcdef\",\"state\":\"ready\",\"pool\":\"p\",\"pf\":\"e\","
		 "\"pf_pci\":\"0000:00:02.0\",\"vf\":0,\"pci\":\"0000:00:12.0\",\"iommu_group\":1,"
		 "\"mac\":\"02:00:00:00:00:01\",\"vlan\":0,\"qos\":0,\"domain\":\"%0300d\",\"attached\":true,"
		 "\"pid\":1,\"created\":1}", 0);
	T_EQ_INT("lease.too_long_name_refused", vfa_lease_parse(buf, strlen(buf), &got), -EBADMSG);
	/* A UUID that is not one is refused. */
	l.domain[5] = '\0';
	memcpy(l.uuid, "8a1f5c8e-4b9e-4d0c-9a53-2f6f0b1c2d3X", VFA_UUID_LEN);
	o = vfa_lease_json(&l);
	txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	T_EQ_INT("lease.bad_uuid_refused", vfa_lease_parse(txt, strlen(txt), &got), -EBADMSG);
	json_object_put(o);
	/* Journals from before UUIDs still parse. */
	l.uuid[0] = '\0';
	o = vfa_lease_json(&l);
	txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	T("lease.no_uuid_ok", vfa_lease_parse(txt, strlen(txt), &got) == 0 && !got.uuid[0],
	  "old journal refused");
	json_object_put(o);
}

static void test_rebuild_marker(void)
{
	char dir[] = "/tmp/vfa-identity-XXXXXX", path[64];

	if (!mkdtemp(dir)) {
		t_skip("rebuild.marker", "mkdtemp failed");
		return;
	}
	T("rebuild.needed_fresh", vfa_rebuild_needed(dir), "a fresh state dir counts as rebuilt");
	T_EQ_INT("rebuild.done", vfa_rebuild_done(dir), 0);
	T("rebuild.not_needed_after", !vfa_rebuild_needed(dir), "marker not seen");
	snprintf(path, sizeof(path), "%s/rebuilt", dir);
	FILE *f = fopen(path, "w");

	if (f) {
		fputs("00000000-0000-0000-0000-000000000000", f);	/* another boot */
		fclose(f);
	}
	T("rebuild.needed_other_boot", vfa_rebuild_needed(dir), "marker of another boot accepted");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_domxml();
	test_lease_identity();
	test_rebuild_marker();
	return t_done();
}
