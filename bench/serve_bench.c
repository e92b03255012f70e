/* serve_bench: the daemon measured as its users call it, over persistent
 * connections through the client library (agent/vfagent-client.h). Run by
 * bench/lab.sh inside the `make bench` boot; root; see bench/README.md.
 *
 *   bench/serve_bench cycles VFAGENT CONF STATE POOL OUT SECONDS CLIENTS...
 *   bench/serve_bench hol VFAGENT CONF STATE POOL OUT REPS N DOMAIN
 *   bench/serve_bench soak VFAGENT CONF STATE POOL OUT COUNT WARMUP [TAG]
 *   bench/serve_bench floor VFAGENT CONF STATE POOL OUT ROUNDS PF
 *
 * Each mode starts `VFAGENT -c CONF -s STATE serve` itself (its stderr:
 * OUT/serve-MODE.log), waits until it answers, and stops it with SIGTERM at
 * the end. The pool must be set up with nothing leased.
 *
 * cycles: for each client count, in the order given (a count may come
 * back: bench/lab.sh runs 1,2,4,8,8,4,2,1 twice), that many forked
 * processes, each with its own connection, loop alloc + release for
 * SECONDS; at the end, per count, the median, min and max cycles/s of its
 * slices (OUT/cycles-median.csv). An "exhausted" reply
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
 * floor: the quiet comparison, like for like. One client (this process),
 * one connection, the daemon serving and nothing else running: ROUNDS
 * rounds (after 20 untimed) of alloc, release, hello (the protocol's
 * cheapest op: the round trip alone) and one floor sample
 * (bench/bench_floor.h) on PF's last VF, which the daemon never hands out
 * to a lone client that releases before it allocs again (checked); every
 * other round runs the other way round. The daemon runs with
 * VFAGENT_LOOP_TIMES=1; after each step its log is read and the step is
 * tagged with the sweeps and publishes logged meanwhile. Writes
 * OUT/floor-summary.csv and OUT/floor-samples.csv.
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
#include "bench/bench_floor.h"
#include "nl/vfnl.h"
#include "vfio/vfio.h"

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
static int cycles_run(int clients, int slice, double secs, FILE *csv, struct cyc_sum *m)
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
		fprintf(csv, "%d,%d,%s,%.1f,%.1f,%.1f,%.1f,%d\n", clients, all[i].client, all[i].pci,
			all[i].t0 - t_start, all[i].t1 - t_start, all[i].t2 - t_start, all[i].t3 - t_start,
			slice);
	cyc_stats(all, n, t_start, m);
	free(all);
	munmap(map, ss * (size_t)clients);
	return 0;
}

/* The median of v[0..n) (the mean of the middle two when n is even),
 * sorting v; 0 if empty. */
static double median(double *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Slice i's rate over the rate of the ref-client slices around it, the
 * nearest one before and after interpolated linearly by position (the
 * drift of a machine whose speed wanders, if slow, cancels: the sweep's
 * 1,2,4,8,8,4,2,1 order is built for that); one side if only one exists;
 * 0 if none. */
static double rel_to_ref(const int *cnt, const double *rate, int slices, int ref, int i)
{
	int a = -1, b = -1;
	double r;

	for (int j = i - 1; j >= 0 && a < 0; j--)
		if (cnt[j] == ref)
			a = j;
	for (int j = i + 1; j < slices && b < 0; j++)
		if (cnt[j] == ref)
			b = j;
	if (a < 0 && b < 0)
		return 0;
	if (a < 0 || b < 0)
		r = rate[a < 0 ? b : a];
	else
		r = rate[a] + (rate[b] - rate[a]) * (i - a) / (b - a);
	return r > 0 ? rate[i] / r : 0;
}

/* Per client count, over the slices that ran it (cnt[i] clients gave
 * rate[i] cycles/s, alloc p50 a50[i] ms): median, min, max, printed and
 * into OUT/cycles-median.csv. Counts are judged on these, not on one
 * slice each. */
static void cycles_medians(const int *cnt, const double *rate, const double *a50, int slices)
{
	double *v = malloc(sizeof(double) * (size_t)(slices + 1));
	double *w = malloc(sizeof(double) * (size_t)(slices + 1));
	double *x = malloc(sizeof(double) * (size_t)(slices + 1));
	FILE *f = out_file("cycles-median.csv", "w");
	int done[64], nd = 0, ref = 0;

	if (!v || !w || !x) {
		perror("malloc");
		exit(1);
	}
	if (f)
		fprintf(f, "clients,slices,median_per_s,min_per_s,max_per_s,alloc_p50_ms_median,vs_ref_median\n");
	/* No line starts with a number: bench/compare.sh and tail_loop.sh
	 * read those as the slices above. */
	printf("per client count, over its slices: median cycles/s, min, max, spread (max - min) / median\n");
	for (;;) {
		int c = 0, k = 0, kx = 0;
		double med, a, rel;

		for (int i = 0; i < slices; i++) {	/* the smallest count not done */
			bool seen = false;

			for (int j = 0; j < nd; j++)
				seen = seen || done[j] == cnt[i];
			if (!seen && (!c || cnt[i] < c))
				c = cnt[i];
		}
		if (!c || nd == 64)
			break;
		done[nd++] = c;
		if (!ref)
			ref = c;	/* the smallest count: the reference */
		for (int i = 0; i < slices; i++) {
			if (cnt[i] != c)
				continue;
			v[k] = rate[i], w[k++] = a50[i];
			if (c != ref && (rel = rel_to_ref(cnt, rate, slices, ref, i)) > 0)
				x[kx++] = rel;
		}
		med = median(v, k), a = median(w, k), rel = c == ref ? 1 : median(x, kx);
		printf("  clients %d, %d slices: median %.1f/s, min %.1f, max %.1f, spread %.1f %%; alloc p50 (median) %.3f ms; vs %d client(s) in the slices around it: median %.2fx\n",
		       c, k, med, v[0], v[k - 1], med > 0 ? 100 * (v[k - 1] - v[0]) / med : 0, a, ref, rel);
		if (f)
			fprintf(f, "%d,%d,%.1f,%.1f,%.1f,%.3f,%.3f\n", c, k, med, v[0], v[k - 1], a, rel);
	}
	if (f)
		fclose(f);
	free(v);
	free(w);
	free(x);
}

static int cmd_cycles(int argc, char **argv)
{
	struct vfa_client *c = NULL;
	FILE *csv, *sum;
	double secs, *rate, *a50;
	int r, rc = 0, *cnt;

	if (argc < 2)
		return 2;
	secs = atof(argv[0]);
	cnt = calloc((size_t)argc, sizeof(*cnt));
	rate = calloc((size_t)argc, sizeof(*rate));
	a50 = calloc((size_t)argc, sizeof(*a50));
	if (!cnt || !rate || !a50)
		return die("malloc", -ENOMEM);
	if ((r = daemon_start("cycles", &c)))
		return die("vfagent serve", r);
	csv = out_file("cycles.csv", "w");
	sum = out_file("cycles-summary.csv", "w");
	if (!csv || !sum)
		return die("results", -EIO);
	fprintf(csv, "clients,client,pci,alloc_sent_us,alloc_replied_us,release_sent_us,release_replied_us,slice\n");
	fprintf(sum, "clients,seconds,cycles,cycles_per_s,exhausted,alloc_failed,release_failed,conn_failed,alloc_p50_ms,alloc_p99_ms,release_p50_ms,release_p99_ms,double_leases,slice\n");
	printf("\ncycles through the daemon: alloc + release per client process, own persistent connection each, %.1f s per slice, counts in this order:",
	       secs);
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	printf("clients   cycles  cycles/s  exhausted  failed  alloc p50 ms  alloc p99 ms  release p50 ms  double leases\n");
	for (int i = 1; i < argc; i++) {
		struct cyc_sum m;
		int n = atoi(argv[i]);

		if (n < 1 || (r = cycles_run(n, i, secs, csv, &m)))
			return die("cycles", n < 1 ? -EINVAL : r);
		fprintf(sum, "%d,%.3f,%d,%.1f,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%d,%d\n", n, m.secs, m.cycles,
			m.secs > 0 ? m.cycles / m.secs : 0, m.exhausted, m.alloc_fail, m.release_fail,
			m.conn_fail, m.a50, m.a99, m.r50, m.r99, m.doubles, i);
		printf("%7d %8d %9.1f %10d %7d %13.3f %13.3f %15.3f %14d\n", n, m.cycles,
		       m.secs > 0 ? m.cycles / m.secs : 0, m.exhausted,
		       m.alloc_fail + m.release_fail + m.conn_fail, m.a50, m.a99, m.r50, m.doubles);
		fflush(stdout);
		cnt[i - 1] = n, rate[i - 1] = m.secs > 0 ? m.cycles / m.secs : 0, a50[i - 1] = m.a50;
		if (m.alloc_fail || m.release_fail || m.conn_fail || m.doubles)
			rc = 1;
		if ((r = leased(c)) != 0) {
			fprintf(stderr, "serve_bench: after %d clients %d leases are left\n", n, r);
			rc = 1;
		}
	}
	cycles_medians(cnt, rate, a50, argc - 1);
	free(cnt);
	free(rate);
	free(a50);
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

/* ---- floor: the quiet, like-for-like comparison ---- */

enum { Q_ALLOC, Q_RELEASE, Q_RTT, Q_SETLINK, Q_CHOWN, Q_FSYNC, Q_FLOOR, Q_N };
static const char *const qname[Q_N] = {
	"daemon_alloc", "daemon_release", "daemon_rtt", "floor_setlink", "floor_chown",
	"floor_fsync_rename", "floor_sum",
};
enum { TAG_SWEEP = 1, TAG_PUBLISH = 2 };

/* The daemon's log, read as it grows: which loop-time lines
 * (VFAGENT_LOOP_TIMES, agent/serve.c) were written since the last look. */
struct logwatch {
	int fd;
	char line[1400];
	size_t len;
	double *hold[2];	/* sweep, publish: how long each held the loop (us) */
	int nhold[2], cap;
};

static unsigned int log_line(struct logwatch *w)
{
	static const char *const key[2] = { "loop time: sweep ", "loop time: publish " };
	unsigned int tags = 0;

	w->line[w->len < sizeof(w->line) ? w->len : sizeof(w->line) - 1] = 0;
	for (int k = 0; k < 2; k++) {
		char *p = strstr(w->line, key[k]);

		if (!p)
			continue;
		tags |= k ? TAG_PUBLISH : TAG_SWEEP;
		if (w->nhold[k] < w->cap)
			w->hold[k][w->nhold[k]++] = atof(p + strlen(key[k]));
	}
	w->len = 0;
	return tags;
}

/* TAG_* of the loop-time lines the daemon wrote since the last call. */
static unsigned int log_events(struct logwatch *w)
{
	char buf[4096];
	unsigned int tags = 0;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n')
				tags |= log_line(w);
			else if (w->len < sizeof(w->line) - 1)
				w->line[w->len++] = buf[i];
		}
	return tags;
}

/* The VF the floor uses: the PF's last one (the daemon, asked by one
 * client that releases before the next alloc, hands out its first), its
 * index, address and IOMMU group. */
static int floor_vf(const char *pf, struct vfio_ctx *io, uint32_t *ret_vf, char pci[16],
		    int *ret_group)
{
	char p[600], link[600], *base;
	ssize_t n;
	int nvf, r;
	FILE *f;

	snprintf(p, sizeof(p), "/sys/class/net/%s/device/sriov_numvfs", pf);
	f = fopen(p, "r");
	if (!f)
		return -errno;
	r = fscanf(f, "%d", &nvf) == 1 && nvf > 1 ? 0 : -ENODEV;
	fclose(f);
	if (r)
		return r;
	snprintf(p, sizeof(p), "/sys/class/net/%s/device/virtfn%d", pf, nvf - 1);
	n = readlink(p, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	base = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
	if (strlen(base) >= 16)
		return -ENAMETOOLONG;
	memcpy(pci, base, strlen(base) + 1);
	if ((r = vfio_group(io, pci, ret_group)))
		return r;
	*ret_vf = (uint32_t)(nvf - 1);
	return 0;
}

struct qrun {
	double *v[Q_N];
	unsigned char *tag[Q_N];
	int n;
};

/* One timed request (hello, or alloc / release of *pci); its time into
 * q at path p, tagged with the loop-time lines written meanwhile. */
static int q_step(struct qrun *q, struct logwatch *w, struct vfa_client *c, int p, char pci[16])
{
	double t0 = now_us();
	int r;

	if (p == Q_ALLOC)
		r = do_alloc(c, NULL, pci);
	else if (p == Q_RELEASE)
		r = do_release(c, pci);
	else
		r = bench_call(c, bench_req("hello", NULL, NULL), TIMEOUT_MS, NULL);
	q->v[p][q->n] = now_us() - t0;
	q->tag[p][q->n] = (unsigned char)log_events(w);
	return r;
}

static int q_floor(struct qrun *q, struct logwatch *w, struct bench_floor *fl)
{
	double us[BENCH_FLOOR_STEPS];
	const char *what = "";
	int r = bench_floor_sample(fl, us, &what);
	unsigned char t = (unsigned char)log_events(w);

	if (r) {
		fprintf(stderr, "serve_bench: %s on %s: %s\n", what, fl->node, strerror(-r));
		return r;
	}
	q->v[Q_SETLINK][q->n] = us[BENCH_FLOOR_SETLINK];
	q->v[Q_CHOWN][q->n] = us[BENCH_FLOOR_CHOWN];
	q->v[Q_FSYNC][q->n] = us[BENCH_FLOOR_FSYNC_RENAME];
	q->v[Q_FLOOR][q->n] = us[0] + us[1] + us[2];
	for (int p = Q_SETLINK; p <= Q_FLOOR; p++)
		q->tag[p][q->n] = t;
	return 0;
}

/* One round: alloc, release, hello, floor; odd rounds the other way
 * round, so that no path always follows the same one. */
static int q_round(struct qrun *q, struct logwatch *w, struct vfa_client *c,
		   struct bench_floor *fl, const char *floor_pci)
{
	static const int fwd[] = { Q_ALLOC, Q_RELEASE, Q_RTT, Q_FLOOR };
	static const int back[] = { Q_FLOOR, Q_RTT, Q_ALLOC, Q_RELEASE };
	const int *order = q->n & 1 ? back : fwd;
	char pci[16] = "";
	int r;

	log_events(w);
	for (int k = 0; k < 4; k++) {
		r = order[k] == Q_FLOOR ? q_floor(q, w, fl) : q_step(q, w, c, order[k], pci);
		if (r)
			return r < 0 ? r : -EIO;
		if (order[k] == Q_ALLOC && !strcmp(pci, floor_pci)) {
			fprintf(stderr, "serve_bench: the daemon handed out %s, the floor's VF\n", pci);
			return -EBUSY;
		}
	}
	return 0;
}

struct qstat {
	int n, clean_n, sweep, publish;
	double p50, p90, p99, max, clean50, clean99;
};

static void q_stats(const struct qrun *q, int p, struct qstat *s)
{
	double *all = malloc(sizeof(double) * (size_t)(q->n + 1));
	double *clean = malloc(sizeof(double) * (size_t)(q->n + 1));

	if (!all || !clean) {
		perror("malloc");
		exit(1);
	}
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < q->n; i++) {
		all[i] = q->v[p][i];
		if (!q->tag[p][i])
			clean[s->clean_n++] = q->v[p][i];
		s->sweep += !!(q->tag[p][i] & TAG_SWEEP);
		s->publish += !!(q->tag[p][i] & TAG_PUBLISH);
	}
	s->n = q->n;
	s->p50 = pct_sort(all, q->n, 0.50) / 1e3, s->p90 = pct(all, q->n, 0.90) / 1e3;
	s->p99 = pct(all, q->n, 0.99) / 1e3, s->max = pct(all, q->n, 1.0) / 1e3;
	s->clean50 = pct_sort(clean, s->clean_n, 0.50) / 1e3;
	s->clean99 = pct(clean, s->clean_n, 0.99) / 1e3;
	free(all);
	free(clean);
}

/* Of the daemon alloc's samples above its p99: how many overlapped a
 * sweep, a publish, neither; printed with what the loop holds cost. */
static void q_tail(const struct qrun *q, const struct qstat *a, const struct logwatch *w)
{
	int k = 0, sw = 0, pub = 0, none = 0;

	for (int i = 0; i < q->n; i++) {
		unsigned char t = q->tag[Q_ALLOC][i];

		if (q->v[Q_ALLOC][i] / 1e3 <= a->p99)
			continue;
		k++, sw += !!(t & TAG_SWEEP), pub += !!(t & TAG_PUBLISH), none += !t;
	}
	printf("  daemon_alloc's %d samples above its p99: %d overlapped a sweep, %d a publish, %d neither\n",
	       k, sw, pub, none);
	for (int h = 0; h < 2; h++) {
		double *v = w->hold[h];
		int n = w->nhold[h];

		qsort(v, (size_t)n, sizeof(*v), cmp_d);
		printf("  the loop held by a %s (VFAGENT_LOOP_TIMES): n %d, p50 %.3f ms, max %.3f ms\n",
		       h ? "publish" : "sweep", n, pct(v, n, 0.5) / 1e3, pct(v, n, 1.0) / 1e3);
	}
}

static void q_report(const struct qrun *q, const struct logwatch *w, FILE *sum)
{
	struct qstat s[Q_N];

	printf("path                    n    p50 ms    p90 ms    p99 ms    max ms   clean n  clean p50  clean p99  sweep  publish\n");
	fprintf(sum, "path,n,p50_ms,p90_ms,p99_ms,max_ms,clean_n,clean_p50_ms,clean_p99_ms,with_sweep,with_publish\n");
	for (int p = 0; p < Q_N; p++) {
		q_stats(q, p, &s[p]);
		printf("%-20s %4d %9.3f %9.3f %9.3f %9.3f %9d %10.3f %10.3f %6d %8d\n", qname[p],
		       s[p].n, s[p].p50, s[p].p90, s[p].p99, s[p].max, s[p].clean_n, s[p].clean50,
		       s[p].clean99, s[p].sweep, s[p].publish);
		fprintf(sum, "%s,%d,%.3f,%.3f,%.3f,%.3f,%d,%.3f,%.3f,%d,%d\n", qname[p], s[p].n,
			s[p].p50, s[p].p90, s[p].p99, s[p].max, s[p].clean_n, s[p].clean50,
			s[p].clean99, s[p].sweep, s[p].publish);
	}
	printf("  daemon_alloc / floor_sum          p50 %.2fx   p99 %.2fx\n",
	       s[Q_ALLOC].p50 / s[Q_FLOOR].p50, s[Q_ALLOC].p99 / s[Q_FLOOR].p99);
	printf("  (daemon_alloc - daemon_rtt) / floor_sum at p50: %.2fx (the round trip alone %.3f ms)\n",
	       (s[Q_ALLOC].p50 - s[Q_RTT].p50) / s[Q_FLOOR].p50, s[Q_RTT].p50);
	printf("  daemon_alloc p99/p50 %.2f (samples with no sweep or publish seen: %.2f); floor_sum p99/p50 %.2f\n",
	       s[Q_ALLOC].p99 / s[Q_ALLOC].p50, s[Q_ALLOC].clean99 / s[Q_ALLOC].clean50,
	       s[Q_FLOOR].p99 / s[Q_FLOOR].p50);
	q_tail(q, &s[Q_ALLOC], w);
}

/* floor: N rounds as q_round says, after 20 untimed ones, over one
 * connection, against the floor on the PF's last VF. */
static int cmd_floor(int argc, char **argv)
{
	struct qrun q = { .n = 0 };
	struct logwatch w = { .fd = -1 };
	struct vfa_client *c = NULL;
	struct vfio_ctx *io = NULL;
	struct vfnl *nl = NULL;
	struct bench_floor fl;
	char log[1024], fpci[16];
	int n, ifindex, group = 0, r;
	uint32_t vf = 0;
	FILE *sum, *smp;

	if (argc != 2 || (n = atoi(argv[0])) < 1)
		return 2;
	if ((r = vfnl_open(&nl)) || (r = vfnl_ifindex(nl, argv[1], &ifindex)))
		return die(argv[1], r);
	if ((r = vfio_ctx_new(NULL, NULL, &io)) || (r = floor_vf(argv[1], io, &vf, fpci, &group)))
		return die("the floor's VF", r);
	bench_floor_init(&fl, nl, ifindex, vf, group, state);
	w.cap = n + 100;
	for (int p = 0; p < Q_N; p++) {
		q.v[p] = calloc((size_t)n + 20, sizeof(double));
		q.tag[p] = calloc((size_t)n + 20, 1);
		if (!q.v[p] || !q.tag[p])
			return die("malloc", -ENOMEM);
	}
	w.hold[0] = calloc((size_t)w.cap, sizeof(double));
	w.hold[1] = calloc((size_t)w.cap, sizeof(double));
	if (!w.hold[0] || !w.hold[1])
		return die("malloc", -ENOMEM);
	setenv("VFAGENT_LOOP_TIMES", "1", 1);
	if ((r = daemon_start("floor", &c)))
		return die("vfagent serve", r);
	snprintf(log, sizeof(log), "%s/serve-floor.log", bench_log_dir(out));
	w.fd = open(log, O_RDONLY | O_CLOEXEC);
	sum = out_file("floor-summary.csv", "w");
	smp = out_file("floor-samples.csv", "w");
	if (w.fd < 0 || !sum || !smp)
		return die("results", -EIO);
	for (int i = 0; i < 20; i++)		/* warm-up, overwritten */
		if ((r = q_round(&q, &w, c, &fl, fpci)))
			return die("floor warm-up", r);
	w.nhold[0] = w.nhold[1] = 0;
	for (q.n = 0; q.n < n; q.n++)
		if ((r = q_round(&q, &w, c, &fl, fpci)))
			return die("floor round", r);
	printf("\nquiet comparison: one client, one persistent connection, the daemon serving; %d rounds of daemon alloc, release, hello (round trip), floor (VF %s), every other round in reverse\n",
	       n, fpci);
	q_report(&q, &w, sum);
	fprintf(smp, "round,path,us,sweep,publish\n");
	for (int i = 0; i < q.n; i++)
		for (int p = 0; p < Q_N; p++)
			fprintf(smp, "%d,%s,%.1f,%d,%d\n", i, qname[p], q.v[p][i],
				!!(q.tag[p][i] & TAG_SWEEP), !!(q.tag[p][i] & TAG_PUBLISH));
	fclose(sum);
	fclose(smp);
	close(w.fd);
	vfa_client_close(c);
	bench_daemon_stop(&dmn, NULL);
	vfio_ctx_free(io);
	vfnl_close(nl);
	for (int p = 0; p < Q_N; p++)
		free(q.v[p]), free(q.tag[p]);
	free(w.hold[0]);
	free(w.hold[1]);
	return 0;
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
		else if (!strcmp(argv[1], "floor"))
			r = cmd_floor(argc - 7, argv + 7);
	}
	if (r == 2)
		fprintf(stderr, "usage: serve_bench cycles VFAGENT CONF STATE POOL OUT SECONDS CLIENTS...\n"
				"       serve_bench hol VFAGENT CONF STATE POOL OUT REPS N DOMAIN\n"
				"       serve_bench soak VFAGENT CONF STATE POOL OUT COUNT WARMUP [TAG]\n"
				"       serve_bench floor VFAGENT CONF STATE POOL OUT ROUNDS PF\n");
	return r;
}
