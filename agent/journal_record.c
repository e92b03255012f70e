/* The journal's records: "<crc32 of json, 8 hex> <json>\n", parsed and
 * written from bytes alone (no file, no state), so that a recorded journal
 * replays through them (tests/unit/test_journal.c, the fuzzer). */
#include "agent/journal_priv.h"
#include "agent/lease.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define REC_MAX VFA_JOURNAL_REC_MAX

static uint32_t crc_tab[256];

/* The CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of p[0..n) that
 * frames each record; bench/journal_bench.c frames its variants with it. */
uint32_t vfa_journal_crc(const char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	if (!crc_tab[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t x = i;

			for (int k = 0; k < 8; k++)
				x = (x >> 1) ^ (0xedb88320u & -(x & 1));
			crc_tab[i] = x;
		}
	while (n--)
		c = crc_tab[(c ^ (unsigned char)*p++) & 0xff] ^ (c >> 8);
	return ~c;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* {"drop":"<pci>"}, exactly as vfa_journal_format writes it. */
static bool parse_drop(const char *j, size_t n, char pci[16])
{
	static const char pre[] = "{\"drop\":\"", post[] = "\"}";
	size_t plen = sizeof(pre) - 1, alen = 12;

	if (n != plen + alen + sizeof(post) - 1 || memcmp(j, pre, plen) ||
	    memcmp(j + plen + alen, post, sizeof(post) - 1))
		return false;
	memcpy(pci, j + plen, alen);
	pci[alen] = '\0';
	return vfa_pci_addr_ok(pci);
}

#define MOVED "{\"moved\":true}"
#define FORMAT "{\"format\":%u}"

/* {"format":N}, N in 1..9999 without leading zeros, exactly as
 * vfa_journal_format_rec writes it: N, or 0 for any other line. */
static unsigned int parse_format(const char *j, size_t n)
{
	static const char pre[] = "{\"format\":";
	size_t plen = sizeof(pre) - 1;
	unsigned int v = 0;

	if (n < plen + 2 || n > plen + 5 || memcmp(j, pre, plen) || j[n - 1] != '}' ||
	    j[plen] == '0')
		return 0;
	for (size_t i = plen; i < n - 1; i++) {
		if (j[i] < '0' || j[i] > '9')
			return 0;
		v = v * 10 + (unsigned int)(j[i] - '0');
	}
	return v;
}

/**
 * vfa_journal_record - parses one journal line (without its '\n')
 *
 * Returns 0 with *ret filled, -EBADMSG for a line whose CRC does not match
 * or whose record is not one the journal writes (every lease field is
 * checked as vfa_lease_parse checks it).
 */
int vfa_journal_record(const char *line, size_t len, struct vfa_jrec *ret)
{
	struct vfa_jrec rec = { 0 };
	uint32_t want = 0;

	if (len < 10 || len > REC_MAX || line[8] != ' ')
		return -EBADMSG;
	for (int i = 0; i < 8; i++) {
		int h = hexval(line[i]);

		if (h < 0)
			return -EBADMSG;
		want = want << 4 | (uint32_t)h;
	}
	if (vfa_journal_crc(line + 9, len - 9) != want)
		return -EBADMSG;
	if (len - 9 == sizeof(MOVED) - 1 && !memcmp(line + 9, MOVED, len - 9))
		rec.moved = true;
	else if ((rec.format = parse_format(line + 9, len - 9)))
		;	/* says which readers may read on */
	else if (parse_drop(line + 9, len - 9, rec.pci))
		rec.drop = true;
	else if (vfa_lease_parse(line + 9, len - 9, &rec.lease))
		return -EBADMSG;
	*ret = rec;
	return 0;
}

/* A lease's journal line: vfa_lease_json's bytes (vfa_lease_text) written
 * in place after "<crc> ", no copy and no printf. Returns its length, 0
 * if the JSON reaches REC_MAX or the line does not fit in len (with NUL). */
static size_t lease_line(const struct vfa_lease *l, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n;
	uint32_t crc;

	if (len < 11)
		return 0;
	n = vfa_lease_text(l, buf + 9, len - 10 < REC_MAX ? len - 10 : REC_MAX);
	if (!n)
		return 0;
	crc = vfa_journal_crc(buf + 9, n);
	for (int i = 7; i >= 0; i--, crc >>= 4)
		buf[i] = hex[crc & 15];
	buf[8] = ' ';
	buf[9 + n] = '\n';
	buf[10 + n] = '\0';
	return n + 10;
}

/**
 * vfa_journal_format - the journal line (with '\n') saving l, or dropping
 * drop_pci when l is NULL, or the "moved" marker when both are NULL, into
 * buf. Returns its length, 0 if it does not fit.
 */
size_t vfa_journal_format(const struct vfa_lease *l, const char *drop_pci,
			  char *buf, size_t len)
{
	char json[REC_MAX];
	int n;

	if (l)
		return lease_line(l, buf, len);
	if (drop_pci) {
		n = snprintf(json, sizeof(json), "{\"drop\":\"%s\"}", drop_pci);
	} else {
		n = snprintf(json, sizeof(json), MOVED);
	}
	if (n < 0 || (size_t)n >= sizeof(json))
		return 0;
	n = snprintf(buf, len, "%08x %s\n", vfa_journal_crc(json, (size_t)n), json);
	return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

/* The line (with '\n') of record r into buf: its length, 0 if too long. */
size_t vfa_journal_format_rec(const struct vfa_jrec *r, char *buf, size_t len)
{
	char json[32];
	int n;

	if (r->format) {
		n = snprintf(json, sizeof(json), FORMAT, r->format);
		n = snprintf(buf, len, "%08x %s\n", vfa_journal_crc(json, (size_t)n), json);
		return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
	}
	if (r->moved)
		return vfa_journal_format(NULL, NULL, buf, len);
	return r->drop ? vfa_journal_format(NULL, r->pci, buf, len) :
			 vfa_journal_format(&r->lease, NULL, buf, len);
}
