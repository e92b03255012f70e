/* The daemon's reply lines, serialized straight into the client's output
 * buffer: the bytes of json_object_to_json_string_ext(v, flags) with
 * flags JSON_C_TO_STRING_PLAIN, optionally | JSON_C_TO_STRING_NOSLASHESCAPE
 * (members in insertion order, strings escaped as json-c escapes them),
 * without json-c's printbuf, its reallocs and its printf per number.
 * Values this writer does not spell itself (doubles, integers above
 * INT64_MAX) are left to json-c, one value at a time.
 * tests/unit/test_prof.c compares both on every byte value and type. */
#include "agent/json_plain.h"
#include "agent/numfmt.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct jbuf {
	char **b;
	size_t *len, *cap;
	int err;	/* -ENOMEM once a grow failed: nothing more is written */
};

/* Room for n more bytes and a NUL; false (w->err set) if out of memory. */
static bool room(struct jbuf *w, size_t n)
{
	size_t cap;
	char *nb;

	if (w->err)
		return false;
	if (*w->len + n + 1 <= *w->cap)
		return true;
	cap = *w->cap ? *w->cap : 4096;
	while (cap < *w->len + n + 1)
		cap *= 2;
	nb = realloc(*w->b, cap);
	if (!nb) {
		w->err = -ENOMEM;
		return false;
	}
	*w->b = nb;
	*w->cap = cap;
	return true;
}

static void put(struct jbuf *w, const char *s, size_t n)
{
	if (room(w, n)) {
		memcpy(*w->b + *w->len, s, n);
		*w->len += n;
	}
}

static void put_c(struct jbuf *w, char c)
{
	if (room(w, 1))
		(*w->b)[(*w->len)++] = c;
}

/**
 * vfa_json_quote() - s[0..n) quoted and escaped as json-c escapes strings
 * (control bytes as \b \f \n \r \t or \u00xx, '"', '\\', and '/' unless
 * !slash) into out, which has room for VFA_JSON_QUOTE_MAX(n) bytes
 *
 * Returns the bytes written (no NUL).
 */
size_t vfa_json_quote(char *out, const char *s, size_t n, bool slash)
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;

	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c != '"' && c != '\\' && (c != '/' || !slash)) {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case '\b': *o++ = 'b'; break;
		case '\f': *o++ = 'f'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		case '\t': *o++ = 't'; break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o++ = '"';
	return (size_t)(o - out);
}

static void put_str(struct jbuf *w, const char *s, size_t n, bool slash)
{
	if (room(w, VFA_JSON_QUOTE_MAX(n)))
		*w->len += vfa_json_quote(*w->b + *w->len, s, n, slash);
}

static void put_int(struct jbuf *w, int64_t v)
{
	if (room(w, VFA_DEC_MAX))
		*w->len += vfa_dec_i64(*w->b + *w->len, v);
}

static void put_value(struct jbuf *w, json_object *v, int flags)
{
	bool slash = !(flags & JSON_C_TO_STRING_NOSLASHESCAPE);
	const char *s;
	bool first = true;
	int64_t i;

	switch (json_object_get_type(v)) {
	case json_type_null:
		put(w, "null", 4);
		return;
	case json_type_boolean:
		if (json_object_get_boolean(v))
			put(w, "true", 4);
		else
			put(w, "false", 5);
		return;
	case json_type_int:
		i = json_object_get_int64(v);
		if (i != INT64_MAX) {	/* INT64_MAX may stand for a larger uint64 */
			put_int(w, i);
			return;
		}
		break;
	case json_type_string:
		put_str(w, json_object_get_string(v), (size_t)json_object_get_string_len(v), slash);
		return;
	case json_type_object:
		put_c(w, '{');
		json_object_object_foreach(v, key, val) {
			if (!first)
				put_c(w, ',');
			first = false;
			put_str(w, key, strlen(key), slash);
			put_c(w, ':');
			put_value(w, val, flags);
		}
		put_c(w, '}');
		return;
	case json_type_array:
		put_c(w, '[');
		for (size_t k = 0; k < json_object_array_length(v); k++) {
			if (k)
				put_c(w, ',');
			put_value(w, json_object_array_get_idx(v, k), flags);
		}
		put_c(w, ']');
		return;
	default:
		break;
	}
	s = json_object_to_json_string_ext(v, flags);	/* doubles: json-c's own spelling */
	put(w, s, strlen(s));
}

/**
 * vfa_json_plain() - appends v as json_object_to_json_string_ext(v, flags)
 * spells it (flags: JSON_C_TO_STRING_PLAIN, optionally with
 * JSON_C_TO_STRING_NOSLASHESCAPE) to the buffer *buf of *len bytes in use
 * and *cap allocated (the caller's; realloc'd as needed, NUL-terminated)
 *
 * Returns 0, or -ENOMEM with *len as it was.
 */
int vfa_json_plain(json_object *v, int flags, char **buf, size_t *len, size_t *cap)
{
	size_t was = *len;
	struct jbuf w = { buf, len, cap, 0 };

	put_value(&w, v, flags);
	if (w.err) {
		*len = was;
		return w.err;
	}
	(*buf)[*len] = '\0';
	return 0;
}
