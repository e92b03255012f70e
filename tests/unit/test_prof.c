/* The hot-spot cuts of the daemon's request path keep their bytes: the
 * request validator's duplicate-key check (proto.c, no key decoded when
 * json-c merged none), and the lease's JSON (lease.c: keys added as new,
 * constant) as the journal writes it and the reply carries it. */
#include "agent/agent.h"
#include "agent/agent_priv.h"
#include "agent/journal_priv.h"
#include "tests/unit/t.h"

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/vfagent-client.h"

/* One request line through the validator: r and the message. */
static int line_check(const char *line, struct vfa_err *e)
{
	struct vfa_opts o = { 0 };
	json_object *req = NULL;
	const char *op;
	int r = vfa_req_line(line, strlen(line), &req, &op, &o, e);

	json_object_put(req);
	return r;
}

static void test_dup_keys(void)
{
	static const struct { const char *line, *msg; } cases[] = {
		{ "{\"op\":\"release\",\"pci\":\"0000:00:12.0\",\"pci\":\"0000:00:12.2\"}",
		  "field \"pci\" given more than once in the request: give each field once" },
		{ "{\"op\":\"release\",\"\\u0070ci\":\"0000:00:12.0\",\"pci\":\"0000:00:12.2\"}",
		  "field \"pci\" given more than once in the request: give each field once" },
		{ "{\"op\":\"status\",\"v\":1,\"op\":\"status\"}",
		  "field \"op\" given more than once in the request: give each field once" },
		{ "{\"op\":\"alloc\",\"pool\":\"a\",\"vlan\":1,\"qos\":2,\"vlan\":1,\"pool\":\"b\"}",
		  "field \"vlan\" given more than once in the request: give each field once" },
		/* keys of nested objects are not the request's */
		{ "{\"op\":\"status\",\"id\":\"{\\\"op\\\":1,\\\"op\\\":2}\"}", "" },
		{ "{\"p\\u006fol\":\"a\",\"op\":\"alloc\"}", "" },
		{ "{\"op\":\"alloc\",\"pool\":\"a\",\"vlan\":1,\"qos\":2,\"mac\":\"02:00:00:00:00:01\"}", "" },
	};
	char n[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vfa_err e = { "", 0 };
		int r = line_check(cases[i].line, &e);

		snprintf(n, sizeof(n), "prof.dup_key[%zu]", i);
		if (cases[i].msg[0])
			T(n, r == -EINVAL && e.exit == VFA_EXIT_USAGE && !strcmp(e.msg, cases[i].msg),
			  "r=%d exit %d \"%s\" for %s", r, e.exit, e.msg, cases[i].line);
		else
			T(n, r == 0, "r=%d \"%s\" for %s", r, e.msg, cases[i].line);
	}
}

/* A lease with every field set (escapes included), and one with the
 * optional ones empty. */
static void lease_fill(struct vfa_lease *l, bool full)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->id, sizeof(l->id), "0123456789abcdef");
	vfa_lease_set_state(l, VFA_LS_READY);
	snprintf(l->pool, sizeof(l->pool), "net1");
	snprintf(l->pf, sizeof(l->pf), "eth0");
	snprintf(l->pf_pci, sizeof(l->pf_pci), "0000:00:02.0");
	l->vf = 3;
	snprintf(l->pci, sizeof(l->pci), "0000:00:12.6");
	l->group = 12;
	snprintf(l->mac, sizeof(l->mac), "02:00:00:00:00:09");
	l->vlan = 100;
	l->qos = 2;
	l->pid = 4242;
	l->created = 1764115200;
	l->owner = VFA_NO_OWNER;
	if (!full)
		return;
	snprintf(l->domain, sizeof(l->domain), "vm/\"a\"\\b");
	snprintf(l->uuid, sizeof(l->uuid), "6f0e5d5c-1b1a-4c3e-9a8b-0123456789ab");
	l->attached = true;
	l->persistent = true;
	snprintf(l->holder, sizeof(l->holder), "k8s:vfagent.io/net1");
	l->owner = 1000;
}

static void test_lease_bytes(void)
{
	static const char *const want[] = {
		"ef71f3d6 {\"id\":\"0123456789abcdef\",\"state\":\"ready\",\"pool\":\"net1\",\"pf\":\"eth0\",\"pf_pci\":\"0000:00:02.0\",\"vf\":3,\"pci\":\"0000:00:12.6\",\"iommu_group\":12,\"vfio_node\":\"\\/dev\\/vfio\\/12\",\"mac\":\"02:00:00:00:00:09\",\"vlan\":100,\"qos\":2,\"domain\":\"vm\\/\\\"a\\\"\\\\b\",\"uuid\":\"6f0e5d5c-1b1a-4c3e-9a8b-0123456789ab\",\"attached\":true,\"persistent\":true,\"holder\":\"k8s:vfagent.io\\/net1\",\"pid\":4242,\"created\":1764115200,\"owner\":1000}\n",
		"49a67056 {\"id\":\"0123456789abcdef\",\"state\":\"ready\",\"pool\":\"net1\",\"pf\":\"eth0\",\"pf_pci\":\"0000:00:02.0\",\"vf\":3,\"pci\":\"0000:00:12.6\",\"iommu_group\":12,\"vfio_node\":\"\\/dev\\/vfio\\/12\",\"mac\":\"02:00:00:00:00:09\",\"vlan\":100,\"qos\":2,\"domain\":null,\"attached\":false,\"persistent\":false,\"holder\":null,\"pid\":4242,\"created\":1764115200,\"owner\":null}\n",
	};
	char buf[4096];

	for (int i = 0; i < 2; i++) {
		struct vfa_lease l;
		size_t n;
		char name[64];

		lease_fill(&l, i == 0);
		n = vfa_journal_format(&l, NULL, buf, sizeof(buf));
		snprintf(name, sizeof(name), "prof.lease_journal_bytes[%d]", i);
		T(name, n == strlen(want[i]) && !memcmp(buf, want[i], n), "got %.*s", (int)n, buf);
		/* the line and its NUL just fit; one byte less: 0 */
		snprintf(name, sizeof(name), "prof.lease_journal_fit[%d]", i);
		T(name, vfa_journal_format(&l, NULL, buf, n + 1) == n && !strcmp(buf, want[i]) &&
		  vfa_journal_format(&l, NULL, buf, n) == 0 && vfa_journal_format(&l, NULL, buf, 5) == 0,
		  "len %zu", n);
	}
}

/* vfa_lease_text() against json-c's serialization of vfa_lease_json():
 * every byte value in the free-text fields, and odd numbers. */
static void test_lease_text(void)
{
	struct vfa_lease l;
	char got[4096], n[64];
	int bad = 0, runs = 0;

	for (int c = 1; c < 256; c++) {
		for (int full = 0; full < 2; full++) {
			json_object *o;
			const char *want;
			size_t len;

			lease_fill(&l, full);
			if (full) {
				snprintf(l.domain, sizeof(l.domain), "d%cx/%c", c, c);
				if (c % 2 && sizeof(l.domain) > 141) {
					/* Long: c and '/' around lease_text's 64-byte pieces. */
					memset(l.domain, 'a', 140);
					l.domain[63] = l.domain[64] = l.domain[127] = (char)c;
					l.domain[128] = '/';
					l.domain[139] = (char)c;
					l.domain[140] = '\0';
				}
				snprintf(l.holder, sizeof(l.holder), "%c", c);
				l.pid = c % 2 ? -(long long)c * 1000000007LL : 0;
				l.created = c == 255 ? -9223372036854775807LL - 1 : c;
				l.owner = (uid_t)c * 16777259u;
				l.vf = (unsigned int)c;
				l.group = c - 128;
			}
			o = vfa_lease_json(&l);
			want = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
			len = vfa_lease_text(&l, got, sizeof(got));
			runs++;
			if (len != strlen(want) || strcmp(got, want)) {
				if (!bad++)
					printf("# byte %d: got  %s\n# want %s\n", c, got, want);
			}
			if (len > 2 && vfa_lease_text(&l, got, len) != 0)
				bad++;	/* one byte short for the NUL: 0 */
			json_object_put(o);
		}
	}
	snprintf(n, sizeof(n), "prof.lease_text_is_json_c[%d]", runs);
	T(n, bad == 0, "%d of %d leases differ from json-c's bytes", bad, runs);
}

/* The client library keeps one tokener per connection: a malformed or
 * cut reply line leaves nothing behind for the next one. */
static void test_client_lines(void)
{
	static const char lines[] = "{\"a\":\n{\"ok\":1}\n[1]\n{\"x\":\"y\"} junk\n{\"b\":[1,{\"c\":null}]}\n";
	static const int want_r[] = { -EBADMSG, 0, -EBADMSG, 0, 0 };
	static const char *const want_o[] = { "", "{\"ok\":1}", "", "{\"x\":\"y\"}",
					      "{\"b\":[1,{\"c\":null}]}" };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vfa_client *c = NULL;
	int lfd, r, st = -1;
	char n[64];
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/vfa-prof-test.%d", (int)getpid());
	unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1)) {
		T("prof.client_setup", 0, "socket: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		int fd = accept(lfd, NULL, NULL);

		_exit(fd < 0 || write(fd, lines, sizeof(lines) - 1) != (ssize_t)sizeof(lines) - 1);
	}
	r = vfa_client_connect(sa.sun_path, 5000, &c);
	T("prof.client_connect", r == 0, "%s", vfa_client_error(c));
	for (size_t i = 0; i < sizeof(want_r) / sizeof(want_r[0]) && !r; i++) {
		json_object *o = NULL;
		int rr = vfa_client_recv(c, 5000, &o);
		const char *got = rr ? "" : json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

		snprintf(n, sizeof(n), "prof.client_line[%zu]", i);
		T(n, rr == want_r[i] && !strcmp(got, want_o[i]), "r=%d %s", rr, rr ? vfa_client_error(c) : got);
		json_object_put(o);
	}
	vfa_client_close(c);
	waitpid(pid, &st, 0);
	close(lfd);
	unlink(sa.sun_path);
}

/* A tree with every kind of value json-c has: strings over every byte
 * value (NUL included), keys to escape, integer and double extremes,
 * empty containers, nulls in objects and arrays, nesting. */
static json_object *all_kinds(void)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array(), *in;
	char s[256];
	struct vfa_lease l;

	for (int c = 0; c < 256; c++)
		s[c] = (char)c;
	json_object_object_add(o, "v", json_object_new_int(1));
	json_object_object_add(o, "bytes", json_object_new_string_len(s, 256));
	json_object_object_add(o, "k/\x01\"\\\x7f\xc3\xa9", json_object_new_string("a/b"));
	json_object_object_add(o, "", json_object_new_string(""));
	json_object_object_add(o, "null", NULL);
	json_object_object_add(o, "t", json_object_new_boolean(1));
	json_object_object_add(o, "f", json_object_new_boolean(0));
	json_object_array_add(a, json_object_new_int64(INT64_MIN));
	json_object_array_add(a, json_object_new_int64(INT64_MAX));
	json_object_array_add(a, json_object_new_int64(INT64_MAX - 1));
	json_object_array_add(a, json_object_new_uint64(UINT64_MAX));
	json_object_array_add(a, json_object_new_int(-2147483647 - 1));
	json_object_array_add(a, json_object_new_int(0));
	json_object_array_add(a, NULL);
	json_object_array_add(a, json_object_new_double(0.1));
	json_object_array_add(a, json_object_new_double(-0.0));
	json_object_array_add(a, json_object_new_double(3.0));
	json_object_array_add(a, json_object_new_double(1e300));
	json_object_array_add(a, json_object_new_object());
	json_object_array_add(a, json_object_new_array());
	json_object_object_add(o, "list", a);
	in = json_object_new_object();
	lease_fill(&l, true);
	json_object_object_add(in, "lease", vfa_lease_json(&l));
	json_object_object_add(in, "deeper", json_tokener_parse("[[{\"a\":[null,{\"b\":{}}]}],\"\\u0000\"]"));
	json_object_object_add(o, "result", in);
	return o;
}

/* vfa_json_plain() against json-c on the reply envelopes and on a tree of
 * every kind, with and without '/' escaped, appended after bytes already
 * in the buffer. */
static void test_json_plain(void)
{
	static const int flags[] = { JSON_C_TO_STRING_PLAIN,
				     JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE };
	struct vfa_err e = { "bad \"thing\" /x\n", VFA_EXIT_USAGE };
	struct vfa_lease l;
	json_object *trees[5];
	char n[64];

	lease_fill(&l, true);
	trees[0] = all_kinds();
	trees[1] = vfa_reply_json(0, vfa_lease_json(&l), &e);
	trees[2] = vfa_reply_json(-EINVAL, NULL, &e);
	trees[3] = vfa_reply_json(-EINPROGRESS, json_object_new_object(), &e);
	trees[4] = json_object_new_string("/");
	for (size_t t = 0; t < sizeof(trees) / sizeof(trees[0]); t++) {
		for (int f = 0; f < 2; f++) {
			const char *want = json_object_to_json_string_ext(trees[t], flags[f]);
			char *buf = strdup("prefix"), *got;
			size_t len = 6, cap = 7;
			int r = vfa_json_plain(trees[t], flags[f], &buf, &len, &cap);

			got = buf ? buf + 6 : NULL;
			snprintf(n, sizeof(n), "prof.json_plain_is_json_c[%zu,%d]", t, f);
			T(n, r == 0 && !memcmp(buf, "prefix", 6) && len == 6 + strlen(want) &&
			  !strcmp(got, want), "r=%d\n# got  %s\n# want %s", r, got ? got : "", want);
			free(buf);
		}
		json_object_put(trees[t]);
	}
}

/* The client library sends json-c's PLAIN bytes of the request, "v"
 * added when absent, one line each, the same over several requests. */
static void test_client_send(void)
{
	static const char *const reqs[] = {
		"{\"op\":\"release\",\"pci\":\"0000:00:12.0\",\"domain\":\"a/b \\\"c\\\" \\u0001\\u00e9\"}",
		"{\"op\":\"status\",\"v\":1,\"id\":7}",
		"{\"op\":\"alloc\",\"pool\":\"net1\",\"vlan\":100,\"live\":true,\"id\":\"x/y\"}",
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vfa_client *c = NULL;
	char want[2048] = "", n[64];
	int lfd, r, st = -1;
	pid_t pid;

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		json_object *q = json_tokener_parse(reqs[i]);

		if (!json_object_object_get_ex(q, "v", NULL))
			json_object_object_add(q, "v", json_object_new_int(1));
		strcat(want, json_object_to_json_string_ext(q, JSON_C_TO_STRING_PLAIN));
		strcat(want, "\n");
		json_object_put(q);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/vfa-prof-send.%d", (int)getpid());
	unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1)) {
		T("prof.client_send_setup", 0, "socket: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {	/* exits 0 if it read exactly want, then EOF */
		int fd = accept(lfd, NULL, NULL);
		char got[2048];
		size_t len = 0;
		ssize_t k;

		while (fd >= 0 && len < sizeof(got) && (k = read(fd, got + len, sizeof(got) - len)) > 0)
			len += (size_t)k;
		_exit(len == strlen(want) && !memcmp(got, want, len) ? 0 : 1);
	}
	r = vfa_client_connect(sa.sun_path, 5000, &c);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]) && !r; i++) {
		json_object *q = json_tokener_parse(reqs[i]);

		r = vfa_client_send(c, q);
		json_object_put(q);
	}
	vfa_client_close(c);
	waitpid(pid, &st, 0);
	snprintf(n, sizeof(n), "prof.client_send_bytes");
	T(n, r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "r=%d, the reader saw other bytes (status %d)", r, st);
	close(lfd);
	unlink(sa.sun_path);
}

/* vfa_mac_str and vfa_new_id write their hex by hand: the bytes are
 * snprintf's "%02x" ones. */
static void test_hex(void)
{
	static const uint8_t edge[][6] = { { 0 }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
					   { 0x02, 0x0a, 0xa0, 0x10, 0x9f, 0xf9 } };
	uint8_t m[6];
	char got[18], want[18], id[17];
	int bad = 0;

	for (int i = 0; i < 1003; i++) {
		if (i < 3)
			memcpy(m, edge[i], 6);
		else
			vfa_random_bytes(m, 6);
		vfa_mac_str(m, got);
		snprintf(want, sizeof(want), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
			 m[3], m[4], m[5]);
		bad += strcmp(got, want) != 0;
	}
	T("prof.mac_str", bad == 0, "%d of 1003 MACs differ from snprintf's", bad);
	memset(id, 'x', sizeof(id));
	vfa_new_id(id);
	T("prof.new_id", strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16, "id \"%.17s\"", id);
}

int main(void)
{
	test_hex();
	test_client_send();
	test_json_plain();
	test_client_lines();
	test_dup_keys();
	test_lease_bytes();
	test_lease_text();
	return t_done();
}
