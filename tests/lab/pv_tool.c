/* pv_tool: a thin CLI over pci/ and vfio/ for the lab test
 * (tests/lab/t_20_pci_vfio.sh). Prints results on stdout, "error N: msg"
 * on failure (N = -errno) with exit status 1; "ms=" is the call's time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pci/vfpci.h"
#include "vfio/vfio.h"

static struct vfio_ctx *vc;
static struct vfpci *pc;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Wall-clock ms, comparable across processes and with date +%s%3N. */
static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int verr(int r)
{
	printf("error %d: %s (%s)\n", r, strerror(-r), vfio_errmsg(vc));
	return 1;
}

static int perr(int r)
{
	printf("error %d: %s (%s)\n", r, strerror(-r), vfpci_errmsg(pc));
	return 1;
}

static int addr(const char *s, struct vfpci_addr *a)
{
	if (vfpci_addr_parse(s, a) < 0) {
		printf("error %d: bad PCI address %s\n", -EINVAL, s);
		return -1;
	}
	return 0;
}

static int usage(void)
{
	fputs("usage: pv_tool CMD ARGS\n"
	      "  check | ident PCI | sriov PF | vfaddrs PF | vfpf VF\n"
	      "  numvfs PF | setnumvfs PF N AUTOPROBE | virtfn PF I\n"
	      "  driver PCI | bind PCI DRIVER | group PCI | viable GROUP\n"
	      "  wait GROUP TIMEOUT_MS | chown GROUP OWNER MODE | stat GROUP\n"
	      "  reset PCI\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	char buf[256];
	double t0;
	int r;

	if (argc < 2)
		return usage();
	if (vfio_ctx_new(getenv("PV_SYS"), getenv("PV_DEV"), &vc) < 0 ||
	    (r = vfpci_open(getenv("PV_SYS"), &pc)) < 0) {
		printf("error: cannot open contexts\n");
		return 1;
	}
	t0 = now_ms();
	if (!strcmp(cmd, "check")) {
		r = vfio_check_host(vc);
		if (r < 0)
			return verr(r);
		printf("ok\n");
	} else if (!strcmp(cmd, "ident") && argc == 3) {
		struct vfpci_addr a;
		struct vfpci_ident id;

		if (addr(argv[2], &a) < 0)
			return 1;
		r = vfpci_ident(pc, &a, &id);
		if (r < 0)
			return perr(r);
		printf("%04x:%04x sub %04x:%04x class %06x rev %02x \"%s\" \"%s\"\n",
		       id.vendor, id.device, id.subsys_vendor, id.subsys_device,
		       id.class, id.revision, id.vendor_name, id.device_name);
	} else if (!strcmp(cmd, "sriov") && argc == 3) {
		struct vfpci_addr a;
		struct vfpci_sriov s;

		if (addr(argv[2], &a) < 0)
			return 1;
		r = vfpci_sriov(pc, &a, &s);
		if (r < 0)
			return perr(r);
		printf("cap=%#x total=%u initial=%u num=%u enable=%d offset=%u "
		       "stride=%u vf_device=%04x pgsz=%#x syspgsz=%#x\n",
		       s.cap_offset, s.total_vfs, s.initial_vfs, s.num_vfs,
		       s.vf_enable, s.vf_offset, s.vf_stride, s.vf_device,
		       s.supported_page_sizes, s.system_page_size);
	} else if (!strcmp(cmd, "vfaddrs") && argc == 3) {
		struct vfpci_addr a, v;
		struct vfpci_sriov s;
		unsigned int i;

		if (addr(argv[2], &a) < 0)
			return 1;
		r = vfpci_sriov(pc, &a, &s);
		if (r < 0)
			return perr(r);
		for (i = 0; i < s.num_vfs; i++) {
			r = vfpci_vf_addr(&a, &s, i, &v);
			if (r < 0)
				return perr(r);
			printf("%u %s\n", i, vfpci_addr_str(&v, buf));
		}
	} else if (!strcmp(cmd, "vfpf") && argc == 3) {
		struct vfpci_addr a, pf;
		unsigned int idx;

		if (addr(argv[2], &a) < 0)
			return 1;
		r = vfpci_vf_pf(pc, &a, &pf, &idx);
		if (r < 0)
			return perr(r);
		printf("%s %u\n", vfpci_addr_str(&pf, buf), idx);
	} else if (!strcmp(cmd, "numvfs") && argc == 3) {
		unsigned int n;

		r = vfio_numvfs(vc, argv[2], &n);
		if (r < 0)
			return verr(r);
		printf("%u\n", n);
	} else if (!strcmp(cmd, "setnumvfs") && argc == 5) {
		r = vfio_set_numvfs(vc, argv[2], strtoul(argv[3], NULL, 10),
				    atoi(argv[4]) != 0);
		if (r < 0)
			return verr(r);
		printf("ms=%.1f\n", now_ms() - t0);
	} else if (!strcmp(cmd, "virtfn") && argc == 4) {
		r = vfio_virtfn(vc, argv[2], strtoul(argv[3], NULL, 10), buf,
				sizeof(buf));
		if (r < 0)
			return verr(r);
		printf("%s\n", buf);
	} else if (!strcmp(cmd, "driver") && argc == 3) {
		r = vfio_driver(vc, argv[2], buf, sizeof(buf));
		if (r < 0)
			return verr(r);
		printf("%s\n", buf[0] ? buf : "(none)");
	} else if (!strcmp(cmd, "bind") && argc == 4) {
		long long start = wall_ms();

		r = vfio_bind(vc, argv[2], argv[3]);
		if (r < 0)
			return verr(r);
		printf("ms=%.1f start=%lld\n", now_ms() - t0, start);
	} else if (!strcmp(cmd, "group") && argc == 3) {
		int g;

		r = vfio_group(vc, argv[2], &g);
		if (r < 0)
			return verr(r);
		printf("%d\n", g);
	} else if (!strcmp(cmd, "viable") && argc == 3) {
		r = vfio_group_viable(vc, atoi(argv[2]));
		if (r < 0)
			return verr(r);
		printf("viable\n");
	} else if (!strcmp(cmd, "wait") && argc == 4) {
		long long end;

		r = vfio_wait_node(vc, atoi(argv[2]), atoi(argv[3]));
		end = wall_ms();
		if (r < 0)
			return verr(r);
		printf("ms=%.1f end=%lld\n", now_ms() - t0, end);
	} else if (!strcmp(cmd, "chown") && argc == 5) {
		uid_t u;
		gid_t g;

		r = vfio_parse_owner(argv[3], &u, &g);
		if (r < 0) {
			printf("error %d: owner %s: %s\n", r, argv[3], strerror(-r));
			return 1;
		}
		t0 = now_ms();
		r = vfio_node_chown(vc, atoi(argv[2]), u, g,
				    strtoul(argv[4], NULL, 8));
		if (r < 0)
			return verr(r);
		printf("ms=%.2f\n", now_ms() - t0);
	} else if (!strcmp(cmd, "stat") && argc == 3) {
		uid_t u;
		gid_t g;
		mode_t m;

		r = vfio_node_stat(vc, atoi(argv[2]), &u, &g, &m);
		if (r < 0)
			return verr(r);
		printf("%u:%u %04o\n", (unsigned)u, (unsigned)g, (unsigned)m);
	} else if (!strcmp(cmd, "reset") && argc == 3) {
		r = vfio_reset_method(vc, argv[2], buf, sizeof(buf));
		if (r < 0)
			return verr(r);
		printf("%s\n", buf[0] ? buf : "(none)");
	} else {
		return usage();
	}
	vfpci_close(pc);
	vfio_ctx_free(vc);
	return 0;
}
