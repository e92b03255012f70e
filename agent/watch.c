/* The watch stream's events: what changed between two looks at the state
 * (vfa_watch_state), as doc/PROTOCOL.md words them. Pure JSON: the
 * daemon decides when to look. */
#include "agent/agent.h"

#include <string.h>

static json_object *member(json_object *o, const char *k)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, k, &v);
	return v;
}

static const char *str_of(json_object *o, const char *k)
{
	json_object *v = member(o, k);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

/* The element of arr (objects) whose k is val, or NULL. */
static json_object *find(json_object *arr, const char *k, const char *val)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *x = json_object_array_get_idx(arr, i);

		if (!strcmp(str_of(x, k), val))
			return x;
	}
	return NULL;
}

static json_object *event(const char *name, unsigned long long *seq)
{
	json_object *ev = json_object_new_object();

	json_object_object_add(ev, "event", json_object_new_string(name));
	json_object_object_add(ev, "seq", json_object_new_int64((int64_t)++*seq));
	return ev;
}

static void pf_events(json_object *op, json_object *np, unsigned long long *seq,
		      json_object *events)
{
	json_object *opfs = member(op, "pfs"), *npfs = member(np, "pfs");

	for (size_t j = 0; j < json_object_array_length(npfs); j++) {
		json_object *n = json_object_array_get_idx(npfs, j), *ev;
		json_object *o = j < json_object_array_length(opfs) ?
				 json_object_array_get_idx(opfs, j) : NULL;

		if (o && json_object_equal(o, n))
			continue;
		ev = event("pf", seq);
		json_object_object_add(ev, "pool", json_object_get(member(np, "pool")));
		json_object_object_foreach(n, k, v)
			json_object_object_add(ev, k, json_object_get(v));
		json_object_array_add(events, ev);
	}
}

static void vf_events(json_object *op, json_object *np, unsigned long long *seq,
		      json_object *events)
{
	json_object *ovfs = member(op, "vfs"), *nvfs = member(np, "vfs");

	for (size_t i = 0; i < json_object_array_length(ovfs); i++) {
		json_object *o = json_object_array_get_idx(ovfs, i), *ev;

		if (find(nvfs, "pci", str_of(o, "pci")))
			continue;
		ev = event("vf-removed", seq);
		json_object_object_add(ev, "pool", json_object_get(member(o, "pool")));
		json_object_object_add(ev, "pci", json_object_get(member(o, "pci")));
		json_object_array_add(events, ev);
	}
	for (size_t i = 0; i < json_object_array_length(nvfs); i++) {
		json_object *n = json_object_array_get_idx(nvfs, i), *ev;
		json_object *o = find(ovfs, "pci", str_of(n, "pci"));

		if (o && json_object_equal(o, n))
			continue;
		ev = event("vf", seq);
		json_object_object_add(ev, "vf", json_object_get(n));
		json_object_array_add(events, ev);
	}
}

static void lease_event(const char *change, json_object *l, unsigned long long *seq,
			json_object *events)
{
	json_object *ev = event("lease", seq);

	json_object_object_add(ev, "change", json_object_new_string(change));
	json_object_object_add(ev, "lease", json_object_get(l));
	json_object_array_add(events, ev);
}

static void lease_events(json_object *old, json_object *cur, unsigned long long *seq,
			 json_object *events)
{
	json_object *ol = member(old, "leases"), *nl = member(cur, "leases");

	for (size_t i = 0; i < json_object_array_length(ol); i++) {
		json_object *o = json_object_array_get_idx(ol, i);

		if (!find(nl, "id", str_of(o, "id")))
			lease_event("removed", o, seq, events);
	}
	for (size_t i = 0; i < json_object_array_length(nl); i++) {
		json_object *n = json_object_array_get_idx(nl, i);
		json_object *o = find(ol, "id", str_of(n, "id"));

		if (!o)
			lease_event("added", n, seq, events);
		else if (!json_object_equal(o, n))
			lease_event("changed", n, seq, events);
	}
}

/**
 * vfa_watch_diff() - the events from one state to the next
 * @old, @cur: two vfa_watch_state() documents (old may be NULL: nothing)
 * @seq: the last event's number; each event appended takes the next
 * @events: array the events are appended to
 *
 * Per pool (by name): pf events for each PF whose entry changed, then
 * vf-removed and vf events (VFs by PCI address); then lease events
 * (leases by id). Pools gone from cur (config reloaded) end with
 * vf-removed events for their VFs.
 */
void vfa_watch_diff(json_object *old, json_object *cur, unsigned long long *seq,
		    json_object *events)
{
	json_object *opools = member(old, "pools"), *npools = member(cur, "pools");
	json_object *none = json_object_new_object();

	for (size_t i = 0; i < json_object_array_length(npools); i++) {
		json_object *np = json_object_array_get_idx(npools, i);
		json_object *op = find(opools, "pool", str_of(np, "pool"));

		pf_events(op ? op : none, np, seq, events);
		vf_events(op ? op : none, np, seq, events);
	}
	for (size_t i = 0; i < json_object_array_length(opools); i++) {
		json_object *op = json_object_array_get_idx(opools, i);

		if (!find(npools, "pool", str_of(op, "pool")))
			vf_events(op, none, seq, events);
	}
	lease_events(old, cur, seq, events);
	json_object_put(none);
}

/* The snapshot line of a watch at seq: the whole state's pools. The
 * caller owns the result. */
json_object *vfa_watch_snapshot(json_object *state, unsigned long long seq)
{
	json_object *ev = json_object_new_object();

	json_object_object_add(ev, "event", json_object_new_string("snapshot"));
	json_object_object_add(ev, "seq", json_object_new_int64((int64_t)seq));
	json_object_object_add(ev, "pools", json_object_get(member(state, "pools")));
	return ev;
}
