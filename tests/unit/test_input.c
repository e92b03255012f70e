/* User input: the strict MAC parser, the config (file-level refusals,
 * unsafe modes and owners, the buffer parser), the one request validator
 * and the socket line path, the CLI's choice of daemon socket and state
 * dir, the event loop's dup, and libpci's error path. No root needed. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/loop.h"
#include "pci/vfpci.h"
#include "vfio/vfio.h"
#include "tests/unit/t.h"

static char dir[256];		/* scratch */
static char vfagent[PATH_MAX];	/* the CLI under test */

static const char *put(const char *name, const char *data, size_t len)
{
	static char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(1);
	}
	close(fd);
	return path;
}

static const char *putstr(const char *name, const char *text)
{
	return put(name, text, strlen(text));
}

/* The first bytes of a scratch file, as a string (static buffer). */
static const char *slurp(const char *name)
{
	static char buf[512];
	char path[512];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* ---- MAC ---- */

static void test_mac(void)
{
	static const char *const bad[] = {
		" c:00:00:00:00:01", "+2:00:00:00:00:01", "0x:00:00:00:00:01",
		"-2:00:00:00:00:01", "02:00:00:00:00: 1", "02:00:00:00:00:+1",
		"02-00-00-00-00-01", "02:00:00:00:00:01 ", "02:00:00:00:00:0g",
		"02:00:00:00:00:001", "02:00:00:00:00", "", "02.00.00.00.00.01",
		"02:00:00:00:00:1:", "2:00:00:00:00:01x",
	};
	uint8_t mac[6], keep[6] = { 9, 9, 9, 9, 9, 9 };
	char name[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(mac, keep, 6);
		snprintf(name, sizeof(name), "input.mac.reject[%s]", bad[i]);
		T(name, vfa_parse_mac(bad[i], mac) == -EINVAL && !memcmp(mac, keep, 6),
		  "accepted or wrote the output");
	}
	T("input.mac.upper", vfa_parse_mac("52:54:00:AA:bB:Cc", mac) == 0 && mac[3] == 0xaa &&
	  mac[4] == 0xbb && mac[5] == 0xcc, "not parsed");
	T_EQ_INT("input.mac.multicast", vfa_parse_mac("03:00:00:00:00:01", mac), -EADDRNOTAVAIL);
	T_EQ_INT("input.mac.broadcast", vfa_parse_mac("ff:ff:ff:ff:ff:ff", mac), -EADDRNOTAVAIL);
	T_EQ_INT("input.mac.zero", vfa_parse_mac("00:00:00:00:00:00", mac), -EDESTADDRREQ);
	T("input.mac.error_text", strstr(vfa_mac_error(-EADDRNOTAVAIL), "unicast") &&
	  strstr(vfa_mac_error(-EINVAL), "':'"), "%s", vfa_mac_error(-EINVAL));
}

/* ---- config ---- */

static int load(const char *path, struct vfa_config *cfg, struct vfa_err *e)
{
	e->msg[0] = '\0';
	e->exit = 0;
	return vfa_config_load(path, cfg, e);
}

/* text must be refused at exit 2 with want in the message. */
static void conf_bad(const char *name, const char *text, const char *want)
{
	static struct vfa_config cfg;
	struct vfa_err e;
	int r = load(putstr("t.conf", text), &cfg, &e);

	T(name, r < 0 && e.exit == VFA_EXIT_USAGE && strstr(e.msg, want),
	  "r=%d exit %d \"%s\" (want \"%s\")", r, e.exit, e.msg, want);
}

static void test_config_values(void)
{
	static struct vfa_config cfg;
	struct vfa_err e;
	int r;

	conf_bad("input.config.mode_0666", "[pool a]\npf = eth0\nvfs = 1\nmode = 0666\n",
		 "t.conf:4: mode = 0666: no permission bits for \"other\"");
	conf_bad("input.config.mode_0604", "[pool a]\npf = eth0\nvfs = 1\nmode = 0604\n",
		 "t.conf:4: mode = 0604");
	conf_bad("input.config.mode_0601", "[pool a]\npf = eth0\nvfs = 1\nmode = 0601\n",
		 "t.conf:4: mode = 0601");
	conf_bad("input.config.owner_uid_-1", "[pool a]\npf = eth0\nvfs = 1\nowner = 4294967295:0\n",
		 "t.conf:4: owner = 4294967295:0: id 4294967295");
	conf_bad("input.config.owner_gid_-1", "[pool a]\npf = eth0\nvfs = 1\nowner = 0:4294967295\n",
		 "t.conf:4: owner = 0:4294967295");
	r = load(putstr("t.conf", "[pool a]\npf = eth0\nvfs = 1\nmode = 0660\nowner = 0:0\n"), &cfg, &e);
	T("input.config.mode_0660_ok", r == 0 && cfg.pools[0].mode == 0660, "r=%d %s", r, e.msg);
	r = load(putstr("t.conf", "# nothing yet\n[libvirt]\nuri = qemu:///system\n"), &cfg, &e);
	T("input.config.no_pools_loads", r == 0 && cfg.n_pools == 0, "r=%d %s", r, e.msg);
}

static void test_config_files(void)
{
	static struct vfa_config cfg;
	static const char nul[] = "[pool a]\npf = eth0\0\nvfs = 1\n";
	struct vfa_err e;
	int r;

	r = load(dir, &cfg, &e);
	T("input.config.directory", r == -EISDIR && e.exit == VFA_EXIT_USAGE &&
	  strstr(e.msg, "not a regular file"), "r=%d exit %d %s", r, e.exit, e.msg);
	r = load(put("nul.conf", nul, sizeof(nul) - 1), &cfg, &e);
	T("input.config.nul_byte", r < 0 && e.exit == VFA_EXIT_USAGE &&
	  strstr(e.msg, "NUL byte at offset 18"), "r=%d exit %d %s", r, e.exit, e.msg);
	r = load(putstr("empty.conf", ""), &cfg, &e);
	T("input.config.empty", r < 0 && e.exit == VFA_EXIT_USAGE && strstr(e.msg, "empty file"),
	  "r=%d exit %d %s", r, e.exit, e.msg);
	r = load("/dev/null", &cfg, &e);
	T("input.config.device", r < 0 && e.exit == VFA_EXIT_USAGE &&
	  strstr(e.msg, "not a regular file"), "r=%d exit %d %s", r, e.exit, e.msg);
	{
		static const char text[] = "[pool a]\npf = eth0, eth1\nvfs = 3\n[serve]\nsocket = /run/x.sock";

		r = vfa_config_parse(text, sizeof(text) - 1, "mem", &cfg, &e);
		T("input.config.parse_buffer", r == 0 && cfg.n_pools == 1 && cfg.pools[0].n_pf == 2 &&
		  !strcmp(cfg.socket, "/run/x.sock"), "r=%d %s", r, e.msg);
		r = vfa_config_parse(text, 12, "mem", &cfg, &e);
		T("input.config.parse_cut", r < 0 && strstr(e.msg, "mem:"), "r=%d %s", r, e.msg);
	}
}

/* ---- requests ---- */

static int line(const char *text, struct vfa_err *e, struct vfa_opts *o)
{
	json_object *req = NULL;
	const char *op;
	int r;

	memset(o, 0, sizeof(*o));
	e->msg[0] = '\0';
	e->exit = 0;
	r = vfa_req_line(text, strlen(text), &req, &op, o, e);
	json_object_put(req);
	return r;
}

static void test_request_lines(void)
{
	static const struct { const char *name, *line, *want; } bad[] = {
		{ "vlan_-1", "{\"op\":\"alloc\",\"pool\":\"a\",\"vlan\":-1}", "out of range 0..4094" },
		{ "vlan_4095", "{\"op\":\"alloc\",\"pool\":\"a\",\"vlan\":4095}", "4095 is reserved" },
		{ "vlan_string", "{\"op\":\"alloc\",\"pool\":\"a\",\"vlan\":\"x\"}", "must be an integer" },
		{ "vlan_float", "{\"op\":\"alloc\",\"pool\":\"a\",\"vlan\":1.5}", "must be an integer" },
		{ "qos_8", "{\"op\":\"alloc\",\"pool\":\"a\",\"vlan\":1,\"qos\":8}", "out of range 0..7" },
		{ "qos_alone", "{\"op\":\"alloc\",\"pool\":\"a\",\"qos\":3}", "\"qos\" needs \"vlan\"" },
		{ "live_type", "{\"op\":\"alloc\",\"pool\":\"a\",\"live\":1}", "true or false" },
		{ "pool_type", "{\"op\":\"alloc\",\"pool\":7}", "must be a string" },
		{ "op_type", "{\"op\":null}", "must be a string" },
		{ "unknown_field", "{\"op\":\"status\",\"colour\":\"red\"}", "unknown field \"colour\"" },
		{ "trailing", "{\"op\":\"status\"} {\"op\":\"setup\"}", "nothing after it" },
		{ "trailing_x", "{\"op\":\"status\"}x", "nothing after it" },
		{ "nul", "{\"op\":\"status\"}\0", "" },
		{ "not_object", "[\"status\"]", "one JSON object" },
		{ "no_op", "{\"pool\":\"a\"}", "no \"op\"" },
		{ "bad_mac", "{\"op\":\"alloc\",\"pool\":\"a\",\"mac\":\"+2:00:00:00:00:01\"}", "six pairs" },
		{ "empty_domain", "{\"op\":\"release\",\"domain\":\"\"}", "--domain '': empty" },
		{ "empty_pool", "{\"op\":\"alloc\",\"pool\":\"\"}", "--pool '': empty" },
		{ "empty_pci", "{\"op\":\"release\",\"pci\":\"\"}", "--pci '': empty" },
		{ "empty_lease", "{\"op\":\"release\",\"lease\":\"\"}", "--lease '': empty" },
		{ "empty_pf", "{\"op\":\"list\",\"pf\":\"\"}", "PF '': empty" },
		{ "ctrl_domain", "{\"op\":\"release\",\"domain\":\"a\\nb\"}", "control character" },
		{ "bad_pci", "{\"op\":\"release\",\"pci\":\"12.0\"}", "PCI address" },
		{ "bad_lease", "{\"op\":\"release\",\"lease\":\"xyz\"}", "16 hex digits" },
		{ "two_selectors", "{\"op\":\"release\",\"pci\":\"0000:00:12.0\",\"domain\":\"d\"}", "exactly one" },
		{ "extra_option", "{\"op\":\"setup\",\"pool\":\"a\"}", "setup does not take --pool" },
		{ "unknown_op", "{\"op\":\"rm -rf\"}", "unknown command" },
		{ "single_quotes", "{'op':'status'}", "malformed" },
	};
	struct vfa_opts o;
	struct vfa_err e;
	char name[64];
	int r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object *req = (json_object *)1;
		const char *op;

		memset(&o, 0, sizeof(o));
		e.msg[0] = '\0';
		e.exit = 0;
		/* "nul" is the one case with a byte after the C string. */
		r = vfa_req_line(bad[i].line, strlen(bad[i].line) + !strcmp(bad[i].name, "nul"),
				 &req, &op, &o, &e);
		snprintf(name, sizeof(name), "input.req.reject.%s", bad[i].name);
		T(name, r < 0 && e.exit == VFA_EXIT_USAGE && strstr(e.msg, bad[i].want) && !req,
		  "r=%d exit %d \"%s\" (want \"%s\")", r, e.exit, e.msg, bad[i].want);
	}
	r = line("{\"op\":\"alloc\",\"pool\":\"a\",\"vlan\":0,\"qos\":7,\"mac\":\"02:00:00:00:00:01\"} \r", &e, &o);
	T("input.req.ok", r == 0 && o.has_vlan && o.vlan == 0 && o.qos == 7 && o.has_mac,
	  "r=%d %s", r, e.msg);
	/* What the user sent is echoed without control characters (logs). */
	r = line("{\"op\":\"re\\u001b[2Jboot\"}", &e, &o);
	T("input.req.echo_no_escape_op", r < 0 && !strchr(e.msg, 0x1b) && strstr(e.msg, "re?[2Jboot"),
	  "r=%d %s", r, e.msg);
	r = line("{\"op\":\"status\",\"a\\nb\":1}", &e, &o);
	T("input.req.echo_no_newline_field", r < 0 && !strchr(e.msg, '\n') && strstr(e.msg, "a?b"),
	  "r=%d %s", r, e.msg);
	r = line("{\"op\":\"alloc\",\"pool\":\"a\",\"mac\":\"\\r52:54\"}", &e, &o);
	T("input.req.echo_no_cr_mac", r < 0 && !strchr(e.msg, '\r'), "r=%d %s", r, e.msg);
	r = line("{\"op\":\"release\",\"lease\":\"0123456789abcdef\"}", &e, &o);
	T("input.req.ok_lease", r == 0, "r=%d %s", r, e.msg);
}

/* The CLI's own options go through the same validator. */
static void test_request_check(void)
{
	struct vfa_opts o = { .domain = "" };
	struct vfa_err e = { "", 0 };
	int r = vfa_req_check("release", &o, &e);

	T("input.check.empty_domain", r == -EINVAL && e.exit == VFA_EXIT_USAGE, "r=%d %s", r, e.msg);
	{
		struct vfa_lease l;
		char big[sizeof(l.domain) + 1];

		memset(big, 'd', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memset(&o, 0, sizeof(o));
		o.domain = big;
		r = vfa_req_check("release", &o, &e);
		T("input.check.domain_too_long", r == -ENAMETOOLONG && e.exit == VFA_EXIT_USAGE,
		  "r=%d %s", r, e.msg);
		big[sizeof(l.domain) - 1] = '\0';	/* fits the journal exactly */
		r = vfa_req_check("release", &o, &e);
		T("input.check.domain_fits", r == 0, "r=%d %s", r, e.msg);
	}
	memset(&o, 0, sizeof(o));
	o.pool = "a";
	o.live = true;
	r = vfa_req_check("alloc", &o, &e);
	T("input.check.live_needs_domain", r < 0 && strstr(e.msg, "need --domain"), "r=%d %s", r, e.msg);
}

/* Framing as the daemon does it: lines split at '\n', a line that never
 * ends is refused at VFA_REQ_MAX. */
static void test_frame(void)
{
	static char big[VFA_REQ_MAX + 10];
	size_t n = 0;

	T("input.frame.line", vfa_req_frame("{}\n{", 4, &n) == 1 && n == 2, "n=%zu", n);
	T("input.frame.partial", vfa_req_frame("{\"op\"", 5, &n) == 0, "complete?");
	memset(big, 'x', sizeof(big));
	T_EQ_INT("input.frame.too_long", vfa_req_frame(big, VFA_REQ_MAX, &n), -EMSGSIZE);
	big[VFA_REQ_MAX + 5] = '\n';
	T_EQ_INT("input.frame.newline_past_max", vfa_req_frame(big, sizeof(big), &n), -EMSGSIZE);
}

/* ---- the CLI ---- */

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

static pid_t spawn(char *const argv[], const char *err_path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(fd, 2);
		dup2(fd, 1);
		execv(vfagent, argv);
		_exit(127);
	}
	return pid;
}

/* Runs argv; if it connects to lfd, answers like a daemon and returns 1
 * with the request line in req. Returns 0 if it exited without calling.
 * *ret_status: its exit status. */
static int serve_one(int lfd, char *const argv[], char *req, size_t len, int *ret_status)
{
	const char *reply = "{\"ok\":true,\"exit\":0,\"result\":{\"pools\":[]}}\n";
	char err[300];
	pid_t pid;
	int st = 0, got = 0;

	snprintf(err, sizeof(err), "%s/cli.err", dir);
	pid = spawn(argv, err);
	for (int i = 0; i < 300 && !got; i++) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };

		if (poll(&p, 1, 100) == 1) {
			int c = accept(lfd, NULL, NULL);
			size_t have = 0;
			ssize_t n = 1;

			/* The whole line: the client sends it in two writes. */
			while (c >= 0 && n > 0 && have < len - 1 && !memchr(req, '\n', have)) {
				n = recv(c, req + have, len - 1 - have, 0);
				have += n > 0 ? (size_t)n : 0;
			}
			req[have] = '\0';
			if (c >= 0 && send(c, reply, strlen(reply), MSG_NOSIGNAL) < 0)
				perror("send");
			if (c >= 0)
				close(c);
			got = 1;
		} else if (waitpid(pid, &st, WNOHANG) == pid) {
			*ret_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
			return 0;
		}
	}
	if (!got)
		kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	*ret_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	return got;
}

static void test_cli_socket(void)
{
	char conf[300], st[300], sock[300], flag_sock[300], req[4096] = "", text[600];
	int lfd, lfd2, status = -1, got;

	snprintf(st, sizeof(st), "%s/state", dir);
	snprintf(sock, sizeof(sock), "%s/conf.sock", dir);
	snprintf(flag_sock, sizeof(flag_sock), "%s/flag.sock", dir);
	snprintf(text, sizeof(text), "[pool a]\npf = no-such-pf0\nvfs = 1\n[serve]\nsocket = %s\n", sock);
	snprintf(conf, sizeof(conf), "%s", putstr("sock.conf", text));
	lfd = listen_at(sock);
	{
		char *const argv[] = { "vfagent", "-c", conf, "-s", st, "status", NULL };

		got = serve_one(lfd, argv, req, sizeof(req), &status);
		T("input.cli.config_socket", got && strstr(req, "\"status\"") && status == 0,
		  "the CLI %s the configured socket %s (exit %d: %s)", got ? "called" : "did not call",
		  sock, status, slurp("cli.err"));
	}
	lfd2 = listen_at(flag_sock);
	{
		char *const argv[] = { "vfagent", "-c", conf, "-s", st, "--socket", flag_sock,
				       "status", NULL };

		got = serve_one(lfd2, argv, req, sizeof(req), &status);
		T("input.cli.flag_beats_config", got && status == 0, "--socket %s not called (exit %d: %s)",
		  flag_sock, status, slurp("cli.err"));
	}
	close(lfd2);
	close(lfd);
}

static void test_cli_state_dir(void)
{
	char err[300], st[300];
	const char *conf = putstr("sd.conf", "[pool a]\npf = no-such-pf0\nvfs = 1\n"), *msg;
	int status = -1;
	pid_t pid;

	snprintf(st, sizeof(st), "%s", putstr("not-a-dir", "x"));
	snprintf(err, sizeof(err), "%s/sd.err", dir);
	{
		char *const argv[] = { "vfagent", "-c", (char *)conf, "-s", st, "status", NULL };

		pid = spawn(argv, err);
		waitpid(pid, &status, 0);
	}
	msg = slurp("sd.err");
	T("input.cli.state_dir_file", WIFEXITED(status) && WEXITSTATUS(status) == VFA_EXIT_USAGE &&
	  strstr(msg, "state dir") && strstr(msg, "not a directory") && !strstr(msg, "vfagent.sock"),
	  "exit %d: %s", WIFEXITED(status) ? WEXITSTATUS(status) : -1, msg);
}

/* ---- event loop: the dup of an fd watched twice ---- */

static void nop(int id, int fd, uint32_t ev, void *ud)
{
	(void)id; (void)fd; (void)ev; (void)ud;
}

static void test_loop_cloexec(void)
{
	struct vfa_loop *l = NULL;
	int p[2], dup_fd = -1, flags = -1;
	char want[64], path[64], got[64];

	if (vfa_loop_new(&l) || pipe2(p, O_CLOEXEC)) {
		T("input.loop.setup", 0, "%s", strerror(errno));
		return;
	}
	vfa_loop_add(l, p[0], EPOLLIN, nop, NULL);
	vfa_loop_add(l, p[0], EPOLLIN, nop, NULL);	/* second watch: a dup */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	ssize_t n = readlink(path, want, sizeof(want) - 1);

	want[n > 0 ? n : 0] = '\0';
	for (int fd = 3; fd < 1024 && dup_fd < 0; fd++) {
		if (fd == p[0] || fd == p[1])	/* both ends show the same pipe */
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, got, sizeof(got) - 1);
		got[n > 0 ? n : 0] = '\0';
		if (n > 0 && !strcmp(got, want))
			dup_fd = fd;
	}
	if (dup_fd >= 0)
		flags = fcntl(dup_fd, F_GETFD);
	T("input.loop.dup_cloexec", dup_fd >= 0 && flags >= 0 && (flags & FD_CLOEXEC),
	  "dup fd %d flags %d (%s)", dup_fd, flags, want);
	vfa_loop_free(l);
	close(p[0]);
	close(p[1]);
}

/* mkdir -p under dir. */
static void mkdirs(char *d)
{
	for (char *s = d + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(d, 0755);
		*s = '/';
	}
	mkdir(d, 0755);
}

/* ---- libpci: the error path frees what libpci allocated ---- */

static void test_pci_leak(void)
{
	char d[512];
	struct vfpci *p = NULL;
	struct vfpci_addr a = { 0, 0, 5, 0 };
	struct vfpci_ident id;
	size_t before, after;
	int r = 0;

	snprintf(d, sizeof(d), "%s/sys/bus/pci/devices/0000:00:05.0", dir);
	mkdirs(d);
	strcat(d, "/config");	/* no vendor file: libpci's error() */
	{
		char cfg[64] = { 0x86, 0x80 };
		int fd = open(d, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || write(fd, cfg, sizeof(cfg)) != (ssize_t)sizeof(cfg))
			perror(d);
		close(fd);
	}
	snprintf(d, sizeof(d), "%s/sys", dir);
	if (vfpci_open(d, &p)) {
		T("input.pci.open", 0, "vfpci_open %s failed", d);
		return;
	}
	r = vfpci_ident(p, &a, &id);	/* warm up libpci's own caches */
	before = mallinfo2().uordblks;
	for (int i = 0; i < 200; i++)
		r = vfpci_ident(p, &a, &id);
	after = mallinfo2().uordblks;
	T("input.pci.error_path_frees", r == -EIO && after - before < 200 * 64,
	  "r=%d, %zu bytes kept over 200 failed calls", r, after - before);
	vfpci_close(p);
}

/* The kernel's VF limit, read where the kernel keeps it (the lab's igb:
 * sriov_totalvfs 7 while config space says TotalVFs 8). */
static void test_totalvfs(void)
{
	char d[512];
	struct vfio_ctx *c = NULL;
	unsigned int n = 0;
	int r;

	snprintf(d, sizeof(d), "%s/sys/bus/pci/devices/0000:00:02.0", dir);
	mkdirs(d);
	putstr("sys/bus/pci/devices/0000:00:02.0/sriov_totalvfs", "7\n");
	snprintf(d, sizeof(d), "%s/sys", dir);
	if (vfio_ctx_new(d, NULL, &c)) {
		T("input.totalvfs.ctx", 0, "vfio_ctx_new failed");
		return;
	}
	r = vfio_totalvfs(c, "0000:00:02.0", &n);
	T("input.totalvfs.sysfs", r == 0 && n == 7, "r=%d n=%u", r, n);
	r = vfio_totalvfs(c, "0000:00:05.0", &n);
	T("input.totalvfs.no_sriov", r < 0, "r=%d", r);
	vfio_ctx_free(c);
}

static void rmtree(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", path);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];

	(void)argc;
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(vfagent, sizeof(vfagent), "%s/../../vfagent", dirname(self));
	snprintf(dir, sizeof(dir), "/tmp/vfa-input.XXXXXX");
	if (!mkdtemp(dir)) {
		T("input.setup", 0, "mkdtemp: %s", strerror(errno));
		return t_done();
	}
	test_mac();
	test_config_values();
	test_config_files();
	test_request_lines();
	test_request_check();
	test_frame();
	if (access(vfagent, X_OK) == 0) {
		test_cli_socket();
		test_cli_state_dir();
	} else {
		t_skip("input.cli", "no ./vfagent built next to tests/");
	}
	test_loop_cloexec();
	test_pci_leak();
	test_totalvfs();
	rmtree(dir);
	return t_done();
}
