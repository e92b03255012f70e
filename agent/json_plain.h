/* agent/json_plain.h: json-c's PLAIN bytes of a value, written without
 * json-c's printbuf (json_plain.c). */
#ifndef VFAGENT_JSON_PLAIN_H
#define VFAGENT_JSON_PLAIN_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

int vfa_json_plain(json_object *v, int flags, char **buf, size_t *len, size_t *cap);
#define VFA_JSON_QUOTE_MAX(n) (6 * (n) + 2)	/* vfa_json_quote's most bytes */
size_t vfa_json_quote(char *out, const char *s, size_t n, bool slash);

#endif
