/* Integers in decimal without printf: the daemon writes them per reply
 * line, per journal record and per metrics line. */
#include "agent/numfmt.h"

#include <string.h>

/**
 * vfa_dec_u64() - v in decimal, as "%" PRIu64 prints it, into out (room
 * for VFA_DEC_MAX bytes)
 *
 * Returns the bytes written (no NUL).
 */
size_t vfa_dec_u64(char *out, uint64_t v)
{
	char t[VFA_DEC_MAX];
	size_t i = sizeof(t);

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(out, t + i, sizeof(t) - i);
	return sizeof(t) - i;
}

/**
 * vfa_dec_i64() - v in decimal, as "%" PRId64 (and json-c, for an int64)
 * prints it, into out (room for VFA_DEC_MAX bytes)
 *
 * Returns the bytes written (no NUL).
 */
size_t vfa_dec_i64(char *out, int64_t v)
{
	if (v >= 0)
		return vfa_dec_u64(out, (uint64_t)v);
	*out = '-';
	return 1 + vfa_dec_u64(out + 1, 0 - (uint64_t)v);
}
