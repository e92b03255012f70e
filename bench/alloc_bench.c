/* alloc_bench: latency of handing one VF to a VM, vfagent against the ways
 * users would otherwise do it (run by bench/lab.sh; root; see bench/README.md).
 *
 *   bench/alloc_bench run CONF STATE POOL PF OUT REPS BUDGET_S COLD_EVERY
 *   bench/alloc_bench churn CONF STATE POOL OUT CLIENTS SECONDS
 *   bench/alloc_bench domain CONF STATE POOL OUT REPS DOMAIN HOSTDEV_XML
 *   bench/alloc_bench netpool CONF STATE POOL OUT REPS DOMAIN PF
 *
 * run: the pool must be set up (vfagent setup) with nothing leased, so every
 * alloc takes the pool's first VF; every path below works on that same VF.
 * One round times each path once, in this order, with the untimed state
 * changes between them; REPS rounds, or fewer if BUDGET_S runs out first
 * (the table says how many ran).  The in-process paths run FAST times per
 * round; the cold paths (each needs an untimed rebind to igbvf, slow under
 * TCG) only every COLD_EVERY-th round.  Paths:
 *   lib_warm_alloc/_release  vfa_alloc/vfa_release in this process
 *   cli_warm_alloc/_release  fork/exec of ./vfagent --json alloc / release
 *   lib_cold_alloc           vfa_alloc with the VF first put back on igbvf
 *   cli_cold_alloc           the same through ./vfagent
 *   script_cold/_warm        bench/script_way.sh from igbvf / from vfio-pci
 *   nodedev_detach/_reattach virNodeDeviceDetachFlags(vfio) + ReAttach
 *   floor_setlink/_chown/_fsync_rename and floor_sum  the bare syscalls
 *   exec_true, cli_help      fork/exec of /bin/true and ./vfagent --help:
 *                            what process start-up alone costs
 *   daemon_sock_alloc/_release  alloc/release over one persistent connection to
 *                            STATE/vfagent.sock (opened at daemon start) from
 *                            here (`vfagent serve` started per round, untimed)
 *   cli_daemon_alloc/_release   ./vfagent while that daemon answers; every
 *                            other CLI call passes --direct, daemon stopped
 *   ph_*                     the warm alloc's phases: the mechanism calls
 *                            vfa_alloc makes, timed one by one on the VF
 * Writes OUT/samples.csv (path,rep,us), OUT/summary.csv, OUT/cdf.dat.
 *
 * churn: CLIENTS processes alloc+release through ./vfagent for SECONDS;
 * each records pci and its times; a VF held by two clients at once (the
 * span from one alloc's return to its release's start overlapping another
 * such span of the same VF) is a double lease.  Writes OUT/churn.csv.
 * domain: REPS times, the domain freshly started (untimed) before each:
 * `vfagent alloc --domain DOMAIN --live` (domain_vfagent), then, after a
 * destroy/start, `virsh attach-device DOMAIN HOSTDEV_XML --live` of the
 * same VF as <hostdev managed='yes'> (domain_virsh_managed).  The domain
 * is destroyed after each attach: its OS-less guest never acks an unplug.
 * Writes OUT/domain-summary.csv and appends to samples.csv/cdf.dat.
 * netpool: libvirt's network pool way against vfagent's, both from an
 * already-connected process.  Defines and starts the network "vfpool"
 * (<forward mode='hostdev' managed='yes'><pf dev='PF'/>), starts `vfagent
 * serve` and opens ONE connection to it (client library) for the whole
 * mode; REPS times, interleaved: the domain started (untimed), the request
 * {"op":"alloc","pool":POOL,"domain":DOMAIN,"live":true} over that
 * connection (domain_daemon_np), destroy + release --domain (untimed); the
 * same alloc without "domain" (daemon_alloc_np: vfagent's own share, in
 * this boot) + release; virConnectOpen + virConnectClose of qemu:///system
 * (libvirt_connect_np: what a worker forked per request paid for its own
 * libvirt connection); release --domain DOMAIN, which holds no lease then
 * (daemon_job_np: a worker's round trip, handoff, lookup and reply, with
 * no attach); the domain started again,
 * virDomainAttachDeviceFlags(<interface type='network'><source
 * network='vfpool'/></interface>, AFFECT_LIVE) through this process's open
 * connection (domain_netpool), destroy, every VF of PF put back on vfio-pci
 * (untimed).  vfagent holds no lease during the libvirt attach, so libvirt
 * picks the pool's first VF, the one vfagent hands out.  Writes
 * OUT/netpool-summary.csv (daemon log: OUT/daemon-netpool.log), appends to
 * samples.csv/cdf.dat/ratios.csv; the network is removed at the end.
 * A benchmark: no pass/fail on timings; exit 1 only if something broke. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "agent/vfagent-client.h"
#include "bench/bench_client.h"
#include "bench/bench_daemon.h"
#if VFAGENT_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#endif

#include "agent/agent.h"
#include "agent/vfagent-client.h"
#include "nl/vfnl.h"
#include "vfio/vfio.h"

#include "bench/bench.h"
#include "bench/bench_floor.h"

extern char **environ;

#define FAST 4		/* in-process samples per round */

enum {
	P_LIB_WARM_ALLOC, P_LIB_WARM_RELEASE, P_CLI_WARM_ALLOC, P_CLI_WARM_RELEASE,
	P_LIB_COLD_ALLOC, P_CLI_COLD_ALLOC, P_SCRIPT_COLD, P_SCRIPT_WARM,
	P_NODEDEV_DETACH, P_NODEDEV_REATTACH,
	P_FLOOR_SETLINK, P_FLOOR_CHOWN, P_FLOOR_FSYNC_RENAME, P_FLOOR_SUM,
	P_EXEC_TRUE, P_CLI_HELP,
	P_DAEMON_SOCK_ALLOC, P_DAEMON_SOCK_RELEASE, P_CLI_DAEMON_ALLOC, P_CLI_DAEMON_RELEASE,
	P_PH_LOCK_LIST, P_PH_GETLINK, P_PH_JOURNAL, P_PH_SETLINK, P_PH_BIND_CHECK,
	P_PH_NODE_WAIT, P_PH_CHOWN, P_PH_SUM, P_PH_LEASE_DROP,
	P_DOM_VFAGENT, P_DOM_VIRSH,
	P_NP_VFAGENT, P_NP_ATTACH, P_NP_DAEMON_ALLOC, P_NP_LV_CONNECT, P_NP_JOB,
	P_N
};
static const char *pname[P_N] = {
	"lib_warm_alloc", "lib_warm_release", "cli_warm_alloc", "cli_warm_release",
	"lib_cold_alloc", "cli_cold_alloc", "script_cold", "script_warm",
	"nodedev_detach", "nodedev_reattach",
	"floor_setlink", "floor_chown", "floor_fsync_rename", "floor_sum",
	"exec_true", "cli_help",
	"daemon_sock_alloc", "daemon_sock_release", "cli_daemon_alloc", "cli_daemon_release",
	"ph_lock_list", "ph_getlink", "ph_journal", "ph_setlink", "ph_bind_check",
	"ph_node_wait", "ph_chown", "ph_sum", "ph_lease_drop",
	"domain_vfagent", "domain_virsh_managed",
	"domain_daemon_np", "domain_netpool", "daemon_alloc_np", "libvirt_connect_np",
	"daemon_job_np",
};

struct series {
	double *v;
	int n;
};
static struct series S[P_N];

static void add(int p, double us)
{
	struct series *s = &S[p];

	if (!(s->n & (s->n - 1)) || !s->n) {
		double *nv = realloc(s->v, sizeof(*nv) * (size_t)(s->n ? 2 * s->n : 16));

		if (!nv) {
			perror("realloc");
			exit(1);
		}
		s->v = nv;
	}
	s->v[s->n++] = us;
}

static const char *spawn_err = "/dev/null";	/* where children's stderr goes */

/* Runs argv with stdout into buf (may be NULL); returns the exit status,
 * 128+sig if killed, -errno if it could not start. */
static int spawn(char *const argv[], char *buf, size_t len)
{
	posix_spawn_file_actions_t fa;
	int pfd[2], st, r;
	size_t got = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, spawn_err, O_WRONLY | O_CREAT | O_APPEND, 0644);
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (r) {
		close(pfd[0]);
		return -r;
	}
	for (;;) {
		char tmp[1024];
		ssize_t n = read(pfd[0], buf && got + 1 < len ? buf + got : tmp,
				 buf && got + 1 < len ? len - got - 1 : sizeof(tmp));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf && got + 1 < len)
			got += (size_t)n;
	}
	if (buf)
		buf[got] = 0;
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static const char *conf, *state, *pool;
static char vfagent[512];

/* ./vfagent [--direct] --json alloc --pool POOL; pci of the lease into pci.
 * direct: never the daemon (cli_warm, cold, churn); else through a running
 * one (cli_daemon). */
static int cli_alloc_via(char pci[16], bool direct)
{
	char out[8192];
	char *argv[] = { vfagent, "-c", (char *)conf, "-s", (char *)state, "--json",
			 "alloc", "--pool", (char *)pool, direct ? "--direct" : NULL, NULL };
	int rc = spawn(argv, out, sizeof(out));
	json_object *j, *p;

	if (rc)
		return rc;
	j = json_tokener_parse(out);
	if (!j || !json_object_object_get_ex(j, "pci", &p)) {
		json_object_put(j);
		return -EBADMSG;
	}
	snprintf(pci, 16, "%s", json_object_get_string(p));
	json_object_put(j);
	return 0;
}

static int cli_release_via(const char *pci, bool direct)
{
	char *argv[] = { vfagent, "-c", (char *)conf, "-s", (char *)state, "--json",
			 "release", "--pci", (char *)pci, direct ? "--direct" : NULL, NULL };

	return spawn(argv, NULL, 0);
}

static int cli_alloc(char pci[16])
{
	return cli_alloc_via(pci, true);
}

static int cli_release(const char *pci)
{
	return cli_release_via(pci, true);
}

/* ---- the daemon: started per round (untimed) and stopped before the
 * direct paths run, so its netlink watch and timers never compete with
 * them. ---- */
static struct bench_daemon dmn = { .pid = -1 };
static char daemon_log[1024] = "/dev/null";

/* The bench's one persistent connection to the daemon, as an
 * orchestrator holds it: opened by daemon_start, closed by daemon_stop. */
static struct vfa_client *dconn;

/* An alloc and a release over the persistent connection
 * (bench/bench_client.h). */
static int sock_alloc(char pci[16])
{
	return bench_alloc(dconn, pool, NULL, -1, pci);
}

static int sock_release(const char *pci)
{
	return bench_release(dconn, pci, -1);
}

static void daemon_stop(void)
{
	bench_daemon_stop(&dmn, NULL);
	vfa_client_close(dconn);
	dconn = NULL;
}

/* Starts `vfagent serve`; dconn is a connection status answered on. */
static int daemon_start(void)
{
	return bench_daemon_start(&dmn, vfagent, conf, state, daemon_log, -1, &dconn);
}

/* The PF's PCI address (what a lease journals as pf_pci), "" if unknown. */
static void pf_pci_of(const char *netdev, char ret[16])
{
	char p[300], *real;

	snprintf(p, sizeof(p), "/sys/class/net/%s/device", netdev);
	real = realpath(p, NULL);
	snprintf(ret, 16, "%s", real && strrchr(real, '/') ? strrchr(real, '/') + 1 : "");
	free(real);
}

/* One agent handle for the whole run: what a daemon would hold. */
static struct vfa_agent *lib_agent(const struct vfa_opts *o, struct vfa_err *e)
{
	static struct vfa_agent *a;

	if (!a && vfa_agent_open(o, &a, e))
		return NULL;
	return a;
}

static int lib_alloc(struct vfa_opts *o, char pci[16], int *ret_cold, struct vfa_err *e)
{
	json_object *j = NULL, *p, *c;
	struct vfa_agent *a = lib_agent(o, e);
	int r = a ? vfa_alloc(a, o, &j, e) : -EIO;

	if (r)
		return r;
	if (json_object_object_get_ex(j, "pci", &p))
		snprintf(pci, 16, "%s", json_object_get_string(p));
	*ret_cold = json_object_object_get_ex(j, "cold", &c) && json_object_get_boolean(c);
	json_object_put(j);
	return 0;
}

static int lib_release(struct vfa_opts *o, const char *pci, struct vfa_err *e)
{
	json_object *j = NULL;
	int r;

	struct vfa_agent *a = lib_agent(o, e);

	if (!a)
		return -EIO;
	o->pci = pci;
	r = vfa_release(a, o, &j, e);
	o->pci = NULL;
	json_object_put(j);
	return r;
}

static int die(const char *what, int r, const char *msg)
{
	fprintf(stderr, "alloc_bench: %s: %s%s%s\n", what, strerror(r < 0 ? -r : r),
		msg && *msg ? ": " : "", msg ? msg : "");
	return 1;
}

static void summary(const char *out, const char *name, int rounds, int reps, double secs)
{
	char path[1024];
	FILE *f, *cdf;

	snprintf(path, sizeof(path), "%s/%s", out, name);
	f = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/cdf.dat", out);
	cdf = fopen(path, "a");
	if (!f || !cdf) {
		perror(path);
		exit(1);
	}
	fprintf(f, "path,n,p50_us,p90_us,p99_us,max_us\n");
	printf("\n%d of %d rounds in %.0f s%s\n", rounds, reps, secs,
	       rounds < reps ? " (time budget reached)" : "");
	printf("%-20s %5s %11s %11s %11s %11s\n", "path", "n", "p50 ms", "p90 ms", "p99 ms", "max ms");
	for (int p = 0; p < P_N; p++) {
		struct series *s = &S[p];

		if (!s->n)
			continue;
		qsort(s->v, (size_t)s->n, sizeof(double), cmp_d);
		fprintf(f, "%s,%d,%.1f,%.1f,%.1f,%.1f\n", pname[p], s->n, pct(s->v, s->n, .5),
			pct(s->v, s->n, .9), pct(s->v, s->n, .99), s->v[s->n - 1]);
		printf("%-20s %5d %11.3f %11.3f %11.3f %11.3f\n", pname[p], s->n,
		       pct(s->v, s->n, .5) / 1e3, pct(s->v, s->n, .9) / 1e3,
		       pct(s->v, s->n, .99) / 1e3, s->v[s->n - 1] / 1e3);
		fprintf(cdf, "%s %s\n", pname[p], pname[p]);
		for (int i = 0; i < s->n; i++)
			fprintf(cdf, "%.3f %.5f\n", s->v[i] / 1e3, (i + 1.0) / s->n);
		fprintf(cdf, "\n\n");
	}
	fclose(f);
	fclose(cdf);
}

static double p50(int p)
{
	return S[p].n ? pct(S[p].v, S[p].n, .5) : 0;	/* sorted by summary() */
}

static double p99(int p)
{
	return S[p].n ? pct(S[p].v, S[p].n, .99) : 0;
}

static void ratio(FILE *f, const char *what, int a, int b)
{
	if (!S[a].n || !S[b].n)
		return;
	printf("  %-44s p50 %8.2fx   p99 %8.2fx\n", what, p50(b) / p50(a), p99(b) / p99(a));
	fprintf(f, "%s,%.3f,%.3f\n", what, p50(b) / p50(a), p99(b) / p99(a));
}

static void ratios(const char *out)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/ratios.csv", out);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fprintf(f, "ratio,p50,p99\n");
	printf("\nratios (how many times slower the second is; > 1 favours the first)\n");
	ratio(f, "script_warm / cli_warm_alloc", P_CLI_WARM_ALLOC, P_SCRIPT_WARM);
	ratio(f, "script_warm / lib_warm_alloc", P_LIB_WARM_ALLOC, P_SCRIPT_WARM);
	ratio(f, "script_cold / cli_cold_alloc", P_CLI_COLD_ALLOC, P_SCRIPT_COLD);
	ratio(f, "script_cold / cli_warm_alloc", P_CLI_WARM_ALLOC, P_SCRIPT_COLD);
	ratio(f, "nodedev_detach / lib_cold_alloc", P_LIB_COLD_ALLOC, P_NODEDEV_DETACH);
	ratio(f, "nodedev_detach / cli_cold_alloc", P_CLI_COLD_ALLOC, P_NODEDEV_DETACH);
	ratio(f, "lib_warm_alloc / floor_sum (overhead)", P_FLOOR_SUM, P_LIB_WARM_ALLOC);
	ratio(f, "cli_warm_alloc / lib_warm_alloc (exec)", P_LIB_WARM_ALLOC, P_CLI_WARM_ALLOC);
	ratio(f, "cli_help / exec_true (vfagent start-up)", P_EXEC_TRUE, P_CLI_HELP);
	ratio(f, "script_warm / daemon_sock_alloc", P_DAEMON_SOCK_ALLOC, P_SCRIPT_WARM);
	ratio(f, "script_warm / cli_daemon_alloc", P_CLI_DAEMON_ALLOC, P_SCRIPT_WARM);
	ratio(f, "cli_daemon_alloc / daemon_sock_alloc", P_DAEMON_SOCK_ALLOC, P_CLI_DAEMON_ALLOC);
	ratio(f, "cli_warm_alloc / daemon_sock_alloc", P_DAEMON_SOCK_ALLOC, P_CLI_WARM_ALLOC);
	ratio(f, "cli_warm_alloc / cli_daemon_alloc", P_CLI_DAEMON_ALLOC, P_CLI_WARM_ALLOC);
	ratio(f, "daemon_sock_alloc / floor_sum (overhead)", P_FLOOR_SUM, P_DAEMON_SOCK_ALLOC);
	ratio(f, "lib_warm_alloc / ph_sum (unexplained)", P_PH_SUM, P_LIB_WARM_ALLOC);
	ratio(f, "ph_sum / floor_sum", P_FLOOR_SUM, P_PH_SUM);
	ratio(f, "nodedev_detach / daemon_sock_alloc", P_DAEMON_SOCK_ALLOC, P_NODEDEV_DETACH);
	for (int p = 0; p < P_N; p++)
		if (S[p].n && (p == P_LIB_WARM_ALLOC || p == P_CLI_WARM_ALLOC ||
			       p == P_DAEMON_SOCK_ALLOC || p == P_CLI_DAEMON_ALLOC)) {
			printf("  %s p99/p50 %.2f\n", pname[p], p99(p) / p50(p));
			fprintf(f, "%s p99/p50,%.3f,\n", pname[p], p99(p) / p50(p));
		}
	fclose(f);
}

static int cmd_run(int argc, char **argv)
{
	const char *pf, *out, *script = "bench/script_way.sh";
	struct vfa_opts o = { 0 };
	struct vfa_err e = { "", 0 };
	struct vfio_ctx *io = NULL;
	struct vfnl *nl = NULL;
	struct vfa_state *vst = NULL;
	static struct vfnl_link link;
	struct bench_floor fl;
	struct passwd *pw;
	char vf[16] = "", node[64], drv[64];
	int reps, budget, cold_every, rounds = 0, ifindex, group, r, cold;
	double t0, t, start;
	uid_t vm_uid;
	gid_t vm_gid;
#if VFAGENT_LIBVIRT
	virConnectPtr lv = NULL;
	virNodeDevicePtr ndev = NULL;
#endif

	if (argc != 10) {
		fprintf(stderr, "usage: alloc_bench run CONF STATE POOL PF OUT REPS BUDGET_S COLD_EVERY\n");
		return 2;
	}
	conf = argv[2], state = argv[3], pool = argv[4], pf = argv[5], out = argv[6];
	reps = atoi(argv[7]), budget = atoi(argv[8]), cold_every = atoi(argv[9]);
	if (cold_every < 1)
		cold_every = 1;
	o.config = conf, o.state_dir = state, o.pool = pool;
	pw = getpwnam("libvirt-qemu");
	vm_uid = pw ? pw->pw_uid : 64055;
	vm_gid = pw ? pw->pw_gid : 64055;

	if ((r = vfnl_open(&nl)) || (r = vfnl_ifindex(nl, pf, &ifindex)))
		return die(pf, r, vfnl_errmsg(nl));
	if ((r = vfio_ctx_new(NULL, NULL, &io)))
		return die("vfio", r, NULL);
	if ((r = vfa_state_open(state, &vst, &e)))
		return die("state", r, e.msg);
	snprintf(daemon_log, sizeof(daemon_log), "%s/daemon.log", bench_log_dir(out));
	/* Which VF the pool hands out first: every path uses that one. */
	if ((r = lib_alloc(&o, vf, &cold, &e)) || (r = lib_release(&o, vf, &e)))
		return die("first alloc", r, e.msg);
	if ((r = vfio_group(io, vf, &group)))
		return die(vf, r, vfio_errmsg(io));
	snprintf(node, sizeof(node), "/dev/vfio/%d", group);
	bench_floor_init(&fl, nl, ifindex, 0, group, state);
	printf("VF %s (group %d) of %s, %d rounds max, %d s budget, in-process paths x%d per round, cold paths every %d rounds\n",
	       vf, group, pf, reps, budget, FAST, cold_every);
#if VFAGENT_LIBVIRT
	lv = virConnectOpen("qemu:///system");
	if (lv) {
		char name[64];

		snprintf(name, sizeof(name), "pci_%s", vf);
		for (char *p = name; *p; p++)
			if (*p == ':' || *p == '.')
				*p = '_';
		ndev = virNodeDeviceLookupByName(lv, name);
		if (!ndev)
			printf("SKIP nodedev: %s: %s\n", name, virGetLastErrorMessage());
	} else {
		printf("SKIP nodedev: no libvirt connection: %s\n", virGetLastErrorMessage());
	}
#else
	printf("SKIP nodedev: built with LIBVIRT=0\n");
#endif

	start = now_us();
	for (rounds = 0; rounds < reps && (now_us() - start) < budget * 1e6; rounds++) {
		char pci[16] = "", mac[18];
		struct vfnl_vf_set s = { .index = 0, .set = VFNL_SET_MAC | VFNL_SET_VLAN, .vlan = 100 };

		/* Library, warm: VF on vfio-pci, node idle. */
		for (int k = 0; k < FAST; k++) {
			o.has_mac = true;
			memcpy(o.mac, (uint8_t[6]){ 0x02, 0, 0, 0, (uint8_t)(rounds >> 8), (uint8_t)rounds }, 6);
			o.has_vlan = true, o.vlan = 100;
			t0 = now_us();
			r = lib_alloc(&o, pci, &cold, &e);
			t = now_us();
			if (r)
				return die("lib alloc", r, e.msg);
			add(P_LIB_WARM_ALLOC, t - t0);
			t0 = now_us();
			r = lib_release(&o, pci, &e);
			t = now_us();
			if (r)
				return die("lib release", r, e.msg);
			add(P_LIB_WARM_RELEASE, t - t0);
			o.has_mac = o.has_vlan = false;
		}

		/* Process start-up alone. */
		t0 = now_us();
		r = spawn((char *[]){ "/bin/true", NULL }, NULL, 0);
		t = now_us();
		if (r)
			return die("/bin/true", r < 0 ? r : EIO, NULL);
		add(P_EXEC_TRUE, t - t0);
		t0 = now_us();
		r = spawn((char *[]){ vfagent, "--help", NULL }, NULL, 0);
		t = now_us();
		if (r)
			return die("vfagent --help", r < 0 ? r : EIO, NULL);
		add(P_CLI_HELP, t - t0);

		/* CLI, warm. */
		t0 = now_us();
		r = cli_alloc(pci);
		t = now_us();
		if (r)
			return die("cli alloc", r, "vfagent alloc failed");
		add(P_CLI_WARM_ALLOC, t - t0);
		t0 = now_us();
		r = cli_release(pci);
		t = now_us();
		if (r)
			return die("cli release", r, "vfagent release failed");
		add(P_CLI_WARM_RELEASE, t - t0);

		/* The daemon (started untimed, one untimed op to warm it as a
		 * long-running one is): over its socket from here, then the CLI
		 * going through it; stopped before anything else runs. */
		if ((r = daemon_start()))
			return die("vfagent serve", r, daemon_log);
		if ((r = sock_alloc(pci)) || (r = sock_release(pci)))
			return die("daemon warm-up", r < 0 ? r : EIO, daemon_log);
		for (int k = 0; k < FAST; k++) {
			t0 = now_us();
			r = sock_alloc(pci);
			t = now_us();
			if (r)
				return die("daemon alloc", r < 0 ? r : EIO, daemon_log);
			add(P_DAEMON_SOCK_ALLOC, t - t0);
			t0 = now_us();
			r = sock_release(pci);
			t = now_us();
			if (r)
				return die("daemon release", r < 0 ? r : EIO, daemon_log);
			add(P_DAEMON_SOCK_RELEASE, t - t0);
		}
		t0 = now_us();
		r = cli_alloc_via(pci, false);
		t = now_us();
		if (r)
			return die("cli alloc via daemon", r, "vfagent alloc failed");
		add(P_CLI_DAEMON_ALLOC, t - t0);
		t0 = now_us();
		r = cli_release_via(pci, false);
		t = now_us();
		if (r)
			return die("cli release via daemon", r, "vfagent release failed");
		add(P_CLI_DAEMON_RELEASE, t - t0);
		daemon_stop();

		/* The floor: what the warm path cannot avoid (bench/bench_floor.h). */
		for (int k = 0; k < FAST; k++) {
			double us[BENCH_FLOOR_STEPS];
			const char *what = "";

			if ((r = bench_floor_sample(&fl, us, &what)))
				return die(what, r, !strcmp(what, "floor setlink") ? vfnl_errmsg(nl) :
					   !strcmp(what, "floor chown") ? node : state);
			add(P_FLOOR_SETLINK, us[BENCH_FLOOR_SETLINK]);
			add(P_FLOOR_CHOWN, us[BENCH_FLOOR_CHOWN]);
			add(P_FLOOR_FSYNC_RENAME, us[BENCH_FLOOR_FSYNC_RENAME]);
			add(P_FLOOR_SUM, us[BENCH_FLOOR_SETLINK] + us[BENCH_FLOOR_CHOWN] +
					    us[BENCH_FLOOR_FSYNC_RENAME]);
		}

		/* Phases of the warm alloc, each the mechanism call vfa_alloc
		 * makes, on the same VF, in its order (ops.c: begin, leases_of,
		 * pf_resolve, lease_save, apply, make_ready, own_node,
		 * lease_save; release: lease_drop). Not reconcile's per-lease
		 * checks: no lease is held here, as in the warm paths. */
		for (int k = 0; k < FAST; k++) {
			struct vfa_lease l = { .group = group, .vlan = 100, .vf = 0 };
			struct vfa_lease *ls = NULL;
			size_t nls = 0;
			double sum = 0;
			int g;

			snprintf(l.id, sizeof(l.id), "0123456789abcdef");
			l.state = VFA_LS_ALLOCATING;
			snprintf(l.pool, sizeof(l.pool), "%s", pool);
			snprintf(l.pf, sizeof(l.pf), "%s", pf);
			pf_pci_of(pf, l.pf_pci);	/* the journal refuses a lease without it */
			snprintf(l.pci, sizeof(l.pci), "%s", vf);
			snprintf(l.mac, sizeof(l.mac), "02:00:00:02:%02x:%02x", k, rounds & 0xff);
			s.mac[0] = 0x02, s.mac[3] = 2, s.mac[4] = (uint8_t)k, s.mac[5] = (uint8_t)rounds;
			t0 = now_us();
			r = vfa_state_lock(vst, &e);
			if (!r) {
				r = vfa_lease_list(vst, &ls, &nls, NULL);
				vfa_state_unlock(vst);
				free(ls);
			}
			t = now_us();
			if (r)
				return die("phase lock+list", r, e.msg);
			add(P_PH_LOCK_LIST, t - t0), sum += t - t0;
			t0 = now_us();
			r = vfnl_get_link(nl, ifindex, NULL, &link);
			t = now_us();
			if (r)
				return die("phase getlink", r, vfnl_errmsg(nl));
			add(P_PH_GETLINK, t - t0), sum += t - t0;
			t0 = now_us();
			r = vfa_lease_save(vst, &l, &e);
			if (!r) {
				l.state = VFA_LS_READY;
				r = vfa_lease_save(vst, &l, &e);
			}
			t = now_us();
			if (r)
				return die("phase journal", r, e.msg);
			add(P_PH_JOURNAL, t - t0), sum += t - t0;
			t0 = now_us();
			r = vfnl_set_vfs(nl, ifindex, &s, 1);
			t = now_us();
			if (r)
				return die("phase setlink", r, vfnl_errmsg(nl));
			add(P_PH_SETLINK, t - t0), sum += t - t0;
			t0 = now_us();
			r = vfio_driver(io, vf, drv, sizeof(drv));
			if (!r)
				r = vfio_group(io, vf, &g);
			if (!r)
				r = vfio_group_viable(io, g);
			t = now_us();
			if (r)
				return die("phase bind check", r, vfio_errmsg(io));
			add(P_PH_BIND_CHECK, t - t0), sum += t - t0;
			t0 = now_us();
			r = vfio_wait_node(io, group, 5000);
			t = now_us();
			if (r)
				return die("phase node wait", r, vfio_errmsg(io));
			add(P_PH_NODE_WAIT, t - t0), sum += t - t0;
			t0 = now_us();
			r = vfio_node_chown(io, group, vm_uid, vm_gid, 0660);
			t = now_us();
			if (r || (r = vfio_node_chown(io, group, 0, 0, 0600)))
				return die("phase chown", r, vfio_errmsg(io));
			add(P_PH_CHOWN, t - t0), sum += t - t0;
			add(P_PH_SUM, sum);
			t0 = now_us();
			r = vfa_lease_drop(vst, vf, &e);
			t = now_us();
			if (r)
				return die("phase lease drop", r, e.msg);
			add(P_PH_LEASE_DROP, t - t0);
		}

		/* Cold: the VF back on igbvf (untimed), then alloc. */
		if (rounds % cold_every == 0) {
			if ((r = vfio_bind(io, vf, "igbvf")))
				return die("bind igbvf", r, vfio_errmsg(io));
			t0 = now_us();
			r = lib_alloc(&o, pci, &cold, &e);
			t = now_us();
			if (r)
				return die("lib cold alloc", r, e.msg);
			if (!cold)
				printf("note: round %d lib cold alloc did not rebind\n", rounds);
			add(P_LIB_COLD_ALLOC, t - t0);
			if ((r = lib_release(&o, pci, &e)))
				return die("lib release", r, e.msg);
			if ((r = vfio_bind(io, vf, "igbvf")))
				return die("bind igbvf", r, vfio_errmsg(io));
			t0 = now_us();
			r = cli_alloc(pci);
			t = now_us();
			if (r)
				return die("cli cold alloc", r, "vfagent alloc failed");
			add(P_CLI_COLD_ALLOC, t - t0);
			if ((r = cli_release(pci)))
				return die("cli release", r, "vfagent release failed");
		}

		/* The script way, from igbvf and from vfio-pci; the VF is put
		 * back to the pool baseline (untimed) after each. */
		for (int warm = rounds % cold_every ? 1 : 0; warm < 2; warm++) {
			char *sargv[] = { "/bin/sh", (char *)script, (char *)pf, "0", mac, "100",
					  "libvirt-qemu:kvm", "0660", NULL };
			struct vfnl_vf_set z = { .index = 0, .set = VFNL_SET_MAC | VFNL_SET_VLAN };

			snprintf(mac, sizeof(mac), "02:00:00:01:%02x:%02x", (rounds >> 8) & 0xff, rounds & 0xff);
			if (!warm && (r = vfio_bind(io, vf, "igbvf")))
				return die("bind igbvf", r, vfio_errmsg(io));
			t0 = now_us();
			r = spawn(sargv, NULL, 0);
			t = now_us();
			if (r)
				return die("script_way.sh", r < 0 ? r : EIO, "failed");
			add(warm ? P_SCRIPT_WARM : P_SCRIPT_COLD, t - t0);
			if ((r = vfnl_set_vfs(nl, ifindex, &z, 1)) || (r = chown(node, 0, 0) ? -errno : 0) ||
			    (r = chmod(node, 0600) ? -errno : 0))
				return die("script undo", r, NULL);
		}

#if VFAGENT_LIBVIRT
		/* libvirt's own way, from igbvf. ReAttach clears driver_override
		 * and probes; with sriov_drivers_autoprobe=0 (vfagent setup) the
		 * VF then stays unbound, so vfio-pci is put back untimed. */
		if (ndev && rounds % cold_every == 0) {
			if ((r = vfio_bind(io, vf, "igbvf")))
				return die("bind igbvf", r, vfio_errmsg(io));
			t0 = now_us();
			r = virNodeDeviceDetachFlags(ndev, "vfio", 0);
			t = now_us();
			if (r < 0)
				return die("virNodeDeviceDetachFlags", EIO, virGetLastErrorMessage());
			add(P_NODEDEV_DETACH, t - t0);
			t0 = now_us();
			r = virNodeDeviceReAttach(ndev);
			t = now_us();
			if (r < 0)
				return die("virNodeDeviceReAttach", EIO, virGetLastErrorMessage());
			add(P_NODEDEV_REATTACH, t - t0);
		}
#endif
		if (vfio_driver(io, vf, drv, sizeof(drv)) || strcmp(drv, "vfio-pci"))
			if ((r = vfio_bind(io, vf, "vfio-pci")) || (r = vfio_wait_node(io, group, 5000)))
				return die("bind vfio-pci", r, vfio_errmsg(io));
		if (rounds % 20 == 19) {
			printf("round %d, %.0f s\n", rounds + 1, (now_us() - start) / 1e6);
			fflush(stdout);
		}
	}
	{
		char path[1024];
		FILE *f;

		snprintf(path, sizeof(path), "%s/samples.csv", out);
		f = fopen(path, "w");
		if (!f)
			return die(path, errno, NULL);
		fprintf(f, "path,rep,us\n");
		for (int p = 0; p < P_N; p++)
			for (int i = 0; i < S[p].n; i++)
				fprintf(f, "%s,%d,%.1f\n", pname[p], i, S[p].v[i]);
		fclose(f);
	}
	summary(out, "summary.csv", rounds, reps, (now_us() - start) / 1e6);
	ratios(out);
#if VFAGENT_LIBVIRT
	if (ndev)
		virNodeDeviceFree(ndev);
	if (lv)
		virConnectClose(lv);
#endif
	vfa_state_close(vst);
	vfio_ctx_free(io);
	vfnl_close(nl);
	return 0;
}

struct rec {
	char pci[16];
	double t0, t1, t2, t3;	/* alloc start/end, release start/end */
	int client, rc, rel_rc;
};

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = strcmp(x->pci, y->pci);

	return c ? c : x->t1 < y->t1 ? -1 : x->t1 > y->t1;
}

static int cmd_churn(int argc, char **argv)
{
	const char *out;
	int clients, secs, doubles = 0, failed = 0, rel_failed = 0, exhausted = 0;
	char path[1024];
	struct rec *rs = NULL;
	size_t n = 0, cap = 0;
	double end;
	FILE *f;

	if (argc != 8) {
		fprintf(stderr, "usage: alloc_bench churn CONF STATE POOL OUT CLIENTS SECONDS\n");
		return 2;
	}
	conf = argv[2], state = argv[3], pool = argv[4], out = argv[5];
	clients = atoi(argv[6]), secs = atoi(argv[7]);
	snprintf(path, sizeof(path), "%s/churn-stderr.txt", out);
	spawn_err = strdup(path);	/* vfagent's own words on any failure */
	end = now_us() + secs * 1e6;
	for (int c = 0; c < clients; c++) {
		pid_t pid = fork();

		if (pid < 0)
			return die("fork", errno, NULL);
		if (pid == 0) {
			snprintf(path, sizeof(path), "%s/churn-%d.tmp", out, c);
			f = fopen(path, "w");
			if (!f)
				_exit(1);
			while (now_us() < end) {
				struct rec x = { .client = c };

				x.t0 = now_us();
				x.rc = cli_alloc(x.pci);
				x.t1 = now_us();
				if (!x.rc) {
					x.t2 = now_us();
					x.rel_rc = cli_release(x.pci);
					x.t3 = now_us();
				}
				fprintf(f, "%d,%s,%d,%d,%.1f,%.1f,%.1f,%.1f\n", c, x.pci[0] ? x.pci : "-",
					x.rc, x.rel_rc, x.t0, x.t1, x.t2, x.t3);
			}
			fclose(f);
			_exit(0);
		}
	}
	for (int c = 0; c < clients; c++)
		wait(NULL);
	for (int c = 0; c < clients; c++) {
		struct rec x;

		snprintf(path, sizeof(path), "%s/churn-%d.tmp", out, c);
		f = fopen(path, "r");
		if (!f)
			return die(path, errno, NULL);
		while (fscanf(f, "%d,%15[^,],%d,%d,%lf,%lf,%lf,%lf\n", &x.client, x.pci, &x.rc,
			      &x.rel_rc, &x.t0, &x.t1, &x.t2, &x.t3) == 8) {
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				rs = realloc(rs, cap * sizeof(*rs));
				if (!rs)
					return die("realloc", ENOMEM, NULL);
			}
			rs[n++] = x;
		}
		fclose(f);
		unlink(path);
	}
	qsort(rs, n, sizeof(*rs), cmp_rec);
	snprintf(path, sizeof(path), "%s/churn.csv", out);
	f = fopen(path, "w");
	if (!f)
		return die(path, errno, NULL);
	fprintf(f, "client,pci,alloc_rc,release_rc,alloc_start_us,alloc_end_us,release_start_us,release_end_us\n");
	{
		double held_until = 0;
		const char *cur = "";

		for (size_t i = 0; i < n; i++) {
			struct rec *x = &rs[i];

			fprintf(f, "%d,%s,%d,%d,%.1f,%.1f,%.1f,%.1f\n", x->client, x->pci, x->rc,
				x->rel_rc, x->t0, x->t1, x->t2, x->t3);
			if (x->rc == 3) {
				exhausted++;
				continue;
			}
			if (x->rc) {
				failed++;
				continue;
			}
			add(P_CLI_WARM_ALLOC, x->t1 - x->t0);
			if (x->rel_rc)
				rel_failed++;
			else
				add(P_CLI_WARM_RELEASE, x->t3 - x->t2);
			if (strcmp(cur, x->pci))
				cur = x->pci, held_until = 0;
			if (x->t1 < held_until) {
				doubles++;
				printf("DOUBLE LEASE %s: client %d got it at %.0f us while another held it until %.0f us\n",
				       x->pci, x->client, x->t1, held_until);
			}
			if (x->t2 > held_until)
				held_until = x->t2;
		}
	}
	fclose(f);
	qsort(S[P_CLI_WARM_ALLOC].v, (size_t)S[P_CLI_WARM_ALLOC].n, sizeof(double), cmp_d);
	qsort(S[P_CLI_WARM_RELEASE].v, (size_t)S[P_CLI_WARM_RELEASE].n, sizeof(double), cmp_d);
	printf("churn: %d clients, %d s: %d allocs (%.1f/s), %d exhausted, %d allocs failed, "
	       "%d releases failed, alloc p50 %.1f ms p99 %.1f ms, release p99 %.1f ms, double leases: %d\n",
	       clients, secs, S[P_CLI_WARM_ALLOC].n, S[P_CLI_WARM_ALLOC].n / (double)secs,
	       exhausted, failed, rel_failed, p50(P_CLI_WARM_ALLOC) / 1e3, p99(P_CLI_WARM_ALLOC) / 1e3,
	       p99(P_CLI_WARM_RELEASE) / 1e3, doubles);
	snprintf(path, sizeof(path), "%s/churn-summary.csv", out);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "clients,seconds,allocs,allocs_per_s,exhausted,alloc_failed,release_failed,alloc_p50_us,alloc_p99_us,release_p99_us,double_leases\n");
		fprintf(f, "%d,%d,%d,%.2f,%d,%d,%d,%.1f,%.1f,%.1f,%d\n", clients, secs,
			S[P_CLI_WARM_ALLOC].n, S[P_CLI_WARM_ALLOC].n / (double)secs, exhausted,
			failed, rel_failed, p50(P_CLI_WARM_ALLOC), p99(P_CLI_WARM_ALLOC),
			p99(P_CLI_WARM_RELEASE), doubles);
		fclose(f);
	}
	free(rs);
	return doubles || failed || rel_failed ? 1 : 0;
}

static int virsh(const char *a, const char *b, const char *c, const char *d)
{
	char *argv[] = { "/usr/bin/virsh", "-q", "-c", "qemu:///system", (char *)a,
			 (char *)b, (char *)c, (char *)d, NULL };

	return spawn(argv, NULL, 0);
}

static int cmd_domain(int argc, char **argv)
{
	const char *out, *dom, *xml;
	struct vfio_ctx *io = NULL;
	char pci[16] = "", drv[64];
	int reps, r, rounds, group = -1;
	double t0, t, start;

	if (argc != 9) {
		fprintf(stderr, "usage: alloc_bench domain CONF STATE POOL OUT REPS DOMAIN HOSTDEV_XML\n");
		return 2;
	}
	conf = argv[2], state = argv[3], pool = argv[4], out = argv[5];
	reps = atoi(argv[6]), dom = argv[7], xml = argv[8];
	if ((r = vfio_ctx_new(NULL, NULL, &io)))
		return die("vfio", r, NULL);
	virsh("destroy", dom, NULL, NULL);
	start = now_us();
	for (rounds = 0; rounds < reps; rounds++) {
		char *aargv[] = { vfagent, "-c", (char *)conf, "-s", (char *)state, "--json",
				  "alloc", "--pool", (char *)pool, "--domain", (char *)dom,
				  "--live", "--direct", NULL };
		char buf[8192];
		json_object *j, *p;

		if ((r = virsh("start", dom, NULL, NULL)))
			return die("virsh start", EIO, dom);
		t0 = now_us();
		r = spawn(aargv, buf, sizeof(buf));
		t = now_us();
		if (r)
			return die("vfagent alloc --domain", r < 0 ? r : EIO, "failed");
		add(P_DOM_VFAGENT, t - t0);
		j = json_tokener_parse(buf);
		if (j && json_object_object_get_ex(j, "pci", &p))
			snprintf(pci, sizeof(pci), "%s", json_object_get_string(p));
		json_object_put(j);
		virsh("destroy", dom, NULL, NULL);
		{
			char *rargv[] = { vfagent, "-c", (char *)conf, "-s", (char *)state,
					  "release", "--domain", (char *)dom, "--direct", NULL };

			if ((r = spawn(rargv, NULL, 0)))
				return die("vfagent release --domain", r < 0 ? r : EIO, "failed");
		}

		if ((r = virsh("start", dom, NULL, NULL)))
			return die("virsh start", EIO, dom);
		t0 = now_us();
		r = virsh("attach-device", dom, xml, "--live");
		t = now_us();
		if (r)
			return die("virsh attach-device", r < 0 ? r : EIO, xml);
		add(P_DOM_VIRSH, t - t0);
		virsh("destroy", dom, NULL, NULL);
		/* managed='yes' gave the VF back to the host on destroy; with
		 * autoprobe off it has no driver now: back to the pool, untimed. */
		if (pci[0] && (vfio_driver(io, pci, drv, sizeof(drv)) || strcmp(drv, "vfio-pci"))) {
			if ((r = vfio_bind(io, pci, "vfio-pci")) || (r = vfio_group(io, pci, &group)) ||
			    (r = vfio_wait_node(io, group, 5000)))
				return die("bind vfio-pci", r, vfio_errmsg(io));
		}
	}
	{
		char path[1024];
		FILE *f;

		snprintf(path, sizeof(path), "%s/samples.csv", out);
		f = fopen(path, "a");
		if (!f)
			return die(path, errno, NULL);
		for (int q = P_DOM_VFAGENT; q <= P_DOM_VIRSH; q++)
			for (int i = 0; i < S[q].n; i++)
				fprintf(f, "%s,%d,%.1f\n", pname[q], i, S[q].v[i]);
		fclose(f);
	}
	summary(out, "domain-summary.csv", rounds, reps, (now_us() - start) / 1e6);
	if (S[P_DOM_VFAGENT].n && S[P_DOM_VIRSH].n)
		printf("  %-44s p50 %8.2fx   p99 %8.2fx\n", "virsh_managed / vfagent --domain",
		       p50(P_DOM_VIRSH) / p50(P_DOM_VFAGENT), p99(P_DOM_VIRSH) / p99(P_DOM_VFAGENT));
	vfio_ctx_free(io);
	return 0;
}

#if VFAGENT_LIBVIRT
/* p50/p99 (us) of PATH from a summary CSV written earlier in this run. */
static int summary_get(const char *file, const char *path, double *ret50, double *ret99)
{
	char line[256];
	size_t l = strlen(path);
	FILE *f = fopen(file, "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		double p90, mx;
		int n;

		if (!strncmp(line, path, l) && line[l] == ',' &&
		    sscanf(line + l + 1, "%d,%lf,%lf,%lf,%lf", &n, ret50, &p90, ret99, &mx) == 5)
			found = 1;
	}
	fclose(f);
	return found;
}

static void np_ratio(FILE *f, const char *what, double a50, double a99, int b)
{
	printf("  %-44s p50 %8.2fx   p99 %8.2fx\n", what, p50(b) / a50, p99(b) / a99);
	if (f)
		fprintf(f, "%s,%.3f,%.3f\n", what, p50(b) / a50, p99(b) / a99);
}

/* Every VF of PF back on vfio-pci with its node present (libvirt's managed
 * re-attach on destroy leaves the one it used on no driver or igbvf). */
static int vfs_to_vfio(struct vfio_ctx *io, const char *pf)
{
	for (int i = 0; i < 64; i++) {
		char link[256], tgt[256], drv[64];
		const char *pci;
		ssize_t n;
		int r, group;

		snprintf(link, sizeof(link), "/sys/class/net/%s/device/virtfn%d", pf, i);
		n = readlink(link, tgt, sizeof(tgt) - 1);
		if (n < 0)
			break;
		tgt[n] = 0;
		pci = strrchr(tgt, '/') ? strrchr(tgt, '/') + 1 : tgt;
		if (!vfio_driver(io, pci, drv, sizeof(drv)) && !strcmp(drv, "vfio-pci"))
			continue;
		if ((r = vfio_bind(io, pci, "vfio-pci")) || (r = vfio_group(io, pci, &group)) ||
		    (r = vfio_wait_node(io, group, 5000)))
			return die("bind vfio-pci", r, vfio_errmsg(io));
	}
	return 0;
}

/* libvirt's default handler prints every error on stderr, including the
 * expected "no network" of net_drop; the bench prints its own. */
static void quiet(void *u, virErrorPtr err)
{
	(void)u, (void)err;
}

static void net_drop(virConnectPtr lv, const char *name)
{
	virNetworkPtr n = virNetworkLookupByName(lv, name);

	if (!n)
		return;
	if (virNetworkIsActive(n) == 1)
		virNetworkDestroy(n);
	virNetworkUndefine(n);
	virNetworkFree(n);
}

/* One request over the netpool mode's open daemon connection: "op" and
 * "pool" or "pci" or "domain" (with "live" for an alloc).  Returns the
 * reply's exit code or -errno; ret_pci (may be NULL) gets an ok alloc's VF,
 * ret_errno the reply's errno name ("" if none). */
static int np_call(struct vfa_client *c, const char *op, const char *key, const char *val,
		   const char *domain, char ret_pci[16], char ret_errno[32])
{
	json_object *q = json_object_new_object(), *rep = NULL, *x, *res;
	int r;

	if (!q)
		return -ENOMEM;
	json_object_object_add(q, "op", json_object_new_string(op));
	json_object_object_add(q, key, json_object_new_string(val));
	if (domain) {
		json_object_object_add(q, "domain", json_object_new_string(domain));
		if (!strcmp(op, "alloc"))
			json_object_object_add(q, "live", json_object_new_boolean(1));
	}
	r = vfa_client_request(c, q, 120000, &rep);
	json_object_put(q);
	if (r)
		return r;
	r = json_object_object_get_ex(rep, "exit", &x) ? json_object_get_int(x) : -EBADMSG;
	ret_errno[0] = 0;
	if (json_object_object_get_ex(rep, "errno", &x))
		snprintf(ret_errno, 32, "%s", json_object_get_string(x));
	/* A release --domain after the daemon's own release on the stop
	 * event is expected (ENOENT): not worth a line. */
	if (r && strcmp(ret_errno, "ENOENT") && json_object_object_get_ex(rep, "error", &x))
		fprintf(stderr, "alloc_bench: daemon %s: %s\n", op, json_object_get_string(x));
	if (!r && ret_pci && json_object_object_get_ex(rep, "result", &res) &&
	    json_object_object_get_ex(res, "pci", &x))
		snprintf(ret_pci, 16, "%s", json_object_get_string(x));
	json_object_put(rep);
	return r;
}
#endif

static int cmd_netpool(int argc, char **argv)
{
	const char *out, *dom_name, *pf;
	int reps;

	if (argc != 9) {
		fprintf(stderr, "usage: alloc_bench netpool CONF STATE POOL OUT REPS DOMAIN PF\n");
		return 2;
	}
	conf = argv[2], state = argv[3], pool = argv[4], out = argv[5];
	reps = atoi(argv[6]), dom_name = argv[7], pf = argv[8];
#if !VFAGENT_LIBVIRT
	(void)out, (void)dom_name, (void)pf, (void)reps;
	printf("SKIP netpool: built with LIBVIRT=0\n");
	return 0;
#else
	static const char *iface = "<interface type='network'><source network='vfpool'/></interface>";
	struct vfio_ctx *io = NULL;
	struct vfa_client *cl = NULL;
	virConnectPtr lv;
	virDomainPtr dom;
	virNetworkPtr net;
	char xml[512], path[1024], errf[1024], pci[16], en[32];
	double t0, t, start, a50, a99;
	int r, rounds, rc = 0;
	FILE *f;

	snprintf(errf, sizeof(errf), "%s/netpool-error.txt", out);
	unlink(errf);
	if ((r = vfio_ctx_new(NULL, NULL, &io)))
		return die("vfio", r, NULL);
	virSetErrorFunc(NULL, quiet);
	lv = virConnectOpen("qemu:///system");
	if (!lv) {
		printf("SKIP netpool: no libvirt connection: %s\n", virGetLastErrorMessage());
		return 1;
	}
	dom = virDomainLookupByName(lv, dom_name);
	if (!dom) {
		printf("SKIP netpool: domain %s: %s\n", dom_name, virGetLastErrorMessage());
		return 1;
	}
	if (virDomainIsActive(dom) == 1)
		virDomainDestroy(dom);
	net_drop(lv, "vfpool");
	snprintf(xml, sizeof(xml),
		 "<network><name>vfpool</name><forward mode='hostdev' managed='yes'>"
		 "<pf dev='%s'/></forward></network>", pf);
	net = virNetworkDefineXML(lv, xml);
	if (!net || virNetworkCreate(net) < 0) {
		const char *m = virGetLastErrorMessage();

		printf("FAIL netpool: network vfpool: %s\n", m);
		if ((f = fopen(errf, "w")))
			fprintf(f, "virNetworkDefineXML/virNetworkCreate: %s\n", m), fclose(f);
		rc = 1;
		goto done;
	}
	printf("\nnetwork vfpool: %s\n", xml);
	/* vfagent as an orchestrator would use it: the daemon up, one
	 * connection open for the whole mode, as libvirt's is above. */
	snprintf(daemon_log, sizeof(daemon_log), "%s/daemon-netpool.log", bench_log_dir(out));
	if ((r = daemon_start())) {
		rc = die("vfagent serve", r, daemon_log);
		goto done;
	}
	if ((r = vfa_client_connect(dmn.sock, 0, &cl))) {
		rc = die(dmn.sock, r, cl ? vfa_client_error(cl) : NULL);
		goto done;
	}
	start = now_us();
	for (rounds = 0; rounds < reps; rounds++) {
		/* vfagent's way, on the same freshly started domain. */
		if (virDomainCreate(dom) < 0) {
			rc = die("virDomainCreate", EIO, virGetLastErrorMessage());
			break;
		}
		t0 = now_us();
		r = np_call(cl, "alloc", "pool", pool, dom_name, NULL, en);
		t = now_us();
		if (r) {
			rc = die("daemon alloc --domain", r < 0 ? r : EIO, vfa_client_error(cl));
			break;
		}
		add(P_NP_VFAGENT, t - t0);
		virDomainDestroy(dom);
		/* The daemon may have released it already on the domain's
		 * stop event: "no lease matches" (ENOENT) is fine then. */
		r = np_call(cl, "release", "domain", dom_name, NULL, NULL, en);
		if (r && strcmp(en, "ENOENT")) {
			rc = die("daemon release --domain", r < 0 ? r : EIO, en);
			break;
		}

		/* vfagent's own share: the same alloc without the attach. */
		t0 = now_us();
		r = np_call(cl, "alloc", "pool", pool, NULL, pci, en);
		t = now_us();
		if (r || (r = np_call(cl, "release", "pci", pci, NULL, NULL, en))) {
			rc = die("daemon alloc/release", r < 0 ? r : EIO, en);
			break;
		}
		add(P_NP_DAEMON_ALLOC, t - t0);

		/* A worker's round trip without the attach: release --domain
		 * of the domain, which holds no lease now (ENOENT). */
		t0 = now_us();
		r = np_call(cl, "release", "domain", dom_name, NULL, NULL, en);
		t = now_us();
		if (r && strcmp(en, "ENOENT")) {
			rc = die("daemon release --domain (no lease)", r < 0 ? r : EIO, en);
			break;
		}
		add(P_NP_JOB, t - t0);

		/* What a fresh libvirt connection costs (the daemon's attach
		 * worker opens one per request). */
		t0 = now_us();
		{
			virConnectPtr c2 = virConnectOpen("qemu:///system");

			if (c2)
				virConnectClose(c2);
			t = now_us();
			if (!c2) {
				rc = die("virConnectOpen", EIO, virGetLastErrorMessage());
				break;
			}
		}
		add(P_NP_LV_CONNECT, t - t0);

		/* libvirt's network pool: vfagent holds no lease now. */
		if (virDomainCreate(dom) < 0) {
			rc = die("virDomainCreate", EIO, virGetLastErrorMessage());
			break;
		}
		t0 = now_us();
		r = virDomainAttachDeviceFlags(dom, iface, VIR_DOMAIN_AFFECT_LIVE);
		t = now_us();
		if (r < 0) {
			const char *m = virGetLastErrorMessage();

			printf("FAIL netpool: virDomainAttachDeviceFlags(%s): %s\n", iface, m);
			if ((f = fopen(errf, "w")))
				fprintf(f, "virDomainAttachDeviceFlags: %s\n", m), fclose(f);
			virDomainDestroy(dom);
			rc = 1;
			break;
		}
		add(P_NP_ATTACH, t - t0);
		if (rounds == 0) {
			char *x = virDomainGetXMLDesc(dom, 0);
			char *i = x ? strstr(x, "<interface") : NULL;
			char *e = i ? strstr(i, "</interface>") : NULL;

			if (e)
				printf("netpool: live XML: %.*s</interface>\n", (int)(e - i), i);
			free(x);
		}
		virDomainDestroy(dom);
		if ((rc = vfs_to_vfio(io, pf)))
			break;
	}
	if (!S[P_NP_VFAGENT].n && !S[P_NP_ATTACH].n)
		goto done;
	snprintf(path, sizeof(path), "%s/samples.csv", out);
	if ((f = fopen(path, "a"))) {
		for (int q = P_NP_VFAGENT; q <= P_NP_JOB; q++)
			for (int i = 0; i < S[q].n; i++)
				fprintf(f, "%s,%d,%.1f\n", pname[q], i, S[q].v[i]);
		fclose(f);
	}
	summary(out, "netpool-summary.csv", rounds, reps, (now_us() - start) / 1e6);
	if (S[P_NP_VFAGENT].n && S[P_NP_ATTACH].n) {
		snprintf(path, sizeof(path), "%s/ratios.csv", out);
		f = fopen(path, "a");
		np_ratio(f, "netpool / daemon alloc --domain (interleaved)", p50(P_NP_VFAGENT),
			 p99(P_NP_VFAGENT), P_NP_ATTACH);
		if (S[P_NP_DAEMON_ALLOC].n) {
			printf("  %-44s p50 %8.1f%%  p99 %8.1f%%\n", "vfagent's share (daemon_alloc / domain_daemon)",
			       100 * p50(P_NP_DAEMON_ALLOC) / p50(P_NP_VFAGENT),
			       100 * p99(P_NP_DAEMON_ALLOC) / p99(P_NP_VFAGENT));
			if (f)
				fprintf(f, "daemon_alloc_np / domain_daemon_np (share),%.3f,%.3f\n",
					p50(P_NP_DAEMON_ALLOC) / p50(P_NP_VFAGENT),
					p99(P_NP_DAEMON_ALLOC) / p99(P_NP_VFAGENT));
		}
		snprintf(path, sizeof(path), "%s/domain-summary.csv", out);
		if (summary_get(path, "domain_vfagent", &a50, &a99))
			np_ratio(f, "netpool / domain_vfagent (domain mode)", a50, a99, P_NP_ATTACH);
		if (summary_get(path, "domain_virsh_managed", &a50, &a99))
			np_ratio(f, "netpool / virsh_managed (domain mode)", a50, a99, P_NP_ATTACH);
		if (f)
			fclose(f);
	}
done:
	vfa_client_close(cl);
	daemon_stop();
	net_drop(lv, "vfpool");
	virDomainFree(dom);
	virConnectClose(lv);
	vfio_ctx_free(io);
	return rc;
#endif
}

int main(int argc, char **argv)
{
	char cwd[400];

	if (!getcwd(cwd, sizeof(cwd)))
		return die("getcwd", errno, NULL);
	/* $VFAGENT: another build (old against new in one boot). */
	if (getenv("VFAGENT") && *getenv("VFAGENT"))
		snprintf(vfagent, sizeof(vfagent), "%s", getenv("VFAGENT"));
	else
		snprintf(vfagent, sizeof(vfagent), "%s/vfagent", cwd);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "run"))
		return cmd_run(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "churn"))
		return cmd_churn(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "domain"))
		return cmd_domain(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "netpool"))
		return cmd_netpool(argc, argv);
	fprintf(stderr, "usage: alloc_bench run CONF STATE POOL PF OUT REPS BUDGET_S\n"
			"       alloc_bench churn CONF STATE POOL OUT CLIENTS SECONDS\n"
			"       alloc_bench domain CONF STATE POOL OUT REPS DOMAIN HOSTDEV_XML\n"
			"       alloc_bench netpool CONF STATE POOL OUT REPS DOMAIN PF\n");
	return 2;
}
