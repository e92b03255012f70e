/* A lease as the text of its JSON object, written straight into a buffer:
 * the journal's line (two per alloc, one or two per release) without
 * building a json-c tree and serializing it. The bytes are json-c's
 * JSON_C_TO_STRING_PLAIN output of vfa_lease_json() (keys in its order,
 * '/' escaped as "\/", control bytes as \u00xx, other bytes as they are):
 * the journal's format does not change (tests/unit/test_prof.c compares
 * both over every byte value). */
#include "agent/json_plain.h"
#include "agent/lease.h"
#include "agent/numfmt.h"

#include <stdbool.h>
#include <string.h>

struct jout {
	char *b;
	size_t len, at;	/* at may pass len: then nothing more is written */
	bool more;	/* a key was written: the next one takes a comma */
};

static void jraw(struct jout *w, const char *s, size_t n)
{
	if (w->at + n < w->len)
		memcpy(w->b + w->at, s, n);
	w->at += n;
}

/* s quoted and escaped as json-c escapes strings (vfa_json_quote), a
 * piece at a time through a small buffer. */
static void jstr(struct jout *w, const char *s)
{
	size_t n = strlen(s);
	char t[VFA_JSON_QUOTE_MAX(64)];

	if (!n) {
		jraw(w, "\"\"", 2);
		return;
	}
	for (size_t i = 0; i < n; i += 64) {
		size_t k = n - i < 64 ? n - i : 64, m = vfa_json_quote(t, s + i, k, true);

		/* Each piece comes quoted: keep the first quote, the last. */
		jraw(w, t + (i > 0), m - (i > 0) - (i + k < n));
	}
}

static void jint(struct jout *w, long long v)
{
	char t[VFA_DEC_MAX];

	jraw(w, t, vfa_dec_i64(t, v));
}

/* "key": (a plain constant), after a comma unless it is the first. */
static void jkey(struct jout *w, const char *key)
{
	if (w->more)
		jraw(w, ",", 1);
	w->more = true;
	jraw(w, "\"", 1);
	jraw(w, key, strlen(key));
	jraw(w, "\":", 2);
}

static void kstr(struct jout *w, const char *key, const char *s)
{
	jkey(w, key);
	jstr(w, s);
}

static void kint(struct jout *w, const char *key, long long v)
{
	jkey(w, key);
	jint(w, v);
}

static void kbool(struct jout *w, const char *key, bool v)
{
	jkey(w, key);
	jraw(w, v ? "true" : "false", v ? 4 : 5);
}

/* "key":"s", or "key":null if s is empty. */
static void kstr_or_null(struct jout *w, const char *key, const char *s)
{
	jkey(w, key);
	if (s[0])
		jstr(w, s);
	else
		jraw(w, "null", 4);
}

/**
 * vfa_lease_text() - l as the JSON text vfa_lease_json() serializes to
 * (JSON_C_TO_STRING_PLAIN), NUL-terminated, into buf
 *
 * Returns its length, or 0 if it does not fit in len bytes.
 */
size_t vfa_lease_text(const struct vfa_lease *l, char *buf, size_t len)
{
	struct jout w = { buf, len, 0, false };
	char node[32] = "/dev/vfio/";
	struct jout nw = { node, sizeof(node), 10, false };

	jraw(&w, "{", 1);
	kstr(&w, "id", l->id);
	kstr(&w, "state", vfa_lease_state_str(l->state));
	kstr(&w, "pool", l->pool);
	kstr(&w, "pf", l->pf);
	kstr(&w, "pf_pci", l->pf_pci);
	kint(&w, "vf", (int)l->vf);
	kstr(&w, "pci", l->pci);
	kint(&w, "iommu_group", l->group);
	jint(&nw, l->group);
	node[l->group >= 0 ? nw.at : 0] = '\0';	/* no group known: null */
	kstr_or_null(&w, "vfio_node", node);
	kstr(&w, "mac", l->mac);
	kint(&w, "vlan", l->vlan);
	kint(&w, "qos", l->qos);
	kstr_or_null(&w, "domain", l->domain);
	if (l->uuid[0])
		kstr(&w, "uuid", l->uuid);
	kbool(&w, "attached", l->attached);
	kbool(&w, "persistent", l->persistent);
	kstr_or_null(&w, "holder", l->holder);
	kint(&w, "pid", l->pid);
	kint(&w, "created", l->created);
	jkey(&w, "owner");
	if (l->owner == VFA_NO_OWNER)
		jraw(&w, "null", 4);
	else
		jint(&w, (long long)l->owner);
	jraw(&w, "}", 1);
	if (w.at >= len)
		return 0;
	buf[w.at] = '\0';
	return w.at;
}
