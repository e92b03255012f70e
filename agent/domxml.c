/* Which host PCI functions a libvirt domain definition names as its own:
 * the <source><address .../></source> of each <hostdev type='pci'> and
 * <interface type='hostdev'>. A small scanner over libvirt's own output,
 * not a general XML parser: libvirt writes these elements in one shape,
 * and anything this does not understand is skipped, never guessed. */
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The next element named tag ("<tag" followed by space, '/' or '>') at or
 * after p, before end; NULL if none. */
static const char *find_tag(const char *p, const char *end, const char *tag)
{
	size_t n = strlen(tag);

	for (; p && p < end; p++) {
		p = memchr(p, '<', (size_t)(end - p));
		if (!p)
			return NULL;
		if ((size_t)(end - p) > n + 1 && !strncmp(p + 1, tag, n) &&
		    (p[n + 1] == ' ' || p[n + 1] == '\t' || p[n + 1] == '\n' ||
		     p[n + 1] == '/' || p[n + 1] == '>'))
			return p;
	}
	return NULL;
}

/* The end ('>') of the start tag at p, before end; NULL if cut. */
static const char *tag_end(const char *p, const char *end)
{
	return memchr(p, '>', (size_t)(end - p));
}

/* Copies attribute name of the start tag [p, te) into buf; -ENOENT if it
 * is not there, -E2BIG if it does not fit. */
static int attr(const char *p, const char *te, const char *name, char *buf,
		size_t len)
{
	size_t n = strlen(name);

	for (const char *q = p + 1; q + n + 2 < te; q++) {
		const char *v, *ve;

		if ((q[-1] != ' ' && q[-1] != '\t' && q[-1] != '\n') ||
		    strncmp(q, name, n) || q[n] != '=' || (q[n + 1] != '\'' && q[n + 1] != '"'))
			continue;
		v = q + n + 2;
		ve = memchr(v, q[n + 1], (size_t)(te - v));
		if (!ve)
			return -EBADMSG;
		if ((size_t)(ve - v) >= len)
			return -E2BIG;
		memcpy(buf, v, (size_t)(ve - v));
		buf[ve - v] = '\0';
		return 0;
	}
	return -ENOENT;
}

static int num_attr(const char *p, const char *te, const char *name,
		    unsigned long max, unsigned long *ret)
{
	char buf[16], *endp;
	unsigned long x;

	if (attr(p, te, name, buf, sizeof(buf)) || !buf[0])
		return -EINVAL;
	x = strtoul(buf, &endp, 0);
	if (*endp || x > max)
		return -EINVAL;
	*ret = x;
	return 0;
}

/* The host address inside the element body [p, end): "dddd:bb:dd.f". */
static int source_addr(const char *p, const char *end, char pci[16])
{
	const char *s = find_tag(p, end, "source"), *se, *a, *te;
	unsigned long dom, bus, slot, fn;

	if (!s || !(te = tag_end(s, end)) || te[-1] == '/')
		return -ENOENT;
	se = strstr(te, "</source>");
	if (!se || se > end)
		return -ENOENT;
	a = find_tag(te, se, "address");
	if (!a || !(te = tag_end(a, se)))
		return -ENOENT;
	if (num_attr(a, te, "domain", 0xffff, &dom) ||
	    num_attr(a, te, "bus", 0xff, &bus) ||
	    num_attr(a, te, "slot", 0x1f, &slot) ||
	    num_attr(a, te, "function", 0x7, &fn))
		return -EINVAL;
	snprintf(pci, 16, "%04lx:%02lx:%02lx.%lx", dom, bus, slot, fn);
	return 0;
}

/* Scans elements named tag whose type attribute is type. */
static int scan(const char *xml, const char *end, const char *tag, const char *type,
		struct vfa_hostdev *ret, size_t max, size_t *n)
{
	char close[32], t[32];
	const char *p = xml;

	snprintf(close, sizeof(close), "</%s>", tag);
	while ((p = find_tag(p, end, tag))) {
		const char *te = tag_end(p, end), *ce;
		struct vfa_hostdev d = { "", "" };

		if (!te)
			return 0;
		ce = te[-1] == '/' ? te : strstr(te, close);
		if (!ce || ce > end)
			return 0;
		if (!attr(p, te, "type", t, sizeof(t)) && !strcmp(t, type) &&
		    !source_addr(te, ce, d.pci)) {
			const char *m = find_tag(te, ce, "mac"), *me;

			if (m && (me = tag_end(m, ce)) &&
			    attr(m, me, "address", d.mac, sizeof(d.mac)))
				d.mac[0] = '\0';
			if (*n >= max)
				return -ENOSPC;
			ret[(*n)++] = d;
		}
		p = ce;
	}
	return 0;
}

/**
 * vfa_domxml_hostdevs - the host PCI functions a domain XML hands to its guest
 * @xml: a domain definition as virDomainGetXMLDesc() writes it (NUL-ended)
 * @ret: filled with up to @max entries (PCI address, MAC if the element has one)
 *
 * Returns 0 and the count in *ret_n, or -ENOSPC when there are more than @max.
 * Elements whose address cannot be read are skipped.
 */
int vfa_domxml_hostdevs(const char *xml, struct vfa_hostdev *ret, size_t max,
			size_t *ret_n)
{
	const char *end = xml + strlen(xml);
	size_t n = 0;
	int r;

	r = scan(xml, end, "hostdev", "pci", ret, max, &n);
	if (!r)
		r = scan(xml, end, "interface", "hostdev", ret, max, &n);
	if (r)
		return r;
	*ret_n = n;
	return 0;
}
