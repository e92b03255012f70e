/* nl_bench: what nl/ saves over spawning ip(8), on a PF with 7 VFs.
 *
 *   bench/nl_bench [PF [RUNS [SPAWN_RUNS]]]     (root; in the lab)
 *
 * Times one batched RTM_SETLINK (MAC + VLAN + QoS + spoofchk + trust on 7
 * VFs) and one PF GETLINK with its 7 VFs, RUNS times each (default 1000),
 * and the same work done by spawning ip: 7 `ip link set PF vf N ...`
 * processes, one `ip link set` with 7 vf clauses, and one `ip -d link show`
 * (SPAWN_RUNS, default 100).  Prints p50/p99 and the ratios.  Creates the 7
 * VFs if the PF has none and removes them again at the end.  A benchmark:
 * no pass/fail, no timing asserts. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "nl/vfnl.h"

#include "bench/bench.h"

#define NVF 7

extern char **environ;

struct stat_row {
	const char *what;
	int runs;
	double p50, p99;
};

static struct stat_row stats(const char *what, double *v, int n)
{
	struct stat_row r = { what, n, 0, 0 };

	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	r.p50 = v[n / 2];
	r.p99 = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	return r;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static int run_argv(char **argv)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -r;
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static void fill_sets(struct vfnl_vf_set *s, int round)
{
	int i;

	memset(s, 0, sizeof(*s) * NVF);
	for (i = 0; i < NVF; i++) {
		s[i].index = (uint32_t)i;
		s[i].set = VFNL_SET_MAC | VFNL_SET_VLAN | VFNL_SET_SPOOFCHK | VFNL_SET_TRUST;
		memcpy(s[i].mac, "\x52\x54\x00\x00\x00\x00", 6);
		s[i].mac[4] = (uint8_t)(round & 1);
		s[i].mac[5] = (uint8_t)(0x10 + i);
		s[i].vlan = (uint16_t)(100 + i + (round & 1));
		s[i].qos = (uint8_t)((i + round) % 8);
		s[i].spoofchk = round & 1;
		s[i].trust = !(round & 1);
	}
}

/* argv for ip link set PF vf i ... with the same values as fill_sets(). */
static void ip_args(char buf[][32], char **argv, int *argc, const char *pf,
		    const struct vfnl_vf_set *s, int first, int last)
{
	int i, k = 0, b = 0;

	argv[k++] = "ip";
	argv[k++] = "link";
	argv[k++] = "set";
	argv[k++] = (char *)pf;
	for (i = first; i <= last; i++) {
		argv[k++] = "vf";
		snprintf(buf[b], 32, "%u", s[i].index);
		argv[k++] = buf[b++];
		argv[k++] = "mac";
		snprintf(buf[b], 32, "%02x:%02x:%02x:%02x:%02x:%02x", s[i].mac[0],
			 s[i].mac[1], s[i].mac[2], s[i].mac[3], s[i].mac[4], s[i].mac[5]);
		argv[k++] = buf[b++];
		argv[k++] = "vlan";
		snprintf(buf[b], 32, "%u", s[i].vlan);
		argv[k++] = buf[b++];
		argv[k++] = "qos";
		snprintf(buf[b], 32, "%u", s[i].qos);
		argv[k++] = buf[b++];
		argv[k++] = "spoofchk";
		argv[k++] = s[i].spoofchk ? "on" : "off";
		argv[k++] = "trust";
		argv[k++] = s[i].trust ? "on" : "off";
	}
	argv[k] = NULL;
	*argc = k;
}

/* How many of the 7 VFs now read back what s says. */
static int matches(struct vfnl *nl, int ifindex, const struct vfnl_vf_set *s,
		   struct vfnl_link *l)
{
	int i, ok = 0;

	if (vfnl_get_link(nl, ifindex, NULL, l) < 0)
		return -1;
	for (i = 0; i < NVF && (uint32_t)i < l->n_vfs; i++)
		ok += memcmp(l->vfs[i].mac, s[i].mac, 6) == 0 && l->vfs[i].vlan == s[i].vlan &&
		      l->vfs[i].qos == s[i].qos && l->vfs[i].spoofchk == s[i].spoofchk &&
		      l->vfs[i].trust == s[i].trust;
	return ok;
}

int main(int argc, char **argv)
{
	const char *pf = argc > 1 ? argv[1] : NULL;
	int runs = argc > 2 ? atoi(argv[2]) : 1000;
	int sruns = argc > 3 ? atoi(argv[3]) : 100;
	struct vfnl_vf_set s[NVF];
	struct stat_row rows[5];
	char path[256], pfbuf[64], abuf[NVF * 4][32], *av[4 + NVF * 12 + 1];
	struct vfnl_link *l;
	struct vfnl *nl;
	double *t;
	int i, j, r, ifindex, made = 0, ac, ok7 = -1, ok1 = -1;

	if (runs < 10 || sruns < 2) {
		fprintf(stderr, "usage: nl_bench [PF [RUNS>=10 [SPAWN_RUNS>=2]]]\n");
		return 2;
	}
	if (!pf) {
		glob_t g;

		if (glob("/sys/class/net/*/device/sriov_totalvfs", 0, NULL, &g) != 0) {
			fprintf(stderr, "nl_bench: no SR-IOV PF here\n");
			return 1;
		}
		snprintf(pfbuf, sizeof(pfbuf), "%.*s",
			 (int)(strstr(g.gl_pathv[0] + 15, "/") - (g.gl_pathv[0] + 15)),
			 g.gl_pathv[0] + 15);
		globfree(&g);
		pf = pfbuf;
	}
	t = calloc((size_t)(runs > sruns ? runs : sruns), sizeof(*t));
	l = calloc(1, sizeof(*l));
	if (!t || !l || vfnl_open(&nl) < 0)
		return 1;
	if ((r = vfnl_ifindex(nl, pf, &ifindex)) < 0) {
		fprintf(stderr, "nl_bench: %s: %s\n", pf, vfnl_errmsg(nl));
		return 1;
	}
	if (vfnl_get_link(nl, ifindex, NULL, l) == 0 && l->num_vf != NVF) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/device/sriov_numvfs", pf);
		if (write_str(path, "0") < 0 || write_str(path, "7") < 0) {
			fprintf(stderr, "nl_bench: cannot create %d VFs via %s\n", NVF, path);
			return 1;
		}
		made = 1;
	}

	for (i = 0; i < runs; i++) {
		fill_sets(s, i);
		double a = now_us();
		r = vfnl_set_vfs(nl, ifindex, s, NVF);
		t[i] = now_us() - a;
		if (r < 0) {
			fprintf(stderr, "nl_bench: set: %s\n", vfnl_errmsg(nl));
			return 1;
		}
	}
	rows[0] = stats("vfnl RTM_SETLINK, 7 VFs, 1 message", t, runs);
	for (i = 0; i < runs; i++) {
		double a = now_us();
		r = vfnl_get_link(nl, ifindex, NULL, l);
		t[i] = now_us() - a;
		if (r < 0 || l->n_vfs != NVF) {
			fprintf(stderr, "nl_bench: get: %s\n", vfnl_errmsg(nl));
			return 1;
		}
	}
	rows[1] = stats("vfnl RTM_GETLINK, PF + 7 VFs", t, runs);

	for (i = 0; i < sruns; i++) {
		fill_sets(s, i);
		double a = now_us();
		for (j = 0; j < NVF; j++) {
			ip_args(abuf, av, &ac, pf, s, j, j);
			if (run_argv(av) < 0) {
				fprintf(stderr, "nl_bench: ip link set vf %d failed\n", j);
				return 1;
			}
		}
		t[i] = now_us() - a;
	}
	ok7 = matches(nl, ifindex, s, l);
	rows[2] = stats("ip link set PF vf N ..., 7 spawns", t, sruns);
	for (i = 0; i < sruns; i++) {
		fill_sets(s, i + 1);
		ip_args(abuf, av, &ac, pf, s, 0, NVF - 1);
		double a = now_us();
		if (run_argv(av) < 0) {
			fprintf(stderr, "nl_bench: ip link set with 7 vf clauses failed\n");
			return 1;
		}
		t[i] = now_us() - a;
	}
	ok1 = matches(nl, ifindex, s, l);
	rows[3] = stats("ip link set PF vf 0 .. vf 6 .., 1 spawn", t, sruns);
	{
		char *show[] = { "ip", "-d", "link", "show", (char *)pf, NULL };

		for (i = 0; i < sruns; i++) {
			double a = now_us();
			run_argv(show);
			t[i] = now_us() - a;
		}
	}
	rows[4] = stats("ip -d link show PF, 1 spawn", t, sruns);

	printf("%-42s %6s %10s %10s\n", "operation (PF with 7 VFs)", "runs", "p50 us", "p99 us");
	for (i = 0; i < 5; i++)
		printf("%-42s %6d %10.1f %10.1f\n", rows[i].what, rows[i].runs, rows[i].p50,
		       rows[i].p99);
	printf("ratio set  (7 ip spawns / vfnl): p50 %.1fx  p99 %.1fx\n",
	       rows[2].p50 / rows[0].p50, rows[2].p99 / rows[0].p99);
	printf("ratio set  (1 ip spawn  / vfnl): p50 %.1fx  p99 %.1fx\n",
	       rows[3].p50 / rows[0].p50, rows[3].p99 / rows[0].p99);
	printf("ratio get  (ip -d link show / vfnl): p50 %.1fx  p99 %.1fx\n",
	       rows[4].p50 / rows[1].p50, rows[4].p99 / rows[1].p99);
	printf("check: after 7 spawns %d/7 VFs read back as set; after 1 spawn with 7 vf clauses %d/7\n",
	       ok7, ok1);

	if (made)
		write_str(path, "0");
	vfnl_close(nl);
	free(l);
	free(t);
	return 0;
}
