/* bench/bench.h: what the benchmarks share (header only: each one is a
 * single .c file): the monotonic clock, sorting, the nearest-rank
 * percentile. Numbers only: nothing here judges a timing. */
#ifndef VFAGENT_BENCH_H
#define VFAGENT_BENCH_H

#include <time.h>

/* CLOCK_MONOTONIC in microseconds. */
static inline double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* qsort comparator for doubles, ascending. */
static inline int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (q in 0..1) of a sorted array; 0 if empty. */
static inline double pct(const double *v, int n, double q)
{
	int k = (int)(q * n + 0.999999) - 1;

	if (n <= 0)
		return 0;
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

#endif
