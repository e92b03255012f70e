/* Integers in decimal and bytes in hex without printf: the daemon writes
 * them per reply line, per journal record and per metrics line (decimal),
 * and per lease id and MAC (hex). */
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

/* Writes the n bytes b as lowercase hex digits into out, sep between two
 * bytes unless it is 0, and a NUL: out holds 2n + 1 bytes (3n with sep). */
void vfa_hex(char *out, const uint8_t *b, size_t n, char sep)
{
	static const char digit[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		if (i && sep)
			*out++ = sep;
		*out++ = digit[b[i] >> 4];
		*out++ = digit[b[i] & 15];
	}
	*out = '\0';
}
