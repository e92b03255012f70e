/* agent/numfmt.h: integers in decimal, the bytes printf's "%" PRId64 and
 * "%" PRIu64 write, without printf (numfmt.c): the journal's lease text,
 * the daemon's reply lines and the metrics text. */
#ifndef VFAGENT_NUMFMT_H
#define VFAGENT_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

#define VFA_DEC_MAX 20	/* "-9223372036854775808", "18446744073709551615" */
size_t vfa_dec_i64(char *out, int64_t v);
size_t vfa_dec_u64(char *out, uint64_t v);

#endif
