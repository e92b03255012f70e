/* libFuzzer harness for the journal's record parser (agent/journal.c):
 * bytes as one journal line. Property: a record accepted is one the
 * journal writes, so formatting it again gives back the same line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/journal_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfa_jrec rec, again;
	char line[4096], line2[4096];
	size_t n, n2;

	if (size > 4096 || vfa_journal_record((const char *)data, size, &rec))
		return 0;
	n = vfa_journal_format_rec(&rec, line, sizeof(line));
	if (!n || vfa_journal_record(line, n - 1, &again))
		abort();	/* accepted, yet not written back */
	n2 = vfa_journal_format_rec(&again, line2, sizeof(line2));
	if (again.drop != rec.drop || again.moved != rec.moved || n2 != n || memcmp(line, line2, n))
		abort();
	return 0;
}
