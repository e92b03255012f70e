/* Log lines that carry what a client sent: escaped so they cannot start
 * a new line (or a forged "<0>" journal priority), and rate-limited per
 * uid so one user cannot drown the log. */
#include "agent/serve_priv.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), 0 if invalid or a C1
 * control (U+0080..U+009F). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xc2)
		lo = 0xa0;		/* C1 controls */
	else if (c == 0xe0)
		lo = 0xa0;		/* overlong */
	else if (c == 0xed)
		hi = 0x9f;		/* surrogates */
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* Copies in to out (size bytes, always terminated): control bytes,
 * backslashes and bytes that are not valid UTF-8 become \xNN. Returns
 * the length written; a cut never splits an escape or a character. */
size_t vfa_log_escape(const char *in, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;

	if (!size)
		return 0;
	while (*s) {
		size_t n = *s >= 0x20 && *s < 0x7f && *s != '\\' ? 1 :
			   *s >= 0x80 ? utf8_len(s) : 0;

		if (n) {
			if (o + n >= size)
				break;
			memcpy(out + o, s, n);
			o += n;
			s += n;
			continue;
		}
		if (o + 4 >= size)
			break;
		snprintf(out + o, 5, "\\x%02x", *s);
		o += 4;
		s++;
	}
	out[o] = '\0';
	return o;
}

static void refill(struct vfa_ratelimit *rl, unsigned int i, long long now)
{
	long long secs = (now - rl->b[i].last_ms) / 1000;

	if (secs <= 0)
		return;
	if ((long long)rl->b[i].tokens + secs * rl->per_s >= rl->burst)
		rl->b[i].tokens = rl->burst;
	else
		rl->b[i].tokens += (unsigned int)(secs * rl->per_s);
	rl->b[i].last_ms += secs * 1000;
}

/* A token bucket per uid (burst, then per_s a second). True: log it, and
 * *ret_suppressed says how many were dropped before it. False: drop it
 * (counted). The 32 most recent uids have buckets. */
bool vfa_ratelimit_take(struct vfa_ratelimit *rl, uid_t uid, long long now_ms,
			unsigned long *ret_suppressed)
{
	unsigned int i, old = 0;

	for (i = 0; i < 32; i++) {
		if (rl->b[i].used && rl->b[i].uid == uid)
			break;
		if (!rl->b[i].used || (rl->b[old].used && rl->b[i].last_ms < rl->b[old].last_ms))
			old = i;
	}
	if (i == 32) {
		i = old;
		rl->b[i].used = true;
		rl->b[i].uid = uid;
		rl->b[i].tokens = rl->burst;
		rl->b[i].last_ms = now_ms;
		rl->b[i].suppressed = 0;
	}
	refill(rl, i, now_ms);
	if (!rl->b[i].tokens) {
		rl->b[i].suppressed++;
		return false;
	}
	rl->b[i].tokens--;
	*ret_suppressed = rl->b[i].suppressed;
	rl->b[i].suppressed = 0;
	return true;
}

/* For a periodic summary: one uid with suppressed messages, reset. */
bool vfa_ratelimit_pending(struct vfa_ratelimit *rl, long long now_ms,
			   uid_t *ret_uid, unsigned long *ret_n)
{
	(void)now_ms;
	for (unsigned int i = 0; i < 32; i++) {
		if (!rl->b[i].used || !rl->b[i].suppressed)
			continue;
		*ret_uid = rl->b[i].uid;
		*ret_n = rl->b[i].suppressed;
		rl->b[i].suppressed = 0;
		return true;
	}
	return false;
}
