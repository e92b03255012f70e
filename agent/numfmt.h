/* agent/numfmt.h: integers in decimal, the bytes printf's "%" PRId64 and
 * "%" PRIu64 write, and bytes in hex, "%02x"'s, without printf (numfmt.c):
 * the journal's lease text, the daemon's reply lines, the metrics text,
 * lease ids and MACs. */
#ifndef VFAGENT_NUMFMT_H
#define VFAGENT_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

#define VFA_DEC_MAX 20	/* "-9223372036854775808", "18446744073709551615" */
size_t vfa_dec_i64(char *out, int64_t v);
size_t vfa_dec_u64(char *out, uint64_t v);
/* Bytes as lowercase hex digits, sep between two unless 0, NUL-ended. */
void vfa_hex(char *out, const uint8_t *b, size_t n, char sep);

#endif
