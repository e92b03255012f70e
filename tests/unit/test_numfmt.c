/* The one decimal writer (numfmt.c) behind the journal's lease text, the
 * daemon's reply lines and the metrics text: printf's bytes for every
 * edge (0, negatives, INT64_MIN, INT64_MAX, UINT64_MAX, each power of
 * ten and its neighbours) and a spread of others, nothing written past
 * what it returns; the metrics text through it at 0 and UINT64_MAX. */
#include "agent/fleet.h"
#include "agent/numfmt.h"
#include "tests/unit/t.h"
#include "tests/unit/t_text.h"

#include <inttypes.h>

#define SENTINEL '#'

/* Is got[0..n) want, and the byte after it (got was filled with
 * SENTINEL, room VFA_DEC_MAX + 1) untouched? */
static bool as_printf(const char *want, const char *got, size_t n, char *why, size_t len)
{
	if (n <= VFA_DEC_MAX && n == strlen(want) && !memcmp(got, want, n) &&
	    got[n] == SENTINEL)
		return true;
	snprintf(why, len, "%s: got %zu bytes \"%.*s\"", want, n,
		 (int)(n <= VFA_DEC_MAX ? n : VFA_DEC_MAX), got);
	return false;
}

/* Is v written as "%" PRId64 writes it? */
static bool i64_ok(int64_t v, char *why, size_t len)
{
	char want[32], got[VFA_DEC_MAX + 1];

	memset(got, SENTINEL, sizeof(got));
	snprintf(want, sizeof(want), "%" PRId64, v);
	return as_printf(want, got, vfa_dec_i64(got, v), why, len);
}

/* Is v written as "%" PRIu64 writes it? */
static bool u64_ok(uint64_t v, char *why, size_t len)
{
	char want[32], got[VFA_DEC_MAX + 1];

	memset(got, SENTINEL, sizeof(got));
	snprintf(want, sizeof(want), "%" PRIu64, v);
	return as_printf(want, got, vfa_dec_u64(got, v), why, len);
}

static void test_edges(void)
{
	static const int64_t si[] = { 0, 1, -1, 9, -9, 10, -10, INT64_MAX, INT64_MIN,
				      INT64_MAX - 1, INT64_MIN + 1, INT32_MAX, INT32_MIN };
	static const uint64_t ui[] = { 0, 1, 9, 10, UINT64_MAX, UINT64_MAX - 1,
				       (uint64_t)INT64_MAX + 1, UINT32_MAX };
	char why[128] = "";
	int bad = 0;

	for (size_t i = 0; i < sizeof(si) / sizeof(si[0]); i++)
		bad += !i64_ok(si[i], why, sizeof(why));
	T("numfmt.i64_edges", bad == 0, "%d wrong, last %s", bad, why);
	bad = 0;
	for (size_t i = 0; i < sizeof(ui) / sizeof(ui[0]); i++)
		bad += !u64_ok(ui[i], why, sizeof(why));
	T("numfmt.u64_edges", bad == 0, "%d wrong, last %s", bad, why);
}

/* Each power of ten, one below and one above, both signs. */
static void test_powers(void)
{
	char why[128] = "";
	uint64_t p = 1;
	int bad = 0;

	for (int k = 0; k < 20; k++, p *= 10) {
		for (int d = -1; d <= 1; d++) {
			uint64_t u = p + (uint64_t)(int64_t)d;

			bad += !u64_ok(u, why, sizeof(why));
			if (u <= INT64_MAX) {
				bad += !i64_ok((int64_t)u, why, sizeof(why));
				bad += !i64_ok(-(int64_t)u, why, sizeof(why));
			}
		}
	}
	T("numfmt.powers_of_ten", bad == 0, "%d wrong, last %s", bad, why);
}

/* A spread of values of every length (a fixed xorshift: the same run
 * every time). */
static void test_spread(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char why[128] = "";
	int bad = 0;

	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t v = x >> (i % 64);

		bad += !u64_ok(v, why, sizeof(why));
		bad += !i64_ok((int64_t)v, why, sizeof(why));
	}
	T("numfmt.spread", bad == 0, "%d wrong, last %s", bad, why);
}

/* The metrics counters go through the same writer: 0 and UINT64_MAX as
 * "%llu" prints them. */
static void test_metrics_edges(void)
{
	static struct vfa_metrics m;
	static struct vfa_fleet_snap s;
	struct vfa_config cfg = { .n_pools = 1 };
	char *txt = NULL;
	int r;

	snprintf(cfg.pools[0].name, VFA_NAME_LEN, "p");
	vfa_metrics_sync(&m, &cfg);
	m.release_failures = UINT64_MAX;
	m.pools[0].allocs = 0;
	r = vfa_metrics_render(&m, &s, &txt);
	T("numfmt.metrics_max", r == 0 && txt &&
	  t_has_line(txt, "vfagent_release_failures_total 18446744073709551615"),
	  "r=%d\n%s", r, txt ? txt : "");
	T("numfmt.metrics_zero", r == 0 && txt &&
	  t_has_line(txt, "vfagent_allocs_total{pool=\"p\"} 0"), "r=%d\n%s", r, txt ? txt : "");
	free(txt);
}

int main(void)
{
	test_edges();
	test_powers();
	test_spread();
	test_metrics_edges();
	return t_done();
}
