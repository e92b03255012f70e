/* The daemon protocol, version 1 (doc/PROTOCOL.md): framing, versions,
 * "id", the holder field, the watch events computed from two states. */
#include "agent/agent.h"
#include "agent/serve_priv.h"
#include "t.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/vfagent-client.h"

/* One request line through the daemon's input path. */
static int line(const char *text, const char **ret_op, json_object **ret_id,
		struct vfa_err *e)
{
	struct vfa_opts o = { 0 };
	json_object *req = NULL;
	int r = vfa_req_line_id(text, strlen(text), &req, ret_op, &o, ret_id, e);

	json_object_put(req);
	return r;
}

static const char *plain(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

static void test_versions(void)
{
	struct vfa_err e = { "", 0 };
	json_object *id = NULL, *rep;
	const char *op;
	int r;

	r = line("{\"op\":\"status\"}", &op, &id, &e);
	T("v1.absent_is_1", r == 0 && !id, "r=%d %s", r, e.msg);
	r = line("{\"op\":\"status\",\"v\":1}", &op, &id, &e);
	T("v1.v1", r == 0, "r=%d %s", r, e.msg);
	r = line("{\"op\":\"status\",\"v\":2,\"id\":\"q\"}", &op, &id, &e);
	T("v1.v2_refused", r == -EPROTONOSUPPORT && e.exit == VFA_EXIT_USAGE &&
	  strstr(e.msg, "version 2") && id && !strcmp(json_object_get_string(id), "q"),
	  "r=%d exit %d %s", r, e.exit, e.msg);
	rep = vfa_reply_json(r, NULL, &e);
	T("v1.v2_reply", strstr(plain(rep), "\"errno\":\"EPROTONOSUPPORT\"") &&
	  strstr(plain(rep), "\"v\":1") && strstr(plain(rep), "\"exit\":2"), "%s", plain(rep));
	json_object_put(rep);
	json_object_put(id);
	id = NULL;
	r = line("{\"op\":\"status\",\"v\":0}", &op, &id, &e);
	T("v1.v0_refused", r == -EINVAL, "r=%d", r);
	r = line("{\"op\":\"status\",\"v\":\"1\"}", &op, &id, &e);
	T("v1.v_string_refused", r == -EINVAL, "r=%d", r);
}

static void test_ids(void)
{
	struct vfa_err e = { "", 0 };
	json_object *id = NULL;
	const char *op;
	char big[200];
	int r;

	r = line("{\"op\":\"hello\",\"id\":42}", &op, &id, &e);
	T("v1.id_int", r == 0 && id && json_object_get_int(id) == 42 && !strcmp(op, "hello"),
	  "r=%d %s", r, e.msg);
	json_object_put(id);
	id = NULL;
	r = line("{\"op\":\"nope\",\"id\":\"k\"}", &op, &id, &e);
	T("v1.id_kept_on_refusal", r == -EOPNOTSUPP && id && !strcmp(json_object_get_string(id), "k"),
	  "r=%d", r);
	json_object_put(id);
	id = NULL;
	r = line("{\"op\":\"status\",\"id\":[1]}", &op, &id, &e);
	T("v1.id_array_refused", r == -EINVAL && !id, "r=%d", r);
	snprintf(big, sizeof(big), "{\"op\":\"status\",\"id\":\"%065d\"}", 0);
	r = line(big, &op, &id, &e);
	T("v1.id_65_refused", r == -EINVAL && !id, "r=%d", r);
	snprintf(big, sizeof(big), "{\"op\":\"status\",\"id\":\"%064d\"}", 0);
	r = line(big, &op, &id, &e);
	T("v1.id_64_ok", r == 0 && id, "r=%d %s", r, e.msg);
	json_object_put(id);
	id = NULL;
	r = line("{\"op\":\"watch\"}", &op, &id, &e);
	T("v1.watch_known", r == 0, "r=%d %s", r, e.msg);
	r = line("{\"op\":\"watch\",\"pool\":\"p\"}", &op, &id, &e);
	T("v1.watch_takes_nothing", r == -EINVAL, "r=%d", r);
}

static void test_fields(void)
{
	struct vfa_err e = { "", 0 };
	json_object *id = NULL, *h = vfa_hello_json();
	const char *op;
	int r;

	r = line("{\"op\":\"alloc\",\"pool\":\"p\",\"pci\":\"0000:01:10.0\",\"holder\":\"k8s:vfagent.io/net1\"}",
		 &op, &id, &e);
	T("v1.alloc_pci_holder", r == 0, "r=%d %s", r, e.msg);
	r = line("{\"op\":\"alloc\",\"pool\":\"p\",\"holder\":\"a b\"}", &op, &id, &e);
	T("v1.holder_space_refused", r == -EINVAL && strstr(e.msg, "--holder"), "r=%d %s", r, e.msg);
	r = line("{\"op\":\"alloc\",\"pool\":\"p\",\"holder\":\"\"}", &op, &id, &e);
	T("v1.holder_empty_refused", r == -EINVAL, "r=%d", r);
	r = line("{\"op\":\"release\",\"holder\":\"x\"}", &op, &id, &e);
	T("v1.release_holder", r == 0, "r=%d %s", r, e.msg);
	r = line("{\"op\":\"release\",\"holder\":\"x\",\"pci\":\"0000:01:10.0\"}", &op, &id, &e);
	T("v1.release_one_of", r == -EINVAL, "r=%d", r);
	T("v1.hello", strstr(plain(h), "\"v\":1") && strstr(plain(h), "\"watch\"") &&
	  strstr(plain(h), "\"version\":"), "%s", plain(h));
	json_object_put(h);
}

static const char lease_txt[] =
	"{\"id\":\"0123456789abcdef\",\"state\":\"ready\",\"pool\":\"p\",\"pf\":\"eth1\","
	"\"pf_pci\":\"0000:01:00.0\",\"vf\":0,\"pci\":\"0000:01:10.0\",\"iommu_group\":5,"
	"\"mac\":\"02:00:00:00:00:01\",\"vlan\":0,\"qos\":0,\"domain\":null,\"attached\":false,"
	"\"persistent\":false%s,\"pid\":1,\"created\":1}";

static int parse_with(const char *holder)
{
	char buf[1024];
	struct vfa_lease l;
	int r;

	snprintf(buf, sizeof(buf), lease_txt, holder);
	r = vfa_lease_parse(buf, strlen(buf), &l);
	return r ? r : (int)strlen(l.holder);
}

static void test_lease_holder(void)
{
	struct vfa_lease l;
	json_object *j;
	char buf[1024];

	T("v1.lease_no_holder", parse_with("") == 0, "r=%d", parse_with(""));
	T("v1.lease_null_holder", parse_with(",\"holder\":null") == 0, "bad");
	T("v1.lease_holder", parse_with(",\"holder\":\"k8s:x\"") == 5, "r=%d", parse_with(",\"holder\":\"k8s:x\""));
	T("v1.lease_holder_space", parse_with(",\"holder\":\"a b\"") == -EBADMSG, "accepted");
	T("v1.lease_holder_int", parse_with(",\"holder\":7") == -EBADMSG, "accepted");
	T("v1.lease_holder_empty", parse_with(",\"holder\":\"\"") == -EBADMSG, "accepted");
	snprintf(buf, sizeof(buf), lease_txt, ",\"holder\":\"h1\"");
	vfa_lease_parse(buf, strlen(buf), &l);
	j = vfa_lease_json(&l);
	T("v1.lease_holder_roundtrip", strstr(plain(j), "\"holder\":\"h1\""), "%s", plain(j));
	json_object_put(j);
}

static json_object *state(const char *pf_up, const char *vf_health, bool lease)
{
	char buf[2048], vf[256] = "";

	if (vf_health)
		snprintf(vf, sizeof(vf), "{\"pool\":\"p\",\"pci\":\"0000:01:10.0\",\"health\":\"%s\"}",
			 vf_health);
	snprintf(buf, sizeof(buf),
		 "{\"pools\":[{\"pool\":\"p\",\"pfs\":[{\"pf\":\"eth1\",\"pci\":\"0000:01:00.0\",\"up\":%s,\"present\":true}],"
		 "\"vfs\":[%s]}],\"leases\":[%s]}", pf_up, vf,
		 lease ? "{\"id\":\"0123456789abcdef\",\"pci\":\"0000:01:10.0\"}" : "");
	return json_tokener_parse(buf);
}

static void test_diff(void)
{
	json_object *a = state("true", "healthy", false), *b = state("false", "unhealthy", true);
	json_object *c = state("false", NULL, false), *ev = json_object_new_array();
	unsigned long long seq = 10;
	const char *s;

	T("v1.states_parse", a && b && c, "bad test JSON");
	vfa_watch_diff(a, a, &seq, ev);
	T("v1.diff_none", json_object_array_length(ev) == 0 && seq == 10, "%s", plain(ev));
	vfa_watch_diff(a, b, &seq, ev);
	s = plain(ev);
	T("v1.diff_pf_vf_lease", json_object_array_length(ev) == 3 && seq == 13 &&
	  strstr(s, "{\"event\":\"pf\",\"seq\":11,\"pool\":\"p\",\"pf\":\"eth1\",\"pci\":\"0000:01:00.0\",\"up\":false,\"present\":true}") &&
	  strstr(s, "{\"event\":\"vf\",\"seq\":12,\"vf\":{") && strstr(s, "\"health\":\"unhealthy\"") &&
	  strstr(s, "{\"event\":\"lease\",\"seq\":13,\"change\":\"added\""), "%s", s);
	json_object_put(ev);
	ev = json_object_new_array();
	vfa_watch_diff(b, c, &seq, ev);
	s = plain(ev);
	T("v1.diff_removed", json_object_array_length(ev) == 2 &&
	  strstr(s, "{\"event\":\"vf-removed\",\"seq\":14,\"pool\":\"p\",\"pci\":\"0000:01:10.0\"}") &&
	  strstr(s, "\"change\":\"removed\""), "%s", s);
	json_object_put(ev);
	ev = vfa_watch_snapshot(a, 7);
	T("v1.snapshot", strstr(plain(ev), "{\"event\":\"snapshot\",\"seq\":7,\"pools\":[{\"pool\":\"p\""), "%s", plain(ev));
	json_object_put(ev);
	json_object_put(a);
	json_object_put(b);
	json_object_put(c);
}

/* release --holder is an admin's: a user may not sweep others' leases. */
static void test_holder_authz(void)
{
	static struct vfa_config cfg;
	struct vfa_peer user = { .uid = 1000, .gid = 1000 }, root = { .uid = 0 };
	struct vfa_opts o = { .holder = "k8s:x" };
	struct vfa_err e = { "", 0 };
	int r;

	snprintf(cfg.path, sizeof(cfg.path), "t.conf");
	cfg.allow_uid[cfg.n_allow_uid++] = 1000;
	r = vfa_authz_request(&cfg, &user, "release", &o, &e);
	T("v1.release_holder_user_denied", r == -EACCES && e.exit == VFA_EXIT_DENIED, "r=%d %s", r, e.msg);
	r = vfa_authz_request(&cfg, &root, "release", &o, &e);
	T("v1.release_holder_root", r == 0, "r=%d %s", r, e.msg);
}

/* A fake daemon: reads two request lines, answers them in one write
 * (two lines at once), then a third line cut in two writes, then EOF. */
static void fake_daemon(int lfd)
{
	static const char first[] = "{\"v\":1,\"id\":\"a\"}\n{\"v\":1,\"id\":\"b\"}\n{\"event\"";
	static const char rest[] = ":\"x\"}\n";
	int fd = accept(lfd, NULL, NULL);
	char buf[4096];
	size_t got = 0, lines = 0;

	while (lines < 2 && got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n <= 0)
			_exit(1);
		for (ssize_t i = 0; i < n; i++)
			lines += buf[got + (size_t)i] == '\n';
		got += (size_t)n;
	}
	if (!memmem(buf, got, "\"v\":1", 5))
		_exit(2);
	if (write(fd, first, strlen(first)) < 0)
		_exit(1);
	usleep(50000);
	if (write(fd, rest, strlen(rest)) < 0)
		_exit(1);
	close(fd);
	_exit(0);
}

/* The library's framing: "v" added, replies joined or cut by the
 * transport come out one object per line, then -EPIPE at EOF. */
static void test_client_lib(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vfa_client *c = NULL;
	json_object *o, *q;
	int lfd, r, st = -1;
	pid_t pid;
	const char *want[] = { "a", "b" };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/vfa-client-test.%d", (int)getpid());
	unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1)) {
		T("v1.client_setup", 0, "socket: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0)
		fake_daemon(lfd);
	r = vfa_client_connect(sa.sun_path, 5000, &c);
	T("v1.client_connect", r == 0, "%s", vfa_client_error(c));
	for (int i = 0; i < 2 && !r; i++) {
		q = json_tokener_parse(i ? "{\"op\":\"status\",\"id\":\"b\"}" : "{\"op\":\"hello\",\"id\":\"a\"}");
		r = vfa_client_send(c, q);
		json_object_put(q);
	}
	for (int i = 0; i < 2; i++) {
		o = NULL;
		r = vfa_client_recv(c, 5000, &o);
		T(i ? "v1.client_line2" : "v1.client_line1",
		  r == 0 && strstr(plain(o), want[i]), "r=%d %s", r, r ? vfa_client_error(c) : plain(o));
		json_object_put(o);
	}
	o = NULL;
	r = vfa_client_next_event(c, 5000, &o);
	T("v1.client_cut_line", r == 0 && strstr(plain(o), "\"event\":\"x\""), "r=%d %s", r,
	  r ? vfa_client_error(c) : plain(o));
	json_object_put(o);
	r = vfa_client_recv(c, 5000, &o);
	T("v1.client_eof", r == -EPIPE, "r=%d", r);
	vfa_client_close(c);
	waitpid(pid, &st, 0);
	T("v1.client_sent_v", WIFEXITED(st) && WEXITSTATUS(st) == 0, "fake daemon status %d", st);
	close(lfd);
	unlink(sa.sun_path);
	r = vfa_client_connect(sa.sun_path, 1000, &c);
	T("v1.client_no_daemon", r == -ENOENT, "r=%d", r);
	vfa_client_close(c);
}

int main(void)
{
	test_client_lib();
	test_holder_authz();
	test_versions();
	test_ids();
	test_fields();
	test_lease_holder();
	test_diff();
	return t_failed ? 1 : 0;
}
