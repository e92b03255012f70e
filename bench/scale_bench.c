/* scale_bench: does per-request cost grow with the host?  (issue 10,
 * "Measure", last bullet; run by bench/scale_lab.sh; root; bench/README.md.)
 *
 *   bench/scale_bench CONF STATE POOL OUT LABEL REPS
 *
 * `vfagent -c CONF -s STATE serve` must be running with POOL set up and
 * nothing leased.  Over ONE persistent connection to STATE/vfagent.sock
 * (client library, agent/vfagent-client.h) it first allocs until the pool
 * is exhausted (untimed: that counts the pool's VFs, N) and releases them.
 * Then two phases, each REPS rounds:
 *   leases=1  nothing else held: the timed alloc makes the only lease;
 *   leases=N  N-1 leases held by other allocs (untimed, before the phase),
 *             the timed alloc takes the last free VF.
 * The phases alternate in BLOCKS blocks of REPS/BLOCKS rounds (the N-1
 * leases taken before and dropped after each leases=N block, untimed), so
 * a slow drift of a shared machine hits both alike.
 * One round times, in this order: alloc (the daemon's warm alloc), status
 * (with the round's lease held), list (every PF and VF of the host),
 * reconcile, release; alloc_release is the
 * alloc + release of the round.  There is no reconcile request in the
 * protocol: reconcile is vfa_reconcile(domains=false) called in this
 * process on its own long-lived handle over the same config and state dir,
 * the work the daemon's sweep and domain events run.
 * Prints a table; appends LABEL,N,leases,op,n,p50,p90,p99,max (us) to
 * OUT/scale-summary.csv and every sample to OUT/scale-samples.csv.
 * A benchmark: nothing asserts on timings; exit 1 only if an operation
 * failed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "agent/agent.h"
#include "agent/vfagent-client.h"

#include "bench/bench.h"
#include "bench/bench_client.h"

#define MAX_VFS 256
#define BLOCKS 5
#define TIMEOUT_MS 120000
/* Before each round an untimed pause of 0..JITTER_MS (fixed seed): the
 * daemon's periodic jobs (the metrics/CDI publish 1 s after a change,
 * the 5 s sweep) then fall on every op alike instead of on the one the
 * rounds' fixed schedule lines up with them (it was the leases=N
 * release). BENCH_SCALE_JITTER_MS overrides, 0 turns it off. */
#define JITTER_MS 300

enum { OP_ALLOC, OP_STATUS, OP_LIST, OP_RECONCILE, OP_RELEASE, OP_ALLOC_RELEASE, OP_N };
static const char *op_name[OP_N] = {
	"alloc", "status", "list", "reconcile", "release", "alloc_release",
};

struct series {
	double *v;
	int n;
};

static int die(const char *what, int r, const char *msg)
{
	fprintf(stderr, "scale_bench: %s: %s%s%s\n", what, strerror(r < 0 ? -r : r),
		msg && *msg ? ": " : "", msg ? msg : "");
	return 1;
}

/* One request over the open connection (bench/bench_client.h's
 * bench_call).  Returns the reply's exit code (0 ok, 3 exhausted, ...) or
 * -errno; with ret_pci, an ok alloc's VF. */
static int call(struct vfa_client *c, const char *op, const char *key, const char *val,
		char ret_pci[16])
{
	json_object *rep = NULL, *x, *res, *p;
	int r = bench_call(c, bench_req(op, key, val), TIMEOUT_MS, &rep);

	if (r < 0) {
		json_object_put(rep);	/* NULL, or a reply without "exit" */
		return r;
	}
	if (!r && ret_pci) {
		if (json_object_object_get_ex(rep, "result", &res) &&
		    json_object_object_get_ex(res, "pci", &p))
			snprintf(ret_pci, 16, "%s", json_object_get_string(p));
		else
			r = -EBADMSG;
	}
	if (r > 0 && r != 3 && json_object_object_get_ex(rep, "error", &x))
		fprintf(stderr, "scale_bench: %s: %s\n", op, json_object_get_string(x));
	json_object_put(rep);
	return r;
}

static int add(struct series *s, double us, int cap)
{
	if (!s->v && !(s->v = calloc((size_t)cap, sizeof(double))))
		return -ENOMEM;
	if (s->n < cap)
		s->v[s->n++] = us;
	return 0;
}

struct ctx {
	struct vfa_client *c;
	struct vfa_agent *a;
	const char *pool;
	int reps;
	int jitter_ms;
	struct series s[2][OP_N];	/* [phase][op] */
};

/* One timed round of phase ph; the alloc's VF is released by the round. */
static int round_once(struct ctx *x, int ph)
{
	struct vfa_err e = { "", 0 };
	json_object *notes = NULL;
	char pci[16] = "";
	double t0, t[OP_N];
	int r;

	t0 = now_us();
	if ((r = call(x->c, "alloc", "pool", x->pool, pci)))
		return die("alloc", r > 0 ? EIO : r, vfa_client_error(x->c));
	t[OP_ALLOC] = now_us() - t0;
	t0 = now_us();
	if ((r = call(x->c, "status", NULL, NULL, NULL)))
		return die("status", r > 0 ? EIO : r, vfa_client_error(x->c));
	t[OP_STATUS] = now_us() - t0;
	t0 = now_us();
	if ((r = call(x->c, "list", NULL, NULL, NULL)))
		return die("list", r > 0 ? EIO : r, vfa_client_error(x->c));
	t[OP_LIST] = now_us() - t0;
	t0 = now_us();
	r = vfa_reconcile(x->a, false, &notes, &e);
	t[OP_RECONCILE] = now_us() - t0;
	json_object_put(notes);
	if (r)
		return die("reconcile", r, e.msg);
	t0 = now_us();
	if ((r = call(x->c, "release", "pci", pci, NULL)))
		return die("release", r > 0 ? EIO : r, vfa_client_error(x->c));
	t[OP_RELEASE] = now_us() - t0;
	t[OP_ALLOC_RELEASE] = t[OP_ALLOC] + t[OP_RELEASE];
	for (int i = 0; i < OP_N; i++)
		if ((r = add(&x->s[ph][i], t[i], x->reps)))
			return die("memory", r, NULL);
	return 0;
}

static void report(struct ctx *x, int ph, const char *out, const char *label, int nvf,
		   int leases)
{
	char path[1024];
	FILE *sum, *smp;

	snprintf(path, sizeof(path), "%s/scale-summary.csv", out);
	sum = fopen(path, "a");
	snprintf(path, sizeof(path), "%s/scale-samples.csv", out);
	smp = fopen(path, "a");
	for (int i = 0; i < OP_N; i++) {
		struct series *s = &x->s[ph][i];

		if (smp)
			for (int k = 0; k < s->n; k++)
				fprintf(smp, "%s,%d,%d,%s,%d,%.1f\n", label, nvf, leases,
					op_name[i], k, s->v[k]);
		qsort(s->v, (size_t)s->n, sizeof(double), cmp_d);
		printf("%-6s %4d %6d  %-14s %5d %10.3f %10.3f %10.3f %10.3f\n", label, nvf,
		       leases, op_name[i], s->n, pct(s->v, s->n, .5) / 1e3,
		       pct(s->v, s->n, .9) / 1e3, pct(s->v, s->n, .99) / 1e3,
		       s->n ? s->v[s->n - 1] / 1e3 : 0);
		if (sum)
			fprintf(sum, "%s,%d,%d,%s,%d,%.1f,%.1f,%.1f,%.1f\n", label, nvf, leases,
				op_name[i], s->n, pct(s->v, s->n, .5), pct(s->v, s->n, .9),
				pct(s->v, s->n, .99), s->n ? s->v[s->n - 1] : 0);
		free(s->v);
		s->v = NULL;
		s->n = 0;
	}
	if (sum)
		fclose(sum);
	if (smp)
		fclose(smp);
}

/* Allocs until the pool is exhausted or want leases are held; their VFs
 * in held[], their count in *ret_n. */
static int hold(struct vfa_client *c, const char *pool, int want, char held[][16], int *ret_n)
{
	int n = 0, r = 0;

	while (n < want && n < MAX_VFS && !(r = call(c, "alloc", "pool", pool, held[n])))
		n++;
	if (r && r != 3)
		return die("alloc (untimed)", r > 0 ? EIO : r, vfa_client_error(c));
	*ret_n = n;
	return 0;
}

static int drop(struct vfa_client *c, char held[][16], int n)
{
	int r;

	for (int i = 0; i < n; i++)
		if ((r = call(c, "release", "pci", held[i], NULL)))
			return die("release (untimed)", r > 0 ? EIO : r, held[i]);
	return 0;
}

static int run(struct ctx *x, const char *out, const char *label)
{
	static char held[MAX_VFS][16];
	int nvf, n, r;

	if ((r = hold(x->c, x->pool, MAX_VFS, held, &nvf)) || (r = drop(x->c, held, nvf)))
		return r;
	if (nvf < 1)
		return die("pool", ENOSPC, "no VF could be allocated");
	printf("%s: pool %s has %d VFs; %d rounds per phase, one connection, 0..%d ms before each\n",
	       label, x->pool, nvf, x->reps, x->jitter_ms);
	printf("%-6s %4s %6s  %-14s %5s %10s %10s %10s %10s\n", "host", "vfs", "leases",
	       "op", "n", "p50 ms", "p90 ms", "p99 ms", "max ms");
	for (int b = 0; b < BLOCKS; b++) {
		int lo = x->reps * b / BLOCKS, hi = x->reps * (b + 1) / BLOCKS;

		for (int ph = 0; ph < 2; ph++) {
			int others = ph ? nvf - 1 : 0;

			if ((r = hold(x->c, x->pool, others, held, &n)))
				return r;
			if (n != others) {
				drop(x->c, held, n);
				return die("hold", EAGAIN, "fewer VFs than at the start");
			}
			for (int i = lo; i < hi && !r; i++) {
				long ms = x->jitter_ms > 0 ? rand() % x->jitter_ms : 0;

				nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000 }, NULL);
				r = round_once(x, ph);
			}
			if (drop(x->c, held, n) || r)
				return 1;
		}
	}
	report(x, 0, out, label, nvf, 1);
	report(x, 1, out, label, nvf, nvf);
	return 0;
}

int main(int argc, char **argv)
{
	struct vfa_opts o = { 0 };
	struct vfa_err e = { "", 0 };
	struct ctx x = { 0 };
	char sock[1024];
	int r;

	if (argc != 7) {
		fprintf(stderr, "usage: scale_bench CONF STATE POOL OUT LABEL REPS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	o.config = argv[1], o.state_dir = argv[2];
	x.jitter_ms = getenv("BENCH_SCALE_JITTER_MS") ? atoi(getenv("BENCH_SCALE_JITTER_MS")) : JITTER_MS;
	srand(1);
	x.pool = argv[3], x.reps = atoi(argv[6]);
	if (x.reps < 1)
		x.reps = 1;
	snprintf(sock, sizeof(sock), "%s/vfagent.sock", argv[2]);
	/* The daemon was just started: wait up to 10 s for it to listen. */
	for (int i = 0; i < 200; i++) {
		vfa_client_close(x.c);
		x.c = NULL;
		r = vfa_client_connect(sock, TIMEOUT_MS, &x.c);
		if (r != -ENOENT && r != -ECONNREFUSED)
			break;
		nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	}
	if (r) {
		r = die(sock, r, x.c ? vfa_client_error(x.c) : NULL);
		goto out;
	}
	if ((r = vfa_agent_open(&o, &x.a, &e))) {
		r = die("agent", r, e.msg);
		goto out;
	}
	r = run(&x, argv[4], argv[5]);
out:
	vfa_agent_close(x.a);
	vfa_client_close(x.c);
	return r;
}
