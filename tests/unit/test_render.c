/* The CLI's text output, rendered from typed views of a reply (render.c):
 * byte for byte what the CLI printed when it read the JSON keys at each
 * printf (the fixtures were checked against that code before it went),
 * except that a number or string the reply lacks now prints "-", never
 * -1 or nothing (test_render_unknown.c). */
#include <stdio.h>
#include <stdlib.h>

#include "agent/agent.h"
#include "tests/unit/t.h"

static const char *const fx[][2] = {
 {"alloc", "{\"id\":\"a1b2c3d4e5f60718\",\"state\":\"ready\",\"pool\":\"net1\",\"pf\":\"eth0\",\"pf_pci\":\"0000:00:02.0\",\"vf\":3,\"pci\":\"0000:00:12.6\",\"iommu_group\":9,\"vfio_node\":\"/dev/vfio/9\",\"mac\":\"02:11:22:33:44:55\",\"vlan\":100,\"qos\":2,\"domain\":\"vm1\",\"attached\":true,\"holder\":\"k8s:x\",\"pid\":1,\"created\":2}"},
 {"alloc", "{\"id\":\"a1\",\"pool\":\"net1\",\"pf\":\"eth0\",\"vf\":0,\"pci\":\"0000:00:12.0\",\"iommu_group\":6,\"vfio_node\":\"/dev/vfio/6\",\"mac\":\"02:00:00:00:00:01\",\"vlan\":0,\"qos\":0,\"domain\":null,\"attached\":false,\"holder\":null}"},
 {"alloc", "{\"id\":\"a1\",\"domain\":\"vm2\",\"attached\":false}"},
 {"release", "{\"released\":[{\"id\":\"r1\",\"pool\":\"p\",\"pf\":\"eth0\",\"vf\":1,\"pci\":\"0000:00:12.2\",\"iommu_group\":7,\"vfio_node\":\"/dev/vfio/7\",\"mac\":\"02:00:00:00:00:02\",\"vlan\":5,\"qos\":0}],\"pending\":[{\"id\":\"r2\",\"domain\":\"l2\",\"attached\":true}]}"},
 {"release", "{\"released\":[],\"pending\":[]}"},
 {"setup", "{\"changes\":[\"eth0: up\",\"eth0: 7 VFs\"]}"},
 {"setup", "{\"changes\":[]}"},
 {"status", "{\"pools\":[{\"pool\":\"net1\",\"pfs\":[\"eth0\"],\"vfs\":7,\"present\":7,\"free\":5,\"leased\":2,\"leases\":[{\"id\":\"l1\",\"state\":\"ready\",\"pf\":\"eth0\",\"vf\":0,\"pci\":\"0000:00:12.0\",\"domain\":null,\"holder\":null},{\"id\":\"l2\",\"state\":\"detaching\",\"pf\":\"eth0\",\"vf\":1,\"pci\":\"0000:00:12.2\",\"domain\":\"vm\",\"holder\":\"k8s:a\"}]},{\"pool\":\"empty\",\"vfs\":0,\"present\":0,\"free\":0,\"leased\":0,\"leases\":[]}]}"},
 {"list", "{\"pfs\":[{\"pf\":\"eth0\",\"pci\":\"0000:00:02.0\",\"pool\":\"net1\",\"up\":true,\"total_vfs\":7,\"total_vfs_config\":8,\"num_vfs\":2,\"vf_device\":\"10ca\",\"truncated\":false,\"vfs\":[{\"vf\":0,\"pci\":\"0000:00:12.0\",\"driver\":\"vfio-pci\",\"netdev\":null,\"iommu_group\":6,\"vfio_node\":\"/dev/vfio/6\",\"node_owner\":\"libvirt-qemu:kvm 0660\",\"mac\":\"02:00:00:00:00:01\",\"vlan\":100,\"qos\":0,\"spoofchk\":true,\"trust\":false,\"lease\":{\"id\":\"l1\",\"domain\":\"vm\"}},{\"vf\":1,\"pci\":\"0000:00:12.2\",\"driver\":null,\"netdev\":\"eth1\",\"mac\":\"00:00:00:00:00:00\",\"lease\":null}]},{\"pf\":\"eth9\",\"pci\":\"0000:01:00.0\",\"pool\":null,\"up\":false,\"total_vfs\":7,\"num_vfs\":0,\"vf_device\":\"10ca\",\"truncated\":true,\"vfs\":[]}]}"},
 {"doctor", "{}"},
 {"release", "{\"released\":[{\"id\":\"0bad000000000120\",\"state\":\"fenced\",\"pool\":\"-\",\"pf\":\"-\",\"vf\":0,\"pci\":\"0000:00:12.0\",\"iommu_group\":-1,\"vfio_node\":null,\"mac\":\"00:00:00:00:00:00\",\"vlan\":0,\"qos\":0}],\"pending\":[]}"},
};

static const char *const want[] = {
	"new lease a1b2c3d4e5f60718: pool net1, PF eth0 vf 3 (0000:00:12.6), IOMMU group 9 (/dev/vfio/9), mac 02:11:22:33:44:55, vlan 100 qos 2, domain vm1 (attached), holder k8s:x\n"
	  "",
	"new lease a1: pool net1, PF eth0 vf 0 (0000:00:12.0), IOMMU group 6 (/dev/vfio/6), mac 02:00:00:00:00:01, vlan 0 qos 0\n"
	  "",
	"new lease a1: pool -, PF - vf - (-), no IOMMU group, mac -, vlan - qos -, domain vm2\n"
	  "",
	"released lease r1: pool p, PF eth0 vf 1 (0000:00:12.2), IOMMU group 7 (/dev/vfio/7), mac 02:00:00:00:00:02, vlan 5 qos 0\n"
	  "detach pending (VF stays leased until the guest releases it or the domain stops): lease r2: pool -, PF - vf - (-), no IOMMU group, mac -, vlan - qos -, domain l2 (attached)\n"
	  "",
	"",
	"changed: eth0: up\n"
	  "changed: eth0: 7 VFs\n"
	  "",
	"nothing to change: the host already matches the config\n"
	  "",
	"pool net1: 7 VFs, 7 present, 5 free, 2 leased\n"
	  "  l1  eth0 vf 0  ready      0000:00:12.0  -\n"
	  "  l2  eth0 vf 1  detaching  0000:00:12.2  vm  holder k8s:a\n"
	  "pool empty: 0 VFs, 0 present, 0 free, 0 leased\n"
	  "",
	"eth0 0000:00:02.0 pool net1 up: 2 of 7 VFs (device 10ca) (kernel limit; config space TotalVFs 8)\n"
	  "  vf  pci           driver    netdev   group node owner                     mac               vlan:qos spoof trust lease\n"
	  "  0   0000:00:12.0  vfio-pci  -        6     libvirt-qemu:kvm 0660          02:00:00:00:00:01 100:0    true  false l1@vm\n"
	  "  1   0000:00:12.2  -         eth1     -     -                              00:00:00:00:00:00 -        -     -     -\n"
	  "eth9 0000:01:00.0 pool - DOWN: 0 of 7 VFs (device 10ca) (kernel truncated the VF list)\n"
	  "  vf  pci           driver    netdev   group node owner                     mac               vlan:qos spoof trust lease\n"
	  "",
	"",
	"released lease 0bad000000000120: pool -, PF - vf 0 (0000:00:12.0), no IOMMU group, mac 00:00:00:00:00:00, vlan 0 qos 0\n"
	  "",
};

static const char *const names[] = {
	"render.alloc_full", "render.alloc_nulls", "render.alloc_missing", "render.release", "render.release_none", "render.setup", "render.setup_nothing", "render.status", "render.list", "render.unknown_cmd",
	"render.release_no_group",
};

int main(void)
{
	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		json_object *o = json_tokener_parse(fx[i][1]);
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		if (!o || !f) {
			T(names[i], 0, "fixture %zu: %s", i, o ? "open_memstream failed" : "bad JSON");
			continue;
		}
		vfa_render_text(f, fx[i][0], o);
		fclose(f);
		T_EQ_STR(names[i], buf, want[i]);
		free(buf);
		json_object_put(o);
	}
	return t_done();
}
