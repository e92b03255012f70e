/* vfagent serve's decisions without a daemon: log escaping, the per-uid
 * log limit, per-request rules, lease owners, the rule keys of the
 * config, peer credentials on a socketpair, the loop's dup of a watched
 * fd. */
#include "agent/serve_priv.h"
#include "agent/loop.h"
#include "tests/unit/t.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_escape(void)
{
	char out[256];

	vfa_log_escape("x\n<0>forged", out, sizeof(out));
	T_EQ_STR("escape.newline", out, "x\\x0a<0>forged");
	vfa_log_escape("a\x1b[31mb\\c\x7f", out, sizeof(out));
	T_EQ_STR("escape.controls_backslash", out, "a\\x1b[31mb\\x5cc\\x7f");
	vfa_log_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", out, sizeof(out));
	T_EQ_STR("escape.utf8_kept", out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	vfa_log_escape("\xff\xc0\x80\xed\xa0\x80", out, sizeof(out));
	T_EQ_STR("escape.invalid_utf8", out, "\\xff\\xc0\\x80\\xed\\xa0\\x80");
	vfa_log_escape("\xc2\x85z", out, sizeof(out));
	T_EQ_STR("escape.c1_control", out, "\\xc2\\x85z");
	vfa_log_escape("\xe2\x82", out, sizeof(out));
	T_EQ_STR("escape.truncated_sequence", out, "\\xe2\\x82");
	vfa_log_escape("ab\ncd", out, 5);
	T_EQ_STR("escape.cut_whole_escapes", out, "ab");
	vfa_log_escape("abc\xe2\x82\xac", out, 6);
	T_EQ_STR("escape.cut_whole_chars", out, "abc");
}

static void test_ratelimit(void)
{
	struct vfa_ratelimit rl = { .burst = 3, .per_s = 1 };
	unsigned long sup = 99, n = 0;
	int taken = 0;
	uid_t uid = 0;

	for (int i = 0; i < 100; i++)
		taken += vfa_ratelimit_take(&rl, 1000, 5000, &sup);
	T_EQ_INT("ratelimit.burst", taken, 3);
	T("ratelimit.other_uid", vfa_ratelimit_take(&rl, 1001, 5000, &sup) && sup == 0,
	  "uid 1001 limited by uid 1000's flood");
	T("ratelimit.refill", vfa_ratelimit_take(&rl, 1000, 6000, &sup) && sup == 97,
	  "after 1 s: sup=%lu, want 97", sup);
	T("ratelimit.empty_again", !vfa_ratelimit_take(&rl, 1000, 6100, &sup), "no token left");
	T("ratelimit.pending", vfa_ratelimit_pending(&rl, 6200, &uid, &n) && uid == 1000 && n == 1,
	  "uid %u n %lu", (unsigned)uid, n);
	T("ratelimit.pending_reset", !vfa_ratelimit_pending(&rl, 6200, &uid, &n), "reported twice");
}

static struct vfa_config rules_cfg(void)
{
	struct vfa_config c = { .path = "/etc/vfagent/vfagent.conf", .n_pools = 2 };

	c.allow_uid[c.n_allow_uid++] = 1000;
	c.allow_uid[c.n_allow_uid++] = 1001;
	c.admin_gid[c.n_admin_gid++] = 500;
	snprintf(c.pools[0].name, sizeof(c.pools[0].name), "open");
	snprintf(c.pools[1].name, sizeof(c.pools[1].name), "net");
	c.pools[1].acl_uid[c.pools[1].n_acl_uid++] = 1000;
	c.pools[1].acl_gid[c.pools[1].n_acl_gid++] = 600;
	c.pools[1].vlan_lo[0] = 100;
	c.pools[1].vlan_hi[0] = 199;
	c.pools[1].vlan_lo[1] = 300;
	c.pools[1].vlan_hi[1] = 300;
	c.pools[1].n_vlan_ranges = 2;
	return c;
}

static int req(const struct vfa_config *c, const struct vfa_peer *p, const char *op,
	       const char *pool, int vlan, struct vfa_err *e)
{
	struct vfa_opts o = { .pool = pool, .has_vlan = vlan >= 0,
			      .vlan = (uint16_t)(vlan < 0 ? 0 : vlan) };

	memset(e, 0, sizeof(*e));
	return vfa_authz_request(c, p, op, &o, e);
}

static void test_authz(void)
{
	struct vfa_config c = rules_cfg();
	struct vfa_peer root = { .uid = 0 }, u1000 = { .uid = 1000, .gid = 1000 },
			u1001 = { .uid = 1001, .gid = 1001 }, stranger = { .uid = 2000, .gid = 2000 },
			admin = { .uid = 2001, .gid = 2001, .groups = { 7, 500 }, .ngroups = 2 },
			grp600 = { .uid = 1001, .gid = 1001, .groups = { 600 }, .ngroups = 1 };
	struct vfa_err e;
	int r;

	r = req(&c, &stranger, "status", NULL, -1, &e);
	T("authz.stranger", r == -EACCES && e.exit == VFA_EXIT_DENIED &&
	  strstr(e.msg, "[serve] allow-users or allow-groups"), "r=%d exit=%d %s", r, e.exit, e.msg);
	T_EQ_INT("authz.admin_connects", req(&c, &admin, "status", NULL, -1, &e), 0);
	T_EQ_INT("authz.user_status", req(&c, &u1001, "status", NULL, -1, &e), 0);
	r = req(&c, &u1000, "setup", NULL, -1, &e);
	T("authz.setup_denied", r == -EACCES && e.exit == 5 && strstr(e.msg, "admin-groups"),
	  "r=%d %s", r, e.msg);
	T_EQ_INT("authz.setup_root", req(&c, &root, "setup", NULL, -1, &e), 0);
	T_EQ_INT("authz.setup_admin", req(&c, &admin, "setup", NULL, -1, &e), 0);
	T_EQ_INT("authz.open_pool", req(&c, &u1001, "alloc", "open", 4000, &e), 0);
	r = req(&c, &u1001, "alloc", "net", -1, &e);
	T("authz.pool_acl", r == -EACCES && strstr(e.msg, "[pool net]"), "r=%d %s", r, e.msg);
	T_EQ_INT("authz.pool_acl_group", req(&c, &grp600, "alloc", "net", 150, &e), 0);
	T_EQ_INT("authz.pool_acl_user", req(&c, &u1000, "alloc", "net", 300, &e), 0);
	T_EQ_INT("authz.pool_default_vlan", req(&c, &u1000, "alloc", "net", -1, &e), 0);
	r = req(&c, &u1000, "alloc", "net", 0, &e);
	T("authz.vlan_untagged_denied", r == -EACCES && strstr(e.msg, "allow-vlans"), "r=%d %s", r, e.msg);
	r = req(&c, &u1000, "alloc", "net", 200, &e);
	T("authz.vlan_out_of_range", r == -EACCES && strstr(e.msg, "VLAN 200"), "r=%d %s", r, e.msg);
	T_EQ_INT("authz.admin_bypasses_pool", req(&c, &admin, "alloc", "net", 5, &e), 0);
	T_EQ_INT("authz.unknown_pool_left_to_dispatch", req(&c, &u1001, "alloc", "nope", -1, &e), 0);
	/* Revocation: the same peer, a config without it. */
	c.n_allow_uid = 1;
	r = req(&c, &u1001, "status", NULL, -1, &e);
	T("authz.revoked", r == -EACCES, "r=%d", r);
}

static void test_release(void)
{
	struct vfa_config c = rules_cfg();
	struct vfa_lease ls[3] = {
		{ .id = "aaaa", .pci = "0000:00:12.0", .domain = "vm1",
		  .uuid = "11111111-2222-3333-4444-555555555555", .owner = 1000 },
		{ .id = "bbbb", .pci = "0000:00:12.2", .domain = "vm1",
		  .uuid = "66666666-2222-3333-4444-555555555555", .owner = 1001 },
		{ .id = "cccc", .pci = "0000:00:12.4", .domain = "vm2", .owner = VFA_NO_OWNER },
	};
	struct vfa_peer u1000 = { .uid = 1000, .gid = 1000 },
			admin = { .uid = 2001, .gid = 500 };
	struct vfa_opts own = { .lease = "aaaa" }, other = { .pci = "0000:00:12.2" },
			dom = { .domain = "vm1" }, unowned = { .lease = "cccc" },
			by_uuid = { .domain = "66666666-2222-3333-4444-555555555555" },
			renamed = { .domain = "vm1-new-name" };
	struct vfa_err e = { "", 0 };
	int r;

	T_EQ_INT("release.own", vfa_authz_release(&c, &u1000, &own, "", ls, 3, &e), 0);
	r = vfa_authz_release(&c, &u1000, &other, "", ls, 3, &e);
	T("release.other", r == -EACCES && e.exit == 5 && strstr(e.msg, "belongs to uid 1001"),
	  "r=%d %s", r, e.msg);
	r = vfa_authz_release(&c, &u1000, &dom, "", ls, 3, &e);
	T("release.domain_with_other", r == -EACCES, "a domain holding another's lease: r=%d", r);
	r = vfa_authz_release(&c, &u1000, &unowned, "", ls, 3, &e);
	T("release.no_owner", r == -EACCES && strstr(e.msg, "no recorded owner"), "r=%d %s", r, e.msg);
	T_EQ_INT("release.admin", vfa_authz_release(&c, &admin, &dom, "", ls, 3, &e), 0);
	/* vfa_release also matches --domain by UUID: so must the rule. */
	r = vfa_authz_release(&c, &u1000, &by_uuid, "", ls, 3, &e);
	T("release.domain_as_uuid", r == -EACCES && strstr(e.msg, "bbbb"), "r=%d %s", r, e.msg);
	r = vfa_authz_release(&c, &u1000, &renamed, "66666666-2222-3333-4444-555555555555",
			      ls, 3, &e);
	T("release.renamed_domain", r == -EACCES && strstr(e.msg, "bbbb"), "r=%d %s", r, e.msg);
	T_EQ_INT("release.renamed_own", vfa_authz_release(&c, &u1000, &renamed,
			"11111111-2222-3333-4444-555555555555", ls, 3, &e), 0);
}

static int load(const char *text, struct vfa_config *c, struct vfa_err *e)
{
	char path[] = "/tmp/vfa-rules.XXXXXX";
	int fd = mkstemp(path), r;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		r = -errno;
	close(fd);
	r = vfa_config_load(path, c, e);
	unlink(path);
	return r;
}

static void test_config(void)
{
	static struct vfa_config c;
	struct vfa_err e = { "", 0 };
	struct group *g = getgrgid(0);
	char txt[512];
	int r;

	if (!g) {
		printf("SKIP config.rules: no group 0\n");
		return;
	}
	snprintf(txt, sizeof(txt),
		 "[pool a]\npf = eth9\nvfs = 2\nallow-users = root\nallow-groups = %s\n"
		 "allow-vlans = 100-199, 300 0\n[serve]\nadmin-groups = %s\n"
		 "max-connections-per-user = 3\n", g->gr_name, g->gr_name);
	r = load(txt, &c, &e);
	T("config.rules", r == 0 && c.pools[0].n_acl_uid == 1 && c.pools[0].acl_uid[0] == 0 &&
	  c.pools[0].n_acl_gid == 1 && c.pools[0].n_vlan_ranges == 3 &&
	  c.pools[0].vlan_lo[0] == 100 && c.pools[0].vlan_hi[0] == 199 &&
	  c.pools[0].vlan_lo[1] == 300 && c.pools[0].vlan_hi[2] == 0 &&
	  c.n_admin_gid == 1 && c.max_conn_per_user == 3, "r=%d %s", r, e.msg);
	r = load("[pool a]\npf = eth9\nvfs = 2\nallow-vlans = 200-100\n", &c, &e);
	T("config.vlan_range_backwards", r < 0 && strstr(e.msg, ":4: allow-vlans"), "r=%d %s", r, e.msg);
	r = load("[pool a]\npf = eth9\nvfs = 2\nallow-vlans = 4095\n", &c, &e);
	T("config.vlan_reserved", r < 0 && e.exit == VFA_EXIT_USAGE, "r=%d %s", r, e.msg);
	r = load("[serve]\nadmin-groups = vfa-no-such-group\n", &c, &e);
	T("config.admin_group_unknown", r < 0 && strstr(e.msg, "no group \"vfa-no-such-group\""),
	  "r=%d %s", r, e.msg);
	r = load("[serve]\nmax-connections-per-user = 0\n", &c, &e);
	T("config.max_conn_zero", r < 0 && strstr(e.msg, "max-connections-per-user"), "r=%d %s", r, e.msg);
	r = load("[libvirt]\nadmin-groups = root\n", &c, &e);
	T("config.rule_outside_serve", r < 0, "admin-groups accepted in [libvirt]");
}

static void test_peer(void)
{
	struct vfa_peer p;
	gid_t mine[VFA_PEER_GROUPS];
	int sv[2], n = getgroups(VFA_PEER_GROUPS, mine), r;
	bool all = true;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		printf("SKIP peer: socketpair: %s\n", strerror(errno));
		return;
	}
	r = vfa_peer_get(sv[0], &p);
	T("peer.cred", r == 0 && p.uid == getuid() && p.gid == getgid() && p.pid == getpid(),
	  "r=%d uid %u", r, (unsigned)p.uid);
	for (int i = 0; i < n; i++)
		all &= vfa_peer_in_group(&p, mine[i]);
	T("peer.groups", r == 0 && all && p.ngroups == (unsigned)n, "ngroups %u, getgroups %d",
	  p.ngroups, n);
	close(sv[0]);
	close(sv[1]);
}

static int dup_cloexec = -1;

static void on_io(int id, int fd, uint32_t events, void *ud)
{
	(void)id;
	(void)events;
	(void)ud;
	dup_cloexec = fcntl(fd, F_GETFD) & FD_CLOEXEC;
}

static void test_loop_dup(void)
{
	struct vfa_loop *l = NULL;
	int sv[2], a, b;

	if (vfa_loop_new(&l) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		printf("SKIP loop.dup_cloexec: setup failed\n");
		vfa_loop_free(l);
		return;
	}
	/* The same fd twice (libvirt does this): the second is a dup. */
	a = vfa_loop_add(l, sv[0], EPOLLOUT, on_io, NULL);
	b = vfa_loop_add(l, sv[0], EPOLLIN, on_io, NULL);
	if (write(sv[1], "x", 1) != 1)
		dup_cloexec = -2;
	vfa_loop_del(l, a);
	vfa_loop_run_once(l);
	T("loop.dup_cloexec", a > 0 && b > 0 && dup_cloexec == FD_CLOEXEC,
	  "the dup'ed fd of watch %d has FD_CLOEXEC %d", b, dup_cloexec);
	vfa_loop_free(l);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	test_escape();
	test_ratelimit();
	test_authz();
	test_release();
	test_config();
	test_peer();
	test_loop_dup();
	return t_done();
}
