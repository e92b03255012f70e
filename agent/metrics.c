/* Metrics of vfagent serve in the Prometheus text format (version 0.0.4,
 * what node_exporter's textfile collector reads): gauges from a snapshot
 * of the pools, counters and latency histograms kept for the daemon's
 * life. No HTTP here: node_exporter serves the file. */
#include "agent/fleet.h"
#include "agent/numfmt.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds in seconds, and each as "%g" prints it (the le label;
 * test_fleet checks they agree); the last bucket is +Inf. */
static const struct {
	double s;
	const char *text;
} bounds[VFA_HIST_BUCKETS - 1] = {
	{ 0.005, "0.005" }, { 0.01, "0.01" }, { 0.025, "0.025" }, { 0.05, "0.05" },
	{ 0.1, "0.1" }, { 0.25, "0.25" }, { 0.5, "0.5" }, { 1, "1" }, { 2.5, "2.5" },
	{ 5, "5" }, { 10, "10" },
};

static void hist_observe(struct vfa_hist *h, double s)
{
	size_t i = 0;

	if (s < 0)
		s = 0;
	while (i < VFA_HIST_BUCKETS - 1 && s > bounds[i].s)
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += s;
}

/* The counters of a configured pool; NULL when pool is not one (names
 * come from requests: unknown ones must not grow the label set). */
static struct vfa_pool_counters *pool_of(struct vfa_metrics *m, const char *pool)
{
	for (size_t i = 0; pool && i < m->n_pools; i++)
		if (!strcmp(m->pools[i].pool, pool))
			return &m->pools[i];
	return NULL;
}

/* Keeps the counters of cfg's pools, in cfg's order: new pools start at
 * zero, pools no longer configured are dropped. */
void vfa_metrics_sync(struct vfa_metrics *m, const struct vfa_config *cfg)
{
	struct vfa_pool_counters old[VFA_MAX_POOLS];
	size_t n_old = m->n_pools;

	memcpy(old, m->pools, sizeof(old));
	m->n_pools = 0;
	for (unsigned int i = 0; i < cfg->n_pools && i < VFA_MAX_POOLS; i++) {
		struct vfa_pool_counters *p = &m->pools[m->n_pools++];

		memset(p, 0, sizeof(*p));
		snprintf(p->pool, sizeof(p->pool), "%s", cfg->pools[i].name);
		for (size_t k = 0; k < n_old; k++)
			if (!strcmp(old[k].pool, p->pool))
				*p = old[k];
	}
}

/* Counts one alloc request on pool: r is its result, ex the exit status
 * it carries (VFA_EXIT_EXHAUSTED counts as an exhaustion, not a failure). */
void vfa_metrics_alloc(struct vfa_metrics *m, const char *pool, int r, int ex,
		       double seconds)
{
	struct vfa_pool_counters *p = pool_of(m, pool);

	if (!p)
		return;
	if (r == 0) {
		p->allocs++;
		hist_observe(&p->alloc_s, seconds);
	} else if (ex == VFA_EXIT_EXHAUSTED) {
		p->exhaustions++;
	} else {
		p->alloc_failures++;
	}
}

/* Counts n released VFs of pool (r 0 or -EINPROGRESS) or a failed release
 * (pool may be NULL). */
void vfa_metrics_release(struct vfa_metrics *m, const char *pool, unsigned int n,
			 int r, double seconds)
{
	struct vfa_pool_counters *p = pool_of(m, pool);

	if (r && r != -EINPROGRESS) {
		m->release_failures++;
		return;
	}
	if (!p)
		return;
	p->releases += n;
	hist_observe(&p->release_s, seconds);
}

/* Counts n[k] repairs of each kind k (what one reconcile or PF look did). */
void vfa_metrics_repairs(struct vfa_metrics *m, const unsigned int n[VFA_REPAIR__N])
{
	for (int k = 0; n && k < VFA_REPAIR__N; k++)
		m->repairs[k] += n[k];
}

/* The text grows in one buffer; every piece is appended as bytes (no
 * printf per piece: the daemon renders this file every FLEET_MS under
 * churn, on its loop). err is sticky: the first failure ends the text. */
struct out {
	char *buf;
	size_t len, cap;
	int err;
};

static void put_n(struct out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (o->cap - o->len <= n) {
		size_t cap = o->cap * 2 + n;
		char *b = realloc(o->buf, cap);

		if (!b) {
			o->err = -ENOMEM;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void put(struct out *o, const char *s)
{
	put_n(o, s, strlen(s));
}

/* v in decimal, as "%llu" prints it. */
static void put_u(struct out *o, unsigned long long v)
{
	char d[VFA_DEC_MAX];

	put_n(o, d, vfa_dec_u64(d, v));
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP ");
	put(o, name);
	put(o, " ");
	put(o, help);
	put(o, "\n# TYPE ");
	put(o, name);
	put(o, " ");
	put(o, type);
	put(o, "\n");
}

/* Pool and PF names are letters, digits, '-', '_', '.' (config.c) or
 * netdev/PCI names: nothing to escape in a label value but these. */
static void label(struct out *o, const char *s)
{
	for (;;) {
		size_t n = strcspn(s, "\\\"\n");

		put_n(o, s, n);
		s += n;
		if (!*s)
			return;
		put(o, *s == '\n' ? "\\n" : *s == '"' ? "\\\"" : "\\\\");
		s++;
	}
}

/* name{pool="pool"} (and the rest of the line up to the value). */
static void pool_series(struct out *o, const char *name, const char *suffix, const char *pool)
{
	put(o, name);
	put(o, suffix);
	put(o, "{pool=\"");
	label(o, pool);
}

static void hist(struct out *o, const char *name, const char *pool, const struct vfa_hist *h)
{
	unsigned long long cum = 0;
	char sum[40];

	for (size_t i = 0; i < VFA_HIST_BUCKETS; i++) {
		cum += h->bucket[i];
		pool_series(o, name, "_bucket", pool);
		put(o, "\",le=\"");
		put(o, i < VFA_HIST_BUCKETS - 1 ? bounds[i].text : "+Inf");
		put(o, "\"} ");
		put_u(o, cum);
		put(o, "\n");
	}
	pool_series(o, name, "_sum", pool);
	snprintf(sum, sizeof(sum), "\"} %.9g\n", h->sum);
	put(o, sum);
	pool_series(o, name, "_count", pool);
	put(o, "\"} ");
	put_u(o, h->count);
	put(o, "\n");
}

/* One gauge per pool, counted over the snapshot's VFs by what(). */
enum vf_count { VF_TOTAL, VF_FREE, VF_LEASED, VF_UNHEALTHY };

static unsigned long count_vfs(const struct vfa_fleet_snap *s, const char *pool,
			       enum vf_count what)
{
	unsigned long n = 0;

	for (size_t i = 0; i < s->n_vfs; i++) {
		const struct vfa_fleet_vf *v = &s->vfs[i];

		if (strcmp(v->pool, pool))
			continue;
		n += what == VF_TOTAL || (what == VF_FREE && !v->leased && v->healthy) ||
		     (what == VF_LEASED && v->leased) || (what == VF_UNHEALTHY && !v->healthy);
	}
	return n;
}

static void gauges(struct out *o, const struct vfa_metrics *m, const struct vfa_fleet_snap *s)
{
	static const struct {
		const char *name, *help;
	} g[] = {
		[VF_TOTAL] = { "vfagent_pool_vfs", "VFs the pool's PFs have now." },
		[VF_FREE] = { "vfagent_pool_vfs_free", "Healthy VFs with no lease." },
		[VF_LEASED] = { "vfagent_pool_vfs_leased", "VFs with a lease." },
		[VF_UNHEALTHY] = { "vfagent_pool_vfs_unhealthy",
				   "VFs whose PF is down or gone, with no IOMMU group, or whose lease could not be read." },
	};

	for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
		head(o, g[k].name, "gauge", g[k].help);
		for (size_t i = 0; i < m->n_pools; i++) {
			pool_series(o, g[k].name, "", m->pools[i].pool);
			put(o, "\"} ");
			put_u(o, count_vfs(s, m->pools[i].pool, (enum vf_count)k));
			put(o, "\n");
		}
	}
	head(o, "vfagent_pf_up", "gauge", "1 if the pool's PF exists and is up, else 0.");
	for (size_t i = 0; i < s->n_pfs; i++) {
		put(o, "vfagent_pf_up{pool=\"");
		label(o, s->pfs[i].pool);
		put(o, "\",pf=\"");
		label(o, s->pfs[i].pf);
		put(o, s->pfs[i].present && s->pfs[i].up ? "\"} 1\n" : "\"} 0\n");
	}
	head(o, "vfagent_libvirt_connected", "gauge",
	     "1 while the daemon holds a libvirt connection with domain events.");
	put(o, s->libvirt_connected ? "vfagent_libvirt_connected 1\n" : "vfagent_libvirt_connected 0\n");
}

static void pool_counter(struct out *o, const struct vfa_metrics *m, const char *name,
			 const char *help, size_t field)
{
	head(o, name, "counter", help);
	for (size_t i = 0; i < m->n_pools; i++) {
		const unsigned long long *v = (const void *)((const char *)&m->pools[i] + field);

		pool_series(o, name, "", m->pools[i].pool);
		put(o, "\"} ");
		put_u(o, *v);
		put(o, "\n");
	}
}

static void counters(struct out *o, const struct vfa_metrics *m)
{
	pool_counter(o, m, "vfagent_allocs_total", "VFs allocated.",
		     offsetof(struct vfa_pool_counters, allocs));
	pool_counter(o, m, "vfagent_releases_total", "VFs released by request.",
		     offsetof(struct vfa_pool_counters, releases));
	pool_counter(o, m, "vfagent_alloc_failures_total",
		     "Allocations that failed for another reason than an empty pool.",
		     offsetof(struct vfa_pool_counters, alloc_failures));
	pool_counter(o, m, "vfagent_alloc_exhausted_total",
		     "Allocations refused because the pool had no free VF.",
		     offsetof(struct vfa_pool_counters, exhaustions));
	head(o, "vfagent_release_failures_total", "counter", "Release requests that failed.");
	put(o, "vfagent_release_failures_total ");
	put_u(o, m->release_failures);
	put(o, "\n");
	head(o, "vfagent_reconcile_repairs_total", "counter",
	     "What reconcile and the PF watch repaired, by kind.");
	for (int k = 0; k < VFA_REPAIR__N; k++) {
		put(o, "vfagent_reconcile_repairs_total{kind=\"");
		put(o, vfa_repair_str((enum vfa_repair)k));
		put(o, "\"} ");
		put_u(o, m->repairs[k]);
		put(o, "\n");
	}
}

/* Renders m and s as a textfile-collector file. *ret is malloc'd (the
 * caller frees); returns 0 or -ENOMEM. */
int vfa_metrics_render(const struct vfa_metrics *m, const struct vfa_fleet_snap *s,
		       char **ret)
{
	struct out o = { .buf = malloc(8192), .cap = 8192 };

	if (!o.buf)
		return -ENOMEM;
	o.buf[0] = '\0';
	gauges(&o, m, s);
	counters(&o, m);
	head(&o, "vfagent_alloc_duration_seconds", "histogram",
	     "Time the daemon took for a successful alloc.");
	for (size_t i = 0; i < m->n_pools; i++)
		hist(&o, "vfagent_alloc_duration_seconds", m->pools[i].pool, &m->pools[i].alloc_s);
	head(&o, "vfagent_release_duration_seconds", "histogram",
	     "Time the daemon took for a successful release.");
	for (size_t i = 0; i < m->n_pools; i++)
		hist(&o, "vfagent_release_duration_seconds", m->pools[i].pool, &m->pools[i].release_s);
	if (o.err) {
		free(o.buf);
		return o.err;
	}
	*ret = o.buf;
	return 0;
}
