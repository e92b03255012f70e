/* The CLI's text output never shows -1, the renderer's "not in the reply"
 * (render.c, decode()), as if it were a value: a VF with no IOMMU group,
 * a VLAN the kernel did not report, a lease without a group or a field,
 * a PF whose SR-IOV list could not read print "-" or say what happened.
 * A VLAN the kernel reported as 0 stays "0:0", a group 0 stays 0. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "tests/unit/t.h"

#define HDR "  vf  pci           driver    netdev   group node owner                     mac               vlan:qos spoof trust lease\n"
#define PF0 "{\"pfs\":[{\"pf\":\"eth0\",\"pci\":\"0000:00:02.0\",\"pool\":\"net1\",\"up\":true,\"total_vfs\":7,\"num_vfs\":1,\"vf_device\":\"10ca\",\"truncated\":false,\"vfs\":["
#define PF0_LINE "eth0 0000:00:02.0 pool net1 up: 1 of 7 VFs (device 10ca)\n"

static const struct {
	const char *name, *cmd, *reply, *want;
} cases[] = {
	/* vf_json leaves iommu_group out without a group, vlan and qos out
	 * when the kernel sent no IFLA_VF_VLAN, spoofchk/trust when it sent
	 * neither */
	{ "render_unknown.vf_no_group_no_vlan", "list",
	  PF0 "{\"vf\":0,\"pci\":\"0000:00:12.0\",\"driver\":\"igbvf\",\"netdev\":\"eth1\",\"mac\":\"02:00:00:00:00:01\",\"lease\":null}]}]}",
	  PF0_LINE HDR
	  "  0   0000:00:12.0  igbvf     eth1     -     -                              02:00:00:00:00:01 -        -     -     -\n" },
	{ "render_unknown.vf_vlan0_group0_reported", "list",
	  PF0 "{\"vf\":0,\"pci\":\"0000:00:12.0\",\"driver\":\"vfio-pci\",\"netdev\":null,\"iommu_group\":0,\"vfio_node\":\"/dev/vfio/0\",\"node_owner\":\"root:root 0600\",\"mac\":\"00:00:00:00:00:00\",\"vlan\":0,\"qos\":0,\"spoofchk\":false,\"trust\":false,\"lease\":null}]}]}",
	  PF0_LINE HDR
	  "  0   0000:00:12.0  vfio-pci  -        0     root:root 0600                 00:00:00:00:00:00 0:0      false false -\n" },
	/* a VF whose address could not be read: only its index */
	{ "render_unknown.vf_index_only", "list", PF0 "{\"vf\":0}]}]}",
	  PF0_LINE HDR
	  "  0   -             -         -        -     -                              -                 -        -     -     -\n" },
	/* list_pf: "error" and no counts or "vfs" when the PF's SR-IOV cannot
	 * be read (the text printed -1 counts, then json-c aborted on "vfs") */
	{ "render_unknown.pf_error", "list",
	  "{\"pfs\":[{\"pf\":\"eth0\",\"pci\":\"0000:00:02.0\",\"pool\":\"net1\",\"up\":true,\"error\":\"PF eth0: no SR-IOV capability\"}]}",
	  "eth0 0000:00:02.0 pool net1 up: PF eth0: no SR-IOV capability\n" },
	/* a release result with one of its arrays left out: json-c asserted
	 * on the missing array's length (abort) */
	{ "render_unknown.release_no_pending", "release",
	  "{\"released\":[{\"id\":\"r1\",\"pool\":\"p\",\"pf\":\"eth0\",\"vf\":1,\"pci\":\"0000:00:12.2\",\"iommu_group\":7,\"vfio_node\":\"/dev/vfio/7\",\"mac\":\"02:00:00:00:00:02\",\"vlan\":5,\"qos\":0}]}",
	  "released lease r1: pool p, PF eth0 vf 1 (0000:00:12.2), IOMMU group 7 (/dev/vfio/7), mac 02:00:00:00:00:02, vlan 5 qos 0\n" },
	{ "render_unknown.lease_no_group", "alloc",
	  "{\"id\":\"a1\",\"pool\":\"net1\",\"pf\":\"eth0\",\"vf\":0,\"pci\":\"0000:00:12.0\",\"iommu_group\":-1,\"vfio_node\":null,\"mac\":\"02:00:00:00:00:01\",\"vlan\":0,\"qos\":0}",
	  "new lease a1: pool net1, PF eth0 vf 0 (0000:00:12.0), no IOMMU group, mac 02:00:00:00:00:01, vlan 0 qos 0\n" },
	{ "render_unknown.lease_fields_missing", "alloc", "{\"id\":\"a1\"}",
	  "new lease a1: pool -, PF - vf - (-), no IOMMU group, mac -, vlan - qos -\n" },
	{ "render_unknown.status_lease_no_vf", "status",
	  "{\"pools\":[{\"pool\":\"p\",\"vfs\":1,\"present\":1,\"free\":0,\"leased\":1,\"leases\":[{\"id\":\"l1\",\"state\":\"fenced\",\"pf\":\"-\",\"pci\":\"0000:00:12.0\"}]}]}",
	  "pool p: 1 VFs, 1 present, 0 free, 1 leased\n"
	  "  l1  - vf -  fenced     0000:00:12.0  -\n" },
};

/* Case i in a child: an abort (json-c asserts) fails that case only. */
static void run_case(size_t i)
{
	json_object *o = json_tokener_parse(cases[i].reply);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!o || !f) {
		T(cases[i].name, 0, "%s", o ? "open_memstream failed" : "bad JSON");
		exit(t_done());
	}
	vfa_render_text(f, cases[i].cmd, o);
	fclose(f);
	T_EQ_STR(cases[i].name, buf, cases[i].want);
	free(buf);
	json_object_put(o);
	exit(t_done());
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = 0;
		pid_t pid;

		fflush(stdout);
		pid = fork();
		if (pid == 0)
			run_case(i);
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			T(cases[i].name, 0, "cannot run it: %s", strerror(errno));
		else if (WIFSIGNALED(st))
			T(cases[i].name, 0, "the renderer crashed (signal %d)", WTERMSIG(st));
		else if (WEXITSTATUS(st))
			t_failed++;	/* the child said FAIL */
	}
	return t_done();
}
