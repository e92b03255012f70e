/* serve_bench: the daemon measured as its users call it, over persistent
 * connections through the client library (agent/vfagent-client.h). Run by
 * bench/lab.sh inside the `make bench` boot; root; see bench/README.md.
 *
 *   bench/serve_bench cycles VFAGENT CONF STATE POOL OUT SECONDS CLIENTS...
 *   bench/serve_bench hol VFAGENT CONF STATE POOL OUT REPS N DOMAIN
 *   bench/serve_bench soak VFAGENT CONF STATE POOL OUT COUNT WARMUP [TAG]
 *
 * Each mode starts `VFAGENT -c CONF -s STATE serve` itself (its stderr:
 * OUT/serve-MODE.log), waits until it answers, and stops it with SIGTERM at
 * the end. The pool must be set up with nothing leased.
 *
 * cycles: for each client count, that many forked processes, each with its
 * own connection, loop alloc + release for SECONDS. An "exhausted" reply
 * (exit 3) is counted and retried. Every cycle's VF and four
 * CLOCK_MONOTONIC stamps are kept; a double lease is counted when an alloc
 * of a VF returned before the release of an earlier alloc of the same VF
 * was sent (both spans lie inside the true lease spans, so every count is a
 * real overlap). Writes OUT/cycles-summary.csv and OUT/cycles.csv.
 *
 * hol: client B times N alloc + release with nothing else going on (warm),
 * then, REPS times: DOMAIN started (virsh, untimed), B times N cycles again
 * (l2up: the same CPU load from the running guest, no detach), A allocs with
 * the VF hot-attached to it (--live), sends the release without waiting
 * (the OS-less guest never acks the unplug: the detach stays pending), and
 * once the journal shows the release under way, B times up to N alloc +
 * release again while that reply is outstanding (pending; A's connection
 * is polled after each cycle and B stops at A's reply, so every pending
 * sample completed inside the window; each rep prints how many did);
 * then A's reply is read, DOMAIN destroyed and A's lease waited out.
 * Writes OUT/hol-summary.csv.
 *
 * soak: one connection, WARMUP alloc + release cycles, then the daemon's fd
 * count, VmRSS, VmHWM and RssAnon (/proc/PID), COUNT cycles, the same again
 * (and at every tenth of COUNT: OUT/soak-rss[-TAG].csv); then SIGTERM and
 * the daemon's exit status. With BENCH_MEMPROBE naming bench/memprobe.so,
 * it is preloaded into the daemon only and each sample adds the heap the
 * daemon holds and the heap mapped (bench/preload/memprobe.c), and under
 * a sanitizer LeakSanitizer's recoverable check runs at half-way and at the
 * end (BENCH_MEMPROFILE=1: ASan's heap profile too). bench/lab.sh runs it
 * on the plain build (TAG plain) and on the sanitizer build (points
 * ASAN_OPTIONS' log_path into OUT/asan/; OUT/asan/ is listed after the
 * daemon exits). Writes OUT/soak[-TAG].csv.
 *
 * A benchmark: no pass/fail on timings; exit 1 only if an operation failed,
 * a double lease was seen or the sanitizer wrote a report. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "agent/vfagent-client.h"

#include "bench/bench.h"
#include "bench/bench_daemon.h"
#include "bench/bench_client.h"

extern char **environ;

#define EXIT_EXHAUSTED 3	/* the daemon's "pool exhausted" (PROTOCOL.md) */
#define EXIT_PENDING 4		/* "detach pending in the guest" */
#define TIMEOUT_MS 60000	/* a reply, at the most */

static const char *bin, *conf, *state, *pool, *out;
static struct bench_daemon dmn = { .pid = -1 };

/* Nearest-rank percentile (q in 0..1) of v[0..n), sorting v. */
static double pct_sort(double *v, int n, double q)
{
	qsort(v, (size_t)(n > 0 ? n : 0), sizeof(*v), cmp_d);
	return pct(v, n, q);
}

/* ---- the daemon ---- */

static int spawn_wait(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r, st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return -r;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* alloc from the pool (attached to domain, live, when domain is set) and
 * release, as bench/bench_client.h sends them, within TIMEOUT_MS. */
static int do_alloc(struct vfa_client *c, const char *domain, char pci[16])
{
	return bench_alloc(c, pool, domain, TIMEOUT_MS, pci);
}

static int do_release(struct vfa_client *c, const char *pci)
{
	return bench_release(c, pci, TIMEOUT_MS);
}

/* Leases held in the pool now (status), -errno on failure. */
static int leased(struct vfa_client *c)
{
	json_object *rep = NULL, *res, *pools, *l;
	int r = bench_call(c, bench_req("status", NULL, NULL), TIMEOUT_MS, &rep), n = -EBADMSG;

	if (r)
		return r < 0 ? r : -EIO;
	if (json_object_object_get_ex(rep, "result", &res) &&
	    json_object_object_get_ex(res, "pools", &pools) &&
	    json_object_array_length(pools) > 0 &&
	    json_object_object_get_ex(json_object_array_get_idx(pools, 0), "leased", &l))
		n = json_object_get_int(l);
	json_object_put(rep);
	return n;
}

/* Starts the daemon (its log: serve-MODE.log); *ret is a connection to
 * it that status answered on. */
static int daemon_start(const char *mode, struct vfa_client **ret)
{
	char log[1024];

	snprintf(log, sizeof(log), "%s/serve-%s.log", bench_log_dir(out), mode);
	return bench_daemon_start(&dmn, bin, conf, state, log, TIMEOUT_MS, ret);
}

static int die(const char *what, int r)
{
	fprintf(stderr, "serve_bench: %s: %s (daemon log in %s)\n", what,
		r < 0 ? strerror(-r) : "the daemon replied with an error", out);
	bench_daemon_stop(&dmn, NULL);
	return 1;
}

static FILE *out_file(const char *name, const char *mode)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", out, name);
	f = fopen(p, mode);
	if (!f)
		fprintf(stderr, "serve_bench: %s: %s\n", p, strerror(errno));
	return f;
}

/* ---- cycles ---- */

struct rec {
	char pci[16];
	double t0, t1, t2, t3;	/* alloc sent, alloc replied, release sent, replied */
	int client;
};

struct slot {			/* one child's share of the shared map */
	int n, exhausted, alloc_fail, release_fail, conn_fail;
	struct rec r[];
};

static size_t slot_size(int max)
{
	return sizeof(struct slot) + (size_t)max * sizeof(struct rec);
}

static void cycle_child(struct slot *s, int id, int max, double t_start, double t_end)
{
	struct vfa_client *c = NULL;

	if (vfa_client_connect(dmn.sock, 0, &c)) {
		s->conn_fail = 1;
		_exit(1);
	}
	while (now_us() < t_start)
		usleep(200);
	while (s->n < max && now_us() < t_end) {
		struct rec *r = &s->r[s->n];
		int e;

		r->client = id;
		r->t0 = now_us();
		e = do_alloc(c, NULL, r->pci);
		r->t1 = now_us();
		if (e == EXIT_EXHAUSTED) {
			s->exhausted++;
			continue;
		}
		if (e) {
			if (++s->alloc_fail > 100)
				break;
			continue;
		}
		r->t2 = now_us();
		e = do_release(c, r->pci);
		r->t3 = now_us();
		if (e)
			s->release_fail++;
		s->n++;
	}
	vfa_client_close(c);
	_exit(0);
}

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int k = strcmp(x->pci, y->pci);

	return k ? k : x->t1 < y->t1 ? -1 : x->t1 > y->t1;
}

/* Allocs of a VF that returned before an earlier lease of it was released. */
static int double_leases(struct rec *all, int n)
{
	int bad = 0;
	double hold = 0;

	qsort(all, (size_t)n, sizeof(*all), cmp_rec);
	for (int i = 0; i < n; i++) {
		if (i && !strcmp(all[i].pci, all[i - 1].pci) && all[i].t1 < hold)
			bad++;
		if (!i || strcmp(all[i].pci, all[i - 1].pci) || all[i].t2 > hold)
			hold = all[i].t2;
	}
	return bad;
}

struct cyc_sum {
	int cycles, exhausted, alloc_fail, release_fail, conn_fail, doubles;
	double secs, a50, a99, r50, r99;
};

static void cyc_stats(struct rec *all, int n, double t_start, struct cyc_sum *m)
{
	double *a = malloc(sizeof(double) * (size_t)(n ? n : 1));
	double *rl = malloc(sizeof(double) * (size_t)(n ? n : 1));
	double end = t_start;

	if (!a || !rl) {
		perror("malloc");
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		a[i] = all[i].t1 - all[i].t0;
		rl[i] = all[i].t3 - all[i].t2;
		if (all[i].t3 > end)
			end = all[i].t3;
	}
	m->cycles = n;
	m->secs = (end - t_start) / 1e6;
	m->a50 = pct_sort(a, n, 0.50) / 1e3, m->a99 = pct_sort(a, n, 0.99) / 1e3;
	m->r50 = pct_sort(rl, n, 0.50) / 1e3, m->r99 = pct_sort(rl, n, 0.99) / 1e3;
	m->doubles = double_leases(all, n);
	free(a);
	free(rl);
}

/* One client count: fork, run, gather. */
static int cycles_run(int clients, double secs, FILE *csv, struct cyc_sum *m)
{
	int max = (int)(secs * 5000) + 1000;
	size_t ss = slot_size(max);
	char *map = mmap(NULL, ss * (size_t)clients, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double t_start = now_us() + 300e3, t_end = t_start + secs * 1e6;
	struct rec *all;
	int n = 0, st, bad = 0;

	if (map == MAP_FAILED)
		return -errno;
	memset(m, 0, sizeof(*m));
	fflush(NULL);
	for (int i = 0; i < clients; i++) {
		pid_t p = fork();

		if (p < 0)
			return -errno;
		if (!p)
			cycle_child((struct slot *)(map + ss * (size_t)i), i, max, t_start, t_end);
	}
	for (int left = clients; left > 0;) {
		if (wait(&st) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		left--;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	for (int i = 0; i < clients; i++)
		n += ((struct slot *)(map + ss * (size_t)i))->n;
	all = malloc(sizeof(*all) * (size_t)(n ? n : 1));
	if (!all)
		return -ENOMEM;
	n = 0;
	for (int i = 0; i < clients; i++) {
		struct slot *s = (struct slot *)(map + ss * (size_t)i);

		memcpy(all + n, s->r, sizeof(*all) * (size_t)s->n);
		n += s->n;
		m->exhausted += s->exhausted, m->alloc_fail += s->alloc_fail;
		m->release_fail += s->release_fail, m->conn_fail += s->conn_fail;
	}
	m->conn_fail += bad;
	for (int i = 0; csv && i < n; i++)
		fprintf(csv, "%d,%d,%s,%.1f,%.1f,%.1f,%.1f\n", clients, all[i].client, all[i].pci,
			all[i].t0 - t_start, all[i].t1 - t_start, all[i].t2 - t_start, all[i].t3 - t_start);
	cyc_stats(all, n, t_start, m);
	free(all);
	munmap(map, ss * (size_t)clients);
	return 0;
}

static int cmd_cycles(int argc, char **argv)
{
	struct vfa_client *c = NULL;
	FILE *csv, *sum;
	double secs;
	int r, rc = 0;

	if (argc < 2)
		return 2;
	secs = atof(argv[0]);
	if ((r = daemon_start("cycles", &c)))
		return die("vfagent serve", r);
	csv = out_file("cycles.csv", "w");
	sum = out_file("cycles-summary.csv", "w");
	if (!csv || !sum)
		return die("results", -EIO);
	fprintf(csv, "clients,client,pci,alloc_sent_us,alloc_replied_us,release_sent_us,release_replied_us\n");
	fprintf(sum, "clients,seconds,cycles,cycles_per_s,exhausted,alloc_failed,release_failed,conn_failed,alloc_p50_ms,alloc_p99_ms,release_p50_ms,release_p99_ms,double_leases\n");
	printf("\ncycles through the daemon: alloc + release per client process, own persistent connection each, %.0f s per count\n", secs);
	printf("clients   cycles  cycles/s  exhausted  failed  alloc p50 ms  alloc p99 ms  release p50 ms  double leases\n");
	for (int i = 1; i < argc; i++) {
		struct cyc_sum m;
		int n = atoi(argv[i]);

		if (n < 1 || (r = cycles_run(n, secs, csv, &m)))
			return die("cycles", n < 1 ? -EINVAL : r);
		fprintf(sum, "%d,%.3f,%d,%.1f,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%d\n", n, m.secs, m.cycles,
			m.secs > 0 ? m.cycles / m.secs : 0, m.exhausted, m.alloc_fail, m.release_fail,
			m.conn_fail, m.a50, m.a99, m.r50, m.r99, m.doubles);
		printf("%7d %8d %9.1f %10d %7d %13.3f %13.3f %15.3f %14d\n", n, m.cycles,
		       m.secs > 0 ? m.cycles / m.secs : 0, m.exhausted,
		       m.alloc_fail + m.release_fail + m.conn_fail, m.a50, m.a99, m.r50, m.doubles);
		fflush(stdout);
		if (m.alloc_fail || m.release_fail || m.conn_fail || m.doubles)
			rc = 1;
		if ((r = leased(c)) != 0) {
			fprintf(stderr, "serve_bench: after %d clients %d leases are left\n", n, r);
			rc = 1;
		}
	}
	fclose(csv);
	fclose(sum);
	vfa_client_close(c);
	bench_daemon_stop(&dmn, NULL);
	return rc;
}

/* ---- hol ---- */

/* n timed alloc + release on c; alloc times (us) into a[], release into rl[].
 * If pend is set, after each cycle polls it (without waiting) for the reply
 * it owes and stops once that came: only cycles that completed inside the
 * pending window are kept. *ret_at: the cycles done (n, or fewer if the
 * reply came first). */
static int hol_loop(struct vfa_client *c, int n, double *a, double *rl,
		    struct vfa_client *pend, int *pend_exit, int *ret_at)
{
	char pci[16];
	int at = n;

	for (int i = 0; i < n; i++) {
		double t0 = now_us(), t1;
		int r = do_alloc(c, NULL, pci);

		t1 = now_us();
		if (r)
			return r < 0 ? r : -EIO;
		r = do_release(c, pci);
		if (r)
			return r < 0 ? r : -EIO;
		a[i] = t1 - t0, rl[i] = now_us() - t1;
		if (pend) {
			json_object *rep = NULL, *x;

			if (vfa_client_recv(pend, 1, &rep) == 0) {
				at = i + 1;
				*pend_exit = json_object_object_get_ex(rep, "exit", &x) ?
					     json_object_get_int(x) : -EBADMSG;
				json_object_put(rep);
				break;
			}
		}
	}
	if (ret_at)
		*ret_at = at;
	return 0;
}

/* True once the journal (STATE/journal, agent/journal.c: one record a
 * line, the last record of a VF wins) says VF pci is being released: its
 * "releasing" record is written before the detach starts. (This read
 * STATE/leases/<pci>.json, which the journal replaced: never true, so B
 * started 5 s late, when libvirt's detach was about to give up.) */
static bool releasing(const char *pci)
{
	char p[600], key[64], drop[64], *line = NULL;
	size_t cap = 0;
	bool yes = false;
	FILE *f;

	snprintf(p, sizeof(p), "%s/journal", state);
	snprintf(key, sizeof(key), "\"pci\":\"%s\"", pci);
	snprintf(drop, sizeof(drop), "{\"drop\":\"%s\"}", pci);
	f = fopen(p, "r");
	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		if (strstr(line, drop))
			yes = false;
		else if (strstr(line, key))
			yes = strstr(line, "\"state\":\"releasing\"") ||
			      strstr(line, "\"state\":\"detaching\"");
	}
	free(line);
	fclose(f);
	return yes;
}

/* One rep: attach with A, release it without waiting, time B meanwhile.
 * *ret_at: B's cycles done before A's reply; *ret_seen_ms: when the
 * release was seen journaled (-1: never, B started after 5 s);
 * *ret_reply_ms: A's reply, from its send. */
static int hol_rep(struct vfa_client *a, struct vfa_client *b, const char *dom, int n,
		   double *il, double *irl, double *al, double *rl, int *ret_at, int *ret_exit,
		   double *ret_seen_ms, double *ret_reply_ms)
{
	json_object *q;
	char pci[16];
	int r, pend_exit = -1, at;
	double t0;

	spawn_wait((char *[]){ "virsh", "-q", "destroy", (char *)dom, NULL });
	if ((r = spawn_wait((char *[]){ "virsh", "-q", "start", (char *)dom, NULL })))
		return r < 0 ? r : -EIO;
	if ((r = hol_loop(b, n, il, irl, NULL, NULL, NULL)))
		return r;
	if ((r = do_alloc(a, dom, pci)))
		return r < 0 ? r : -EIO;
	q = bench_req("release", "pci", pci);
	t0 = now_us();
	r = vfa_client_send(a, q);
	json_object_put(q);
	if (r < 0)
		return r;
	*ret_seen_ms = -1;
	for (int i = 0; i < 500; i++) {
		if (releasing(pci)) {
			*ret_seen_ms = (now_us() - t0) / 1e3;
			break;
		}
		usleep(10000);
	}
	if ((r = hol_loop(b, n, al, rl, a, &pend_exit, &at)))
		return r;
	if (at == n && pend_exit == -1) {
		json_object *rep = NULL, *x;

		if ((r = vfa_client_recv(a, 60000, &rep)))
			return r;
		pend_exit = json_object_object_get_ex(rep, "exit", &x) ? json_object_get_int(x) : -EBADMSG;
		json_object_put(rep);
	}
	*ret_reply_ms = (now_us() - t0) / 1e3;
	spawn_wait((char *[]){ "virsh", "-q", "destroy", (char *)dom, NULL });
	for (int i = 0; i < 100 && leased(b) > 0; i++)
		usleep(100000);
	if (leased(b) > 0)
		do_release(b, pci);
	*ret_at = at, *ret_exit = pend_exit;
	return pend_exit == 0 || pend_exit == EXIT_PENDING ? 0 : -EIO;
}

static int cmd_hol(int argc, char **argv)
{
	struct vfa_client *a = NULL, *b = NULL;
	int reps, n, r, k = 0;
	double *wa, *wr, *pa, *pr, *ia, *ir, wa50, pmax = 0;
	FILE *sum;

	if (argc < 3)
		return 2;
	reps = atoi(argv[0]), n = atoi(argv[1]);
	if (reps < 1 || n < 1)
		return 2;
	wa = calloc((size_t)n, sizeof(double)), wr = calloc((size_t)n, sizeof(double));
	pa = calloc((size_t)(n * reps), sizeof(double)), pr = calloc((size_t)(n * reps), sizeof(double));
	ia = calloc((size_t)(n * reps), sizeof(double)), ir = calloc((size_t)(n * reps), sizeof(double));
	if (!wa || !wr || !pa || !pr || !ia || !ir)
		return die("memory", -ENOMEM);
	if ((r = daemon_start("hol", &b)))
		return die("vfagent serve", r);
	if ((r = vfa_client_connect(dmn.sock, 0, &a)))
		return die("second connection", r);
	{
		char pci[16];

		if ((r = do_alloc(b, NULL, pci)) || (r = do_release(b, pci)))
			return die("warm-up", r);
	}
	if ((r = hol_loop(b, n, wa, wr, NULL, NULL, NULL)))
		return die("warm alloc + release", r);
	printf("\nhead-of-line: client B's alloc + release over its connection while client A's release of a VF attached to %s is pending\n", argv[2]);
	for (int i = 0; i < reps; i++) {
		double seen, reply;
		int at, ex;

		/* B's pending samples packed: only those inside the window. */
		if ((r = hol_rep(a, b, argv[2], n, ia + i * n, ir + i * n, pa + k, pr + k, &at, &ex,
				 &seen, &reply)))
			return die("hol rep", r);
		printf("rep %d: release journaled after %.0f ms; A's release replied exit %d after %.0f ms; %d of B's cycles completed before that reply%s\n",
		       i + 1, seen, ex, reply, at, at == n ? " (all: B ended first)" : "");
		k += at;
	}
	if (k == 0) {
		printf("hol: none of B's cycles completed inside a pending window\n");
		return die("hol", -EIO);
	}
	wa50 = pct_sort(wa, n, 0.5);
	for (int i = 0; i < k; i++)
		if (pa[i] > pmax)
			pmax = pa[i];
	sum = out_file("hol-summary.csv", "w");
	if (!sum)
		return die("results", -EIO);
	fprintf(sum, "path,n,p50_ms,p99_ms,max_ms\n");
	printf("path                     n      p50 ms      p99 ms      max ms\n");
	{
		struct { const char *name; double *v; int m; } p[] = {
			{ "hol_warm_alloc", wa, n }, { "hol_warm_release", wr, n },
			{ "hol_l2up_alloc", ia, n * reps }, { "hol_l2up_release", ir, n * reps },
			{ "hol_pending_alloc", pa, k }, { "hol_pending_release", pr, k },
		};

		for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
			double p50 = pct_sort(p[i].v, p[i].m, 0.5) / 1e3, p99 = pct_sort(p[i].v, p[i].m, 0.99) / 1e3;
			double mx = p[i].v[p[i].m - 1] / 1e3;

			fprintf(sum, "%s,%d,%.3f,%.3f,%.3f\n", p[i].name, p[i].m, p50, p99, mx);
			printf("%-20s %5d %11.3f %11.3f %11.3f\n", p[i].name, p[i].m, p50, p99, mx);
		}
	}
	printf("  hol_pending_alloc / hol_warm_alloc: p50 %.2fx, max %.2fx the warm p50; %d of %d pending cycles done before A's reply\n",
	       pct_sort(pa, k, 0.5) / wa50, pmax / wa50, k, n * reps);
	printf("  hol_pending_alloc / hol_l2up_alloc (same CPU load, no detach pending): p50 %.2fx\n",
	       pct_sort(pa, k, 0.5) / pct_sort(ia, n * reps, 0.5));
	fprintf(sum, "pending_over_warm_p50,%d,%.3f,,\npending_max_over_warm_p50,%d,%.3f,,\npending_over_l2up_p50,%d,%.3f,,\npending_cycles_before_reply,%d,%d,,\n",
		k, pct_sort(pa, k, 0.5) / wa50, k, pmax / wa50,
		k, pct_sort(pa, k, 0.5) / pct_sort(ia, n * reps, 0.5), n * reps, k);
	fclose(sum);
	vfa_client_close(a);
	vfa_client_close(b);
	bench_daemon_stop(&dmn, NULL);
	free(wa), free(wr), free(pa), free(pr), free(ia), free(ir);
	return 0;
}

/* ---- soak ---- */

struct proc_use {
	int fds;
	long rss_kb, hwm_kb, anon_kb;	/* VmRSS, VmHWM, RssAnon */
	long long used, heap;		/* memprobe: heap in use, in total; -1: none */
};

/* bench/memprobe.so in the daemon (BENCH_MEMPROBE=its path): its FIFO and
 * its output file, in a directory of /tmp (a FIFO on the lab's 9p results
 * share would not do). */
static char probe_dir[64] = "", probe_out[128], probe_fifo[160];

static int probe_setenv(void)
{
	const char *so = getenv("BENCH_MEMPROBE");

	if (!so || !*so)
		return 0;
	snprintf(probe_dir, sizeof(probe_dir), "/tmp/vfagent-memprobe.XXXXXX");
	if (!mkdtemp(probe_dir))
		return -errno;
	snprintf(probe_out, sizeof(probe_out), "%s/heap", probe_dir);
	snprintf(probe_fifo, sizeof(probe_fifo), "%s/heap.fifo", probe_dir);
	if (mkfifo(probe_fifo, 0600) < 0)
		return -errno;
	setenv("LD_PRELOAD", so, 1);
	setenv("VFAGENT_MEMPROBE", probe_out, 1);
	return 0;
}

static void probe_unsetenv(void)
{
	unsetenv("LD_PRELOAD");
	unsetenv("VFAGENT_MEMPROBE");
}

static void probe_cleanup(void)
{
	if (!*probe_dir)
		return;
	unlink(probe_fifo), unlink(probe_out), rmdir(probe_dir);
	*probe_dir = 0;
}

static int probe_lines(char last[256])
{
	char line[256];
	int n = 0;
	FILE *f = fopen(probe_out, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n++, snprintf(last, 256, "%s", line);
	fclose(f);
	return n;
}

/* Sends cmd to the daemon's memprobe and waits (up to 120 s) for its
 * answer line, copied to last. */
static int probe(char cmd, char last[256])
{
	int n0 = probe_lines(last), fd;

	if (!*probe_dir)
		return -ENOENT;
	if ((fd = open(probe_fifo, O_WRONLY | O_NONBLOCK)) < 0)
		return -errno;
	if (write(fd, &cmd, 1) != 1) {
		close(fd);
		return -EIO;
	}
	close(fd);
	for (int i = 0; i < 12000; i++) {
		if (probe_lines(last) > n0)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static int proc_use(pid_t pid, struct proc_use *u)
{
	char p[64], line[256];
	struct dirent *e;
	DIR *d;
	FILE *f;

	memset(u, 0, sizeof(*u));
	u->used = u->heap = -1;
	snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(p)))
		return -errno;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			u->fds++;
	closedir(d);
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	if (!(f = fopen(p, "r")))
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld", &u->rss_kb);
		sscanf(line, "VmHWM: %ld", &u->hwm_kb);
		sscanf(line, "RssAnon: %ld", &u->anon_kb);
	}
	fclose(f);
	if (*probe_dir && !probe('m', line) &&
	    sscanf(line, "%*s used=%lld heap=%lld", &u->used, &u->heap) != 2)
		u->used = u->heap = -1;
	return 0;
}

static int soak_cycles(struct vfa_client *c, int n, int *ret_fail)
{
	char pci[16];
	int fail = 0;

	for (int i = 0; i < n; i++) {
		int r = do_alloc(c, NULL, pci);

		if (r < 0)
			return r;
		if (r || do_release(c, pci))
			fail++;
	}
	*ret_fail = fail;
	return 0;
}

/* Non-empty files in OUT/asan (the sanitizer's log_path). */
static int asan_reports(void)
{
	char d[1024], p[1400];
	struct dirent *e;
	struct stat sb;
	int n = 0;
	DIR *dir;

	snprintf(d, sizeof(d), "%s/asan", out);
	if (!(dir = opendir(d)))
		return 0;
	while ((e = readdir(dir))) {
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		if (e->d_name[0] != '.' && !stat(p, &sb) && sb.st_size > 0)
			n++;
	}
	closedir(dir);
	return n;
}

static void soak_name(char *b, size_t n, const char *stem, const char *tag, const char *ext)
{
	snprintf(b, n, "%s%s%s%s", stem, *tag ? "-" : "", tag, ext);
}

/* Under a sanitizer build with the memprobe: LeakSanitizer's recoverable
 * check (unreachable blocks go to the log: a report) and, with
 * BENCH_MEMPROFILE=1, ASan's live-heap profile by stack to the same log. */
static void soak_checks(const char *when)
{
	char line[256];

	if (!*probe_dir)
		return;
	if (!probe('l', line) && strncmp(line, "leakcheck unavailable", 21))
		printf("  %s: LeakSanitizer check: %s", when, line);
	if (getenv("BENCH_MEMPROFILE") && !probe('p', line))
		printf("  %s: heap profile %s", when, line);
}

static void soak_print(const char *tag, int count, const struct proc_use *u0,
		       const struct proc_use *um, const struct proc_use *u1)
{
	printf("  %s: fds %d -> %d, VmRSS %ld -> %ld -> %ld kB (warm-up, half, end), RssAnon %ld -> %ld -> %ld kB, VmHWM %ld -> %ld kB\n",
	       *tag ? tag : "daemon", u0->fds, u1->fds, u0->rss_kb, um->rss_kb, u1->rss_kb,
	       u0->anon_kb, um->anon_kb, u1->anon_kb, u0->hwm_kb, u1->hwm_kb);
	if (u0->used < 0 || um->used < 0 || u1->used < 0)
		return;
	printf("  %s: heap in use %lld -> %lld -> %lld B (second half %+lld B, %+.2f B a cycle), heap mapped %lld -> %lld -> %lld B\n",
	       *tag ? tag : "daemon", u0->used, um->used, u1->used, u1->used - um->used,
	       (double)(u1->used - um->used) / (count - count / 2 > 0 ? count - count / 2 : 1),
	       u0->heap, um->heap, u1->heap);
}

static int cmd_soak(int argc, char **argv)
{
	struct vfa_client *c = NULL;
	struct proc_use u0, um, u1;
	int count, warm, r, f0 = 0, f1 = 0, st = 0, reports, half;
	const char *tag;
	char name[128];
	double t0, secs;
	FILE *csv, *curve;

	if (argc < 2)
		return 2;
	count = atoi(argv[0]), warm = atoi(argv[1]), tag = argc > 2 ? argv[2] : "";
	half = count / 2;
	soak_name(name, sizeof(name), "soak", tag, "");
	if ((r = probe_setenv()))
		return die("memprobe FIFO", r);
	r = daemon_start(name, &c);
	probe_unsetenv();
	if (r)
		return die("vfagent serve", r);
	if ((r = soak_cycles(c, warm, &f0)) || (r = proc_use(dmn.pid, &u0)))
		return die("soak warm-up", r);
	um = u0;
	soak_name(name, sizeof(name), "soak-rss", tag, ".csv");
	curve = out_file(name, "w");
	if (!curve)
		return die("results", -EIO);
	fprintf(curve, "cycles,fds,rss_kb,hwm_kb,anon_kb,heap_used,heap_total\n0,%d,%ld,%ld,%ld,%lld,%lld\n",
		u0.fds, u0.rss_kb, u0.hwm_kb, u0.anon_kb, u0.used, u0.heap);
	t0 = now_us();
	for (int done = 0, step = count / 10 ? count / 10 : 1; done < count; done += step) {
		int f = 0;

		if (step > count - done)
			step = count - done;
		if ((r = soak_cycles(c, step, &f)) || (r = proc_use(dmn.pid, &u1)))
			return die("soak", r);
		f1 += f;
		fprintf(curve, "%d,%d,%ld,%ld,%ld,%lld,%lld\n", done + step, u1.fds, u1.rss_kb, u1.hwm_kb,
			u1.anon_kb, u1.used, u1.heap);
		if (done < half && done + step >= half) {
			um = u1;
			soak_checks("half");
		}
	}
	secs = (now_us() - t0) / 1e6;
	fclose(curve);
	soak_checks("end");
	vfa_client_close(c);
	bench_daemon_stop(&dmn, &st);
	probe_cleanup();
	reports = asan_reports();
	soak_name(name, sizeof(name), "soak", tag, ".csv");
	csv = out_file(name, "w");
	if (!csv)
		return 1;
	fprintf(csv, "daemon,warmup,cycles,seconds,failed,fds_before,fds_after,rss_kb_before,rss_kb_after,hwm_kb_before,hwm_kb_after,exit_status,sanitizer_reports,anon_kb_before,anon_kb_after,heap_used_before,heap_used_half,heap_used_after,heap_total_before,heap_total_after\n");
	fprintf(csv, "%s,%d,%d,%.1f,%d,%d,%d,%ld,%ld,%ld,%ld,%d,%d,%ld,%ld,%lld,%lld,%lld,%lld,%lld\n", bin, warm, count, secs, f0 + f1,
		u0.fds, u1.fds, u0.rss_kb, u1.rss_kb, u0.hwm_kb, u1.hwm_kb,
		WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), reports,
		u0.anon_kb, u1.anon_kb, u0.used, um.used, u1.used, u0.heap, u1.heap);
	fclose(csv);
	printf("\nsoak%s%s: %s serve, %d alloc + release cycles over one connection after %d warm-up, %.1f s (%.1f cycles/s), %d failed\n",
	       *tag ? " " : "", tag, bin, count, warm, secs, count / secs, f0 + f1);
	soak_print(tag, count, &u0, &um, &u1);
	printf("  exit on SIGTERM %d; sanitizer reports: %d (%s/asan)\n",
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), reports, out);
	return f0 + f1 || reports || !WIFEXITED(st) || WEXITSTATUS(st) ? 1 : 0;
}

int main(int argc, char **argv)
{
	int r = 2;

	signal(SIGPIPE, SIG_IGN);
	if (argc >= 7) {
		bin = argv[2], conf = argv[3], state = argv[4], pool = argv[5], out = argv[6];
		if (!strcmp(argv[1], "cycles"))
			r = cmd_cycles(argc - 7, argv + 7);
		else if (!strcmp(argv[1], "hol"))
			r = cmd_hol(argc - 7, argv + 7);
		else if (!strcmp(argv[1], "soak"))
			r = cmd_soak(argc - 7, argv + 7);
	}
	if (r == 2)
		fprintf(stderr, "usage: serve_bench cycles VFAGENT CONF STATE POOL OUT SECONDS CLIENTS...\n"
				"       serve_bench hol VFAGENT CONF STATE POOL OUT REPS N DOMAIN\n"
				"       serve_bench soak VFAGENT CONF STATE POOL OUT COUNT WARMUP [TAG]\n");
	return r;
}
