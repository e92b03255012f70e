/* Minimal unit-test harness: each check prints "PASS name" or
 * "FAIL name: why" (the lines tests/check.sh counts); t_done() returns the
 * exit status. Header-only so every test is one .c file. */
#ifndef VFAGENT_T_H
#define VFAGENT_T_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed;

__attribute__((format(printf, 3, 4), unused))
static int t_check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS %s\n", name);
		return 1;
	}
	t_failed++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return 0;
}

/* T(name, cond, fmt, ...): a check whose failure message says why. */
#define T(name, cond, ...) t_check(!!(cond), (name), __VA_ARGS__)
#define T_EQ_INT(name, got, want) \
	T(name, (long long)(got) == (long long)(want), "got %lld, want %lld", \
	  (long long)(got), (long long)(want))
#define T_EQ_STR(name, got, want) \
	T(name, strcmp((got), (want)) == 0, "got \"%s\", want \"%s\"", (got), (want))

__attribute__((unused))
static void t_skip(const char *name, const char *why)
{
	printf("SKIP %s: %s\n", name, why);
}

__attribute__((unused))
static int t_done(void)
{
	fflush(stdout);
	return t_failed ? 1 : 0;
}

#endif
