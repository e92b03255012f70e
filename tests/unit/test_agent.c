/* agent/: config parsing (good and each error, with file:line), the lease
 * journal (a file cut at any byte loads or is rejected cleanly; saves are
 * atomic), and the parsing of user input. No root. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/loop.h"
#include "tests/unit/t.h"

static char dir[] = "/tmp/vfagent-test-agent.XXXXXX";

static const char *write_conf(const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/t.conf", dir);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void conf_error(const char *name, const char *text, const char *want)
{
	struct vfa_config cfg;
	struct vfa_err e = { "", 0 };
	int r = vfa_config_load(write_conf(text), &cfg, &e);

	T(name, r < 0 && strstr(e.msg, want), "r=%d msg \"%s\", want \"%s\"", r, e.msg, want);
}

static void test_config(void)
{
	struct vfa_config cfg;
	struct vfa_err e = { "", 0 };
	const char *good =
		"# comment\n"
		"[libvirt]\n"
		"uri = qemu:///system\n"
		"[pool net1]\n"
		"pf = eth0\n"
		"pf = 0000:03:00.0, eth2\n"
		"vfs = 7\n"
		"vlan = 100:3\n"
		"spoofchk = off\n"
		"trust = on\n"
		"link-state = enable\n"
		"max-rate = 1000\n"
		"owner = 0:0\n"
		"mode = 0660\n"
		"[pool b]\n"
		"pf = eth1\n"
		"vfs = 2\n";
	struct vfa_pool *p;
	int r = vfa_config_load(write_conf(good), &cfg, &e);

	T("config.good", r == 0, "r=%d %s", r, e.msg);
	if (r)
		return;
	T_EQ_INT("config.pools", cfg.n_pools, 2);
	T_EQ_STR("config.uri", cfg.libvirt_uri, "qemu:///system");
	p = vfa_config_pool(&cfg, "net1");
	T("config.pool_lookup", p != NULL, "pool net1 missing");
	if (!p)
		return;
	T_EQ_INT("config.n_pf", p->n_pf, 3);
	T_EQ_STR("config.pf_list", p->pf[1], "0000:03:00.0");
	T_EQ_INT("config.vfs", p->vfs, 7);
	T("config.vlan_qos", p->vlan == 100 && p->qos == 3, "vlan %u qos %u", p->vlan, p->qos);
	T("config.switches", !p->spoofchk && p->trust && p->link_state == 1,
	  "spoofchk %d trust %d link %u", p->spoofchk, p->trust, p->link_state);
	T_EQ_INT("config.mode", p->mode, 0660);
	T_EQ_INT("config.max_rate", p->max_rate, 1000);
	p = vfa_config_pool(&cfg, "b");
	T("config.defaults", p && p->spoofchk && !p->trust && p->mode == 0600 && !p->has_owner,
	  "defaults wrong");

	conf_error("config.err.unknown_key", "[pool a]\npf = eth0\nvfs = 1\ncolour = red\n", "t.conf:4: unknown key \"colour\"");
	conf_error("config.err.vlan", "[pool a]\npf = eth0\nvlan = 4095\n", "t.conf:3: vlan = 4095");
	conf_error("config.err.qos", "[pool a]\npf = eth0\nqos = 8\n", "t.conf:3: qos = 8");
	conf_error("config.err.vfs", "[pool a]\npf = eth0\nvfs = many\n", "t.conf:3: vfs = many");
	conf_error("config.err.bool", "[pool a]\npf = eth0\ntrust = maybe\n", "t.conf:3: trust = maybe");
	conf_error("config.err.mode", "[pool a]\npf = eth0\nmode = 999\n", "t.conf:3: mode = 999");
	conf_error("config.err.owner", "[pool a]\npf = eth0\nowner = no-such-user-x:nogroup-x\n", "t.conf:3: owner");
	conf_error("config.err.link_state", "[pool a]\npf = eth0\nlink-state = up\n", "t.conf:3: link-state = up");
	conf_error("config.err.section", "[pools a]\npf = eth0\n", "t.conf:2: unknown section");
	conf_error("config.err.no_pf", "[pool a]\nvfs = 3\n", "t.conf:1: [pool a] has no pf");
	conf_error("config.err.no_vfs", "[pool a]\npf = eth0\n", "t.conf:1: [pool a] has no vfs");
	conf_error("config.err.pf_twice", "[pool a]\npf = eth0\nvfs = 1\n\n[pool b]\npf = eth1\npf = eth0\nvfs = 1\n",
		   "t.conf:7: pf eth0 is already in [pool a] (line 2)");
	conf_error("config.err.pool_twice", "[pool a]\npf = eth0\nvfs = 1\n[pool a]\nvfs = 2\n", "t.conf:5: [pool a]: pool defined twice");
	conf_error("config.err.syntax", "[pool a]\npf = eth0\nvfs = 1\nthis is not ini\n", "t.conf:4");
	{
		struct vfa_err e2 = { "", 0 };
		char missing[300];

		snprintf(missing, sizeof(missing), "%s/none.conf", dir);
		r = vfa_config_load(missing, &cfg, &e2);
		T("config.err.missing_file", r == -ENOENT && strstr(e2.msg, "none.conf"), "r=%d %s", r, e2.msg);
	}
}

static void test_input(void)
{
	uint8_t mac[6];
	uint16_t vlan;
	uint8_t qos;
	bool hq;

	T("input.mac_ok", vfa_parse_mac("52:54:00:aa:bb:cc", mac) == 0 && mac[5] == 0xcc, "parse failed");
	T_EQ_INT("input.mac_multicast", vfa_parse_mac("01:00:5e:00:00:01", mac), -EADDRNOTAVAIL);
	T_EQ_INT("input.mac_short", vfa_parse_mac("52:54:00:aa:bb", mac), -EINVAL);
	T_EQ_INT("input.mac_sep", vfa_parse_mac("52-54-00-aa-bb-cc", mac), -EINVAL);
	T("input.vlan_ok", vfa_parse_vlan("4094:7", &vlan, &qos, &hq) == 0 && vlan == 4094 && qos == 7 && hq,
	  "parse failed");
	T_EQ_INT("input.vlan_4095", vfa_parse_vlan("4095", &vlan, &qos, &hq), -ERANGE);
	T_EQ_INT("input.vlan_4096", vfa_parse_vlan("4096", &vlan, &qos, &hq), -ERANGE);
	T_EQ_INT("input.qos_8", vfa_parse_vlan("100:8", &vlan, &qos, &hq), -EDOM);
	T_EQ_INT("input.vlan_neg", vfa_parse_vlan("-1", &vlan, &qos, &hq), -ERANGE);
	T_EQ_INT("input.vlan_empty", vfa_parse_vlan(":3", &vlan, &qos, &hq), -EINVAL);
}

static void test_journal(void)
{
	struct vfa_lease l = {
		.id = "0123456789abcdef", .state = VFA_LS_READY, .pool = "net1",
		.pf = "eth0", .pf_pci = "0000:00:02.0", .vf = 3,
		.pci = "0000:00:12.6", .group = 9, .mac = "02:00:00:00:00:01",
		.vlan = 100, .qos = 2, .domain = "l2", .attached = true,
		.pid = 42, .created = 1700000000,
	};
	struct vfa_lease got, *all = NULL;
	struct vfa_state *st = NULL;
	struct vfa_err e = { "", 0 };
	char sd[300], path[400], buf[4096];
	size_t n = 0, len;
	int r, cut_ok = 1, fd;
	ssize_t rd;

	snprintf(sd, sizeof(sd), "%s/state", dir);
	r = vfa_state_open(sd, &st, &e);
	T("journal.open", r == 0, "%s", e.msg);
	if (r)
		return;
	r = vfa_lease_save(st, &l, &e);
	T("journal.save", r == 0, "%s", e.msg);
	r = vfa_lease_load(st, l.pci, &got);
	T("journal.roundtrip", r == 0 && !memcmp(&got, &l, sizeof(l)), "r=%d", r);
	snprintf(path, sizeof(path), "%s/.journal.tmp", sd);
	T("journal.no_temp_left", access(path, F_OK) != 0, "%s exists", path);

	/* A lease cut at any byte is rejected, never half-loaded. */
	{
		json_object *o = vfa_lease_json(&l);

		len = (size_t)snprintf(buf, sizeof(buf), "%s",
				       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	for (size_t cut = 0; cut < len; cut++) {
		r = vfa_lease_parse(buf, cut, &got);
		if (r != -EBADMSG) {
			cut_ok = 0;
			printf("# cut at %zu of %zu: r=%d\n", cut, len, r);
			break;
		}
	}
	T("journal.cut_every_byte", cut_ok && len > 100, "a cut lease was accepted (len %zu)", len);
	r = vfa_lease_parse(buf, len, &got);
	T("journal.full_parses", r == 0, "r=%d", r);
	T_EQ_INT("journal.bad_state", vfa_lease_parse("{\"id\":\"x\",\"state\":\"weird\"}", 27, &got), -EBADMSG);

	/* A damaged journal record (appended garbage) is skipped; the lease
	 * before it still loads. */
	{
		json_object *badl = json_object_new_array();

		snprintf(path, sizeof(path), "%s/journal", sd);
		fd = open(path, O_WRONLY | O_APPEND);
		rd = fd >= 0 ? write(fd, buf, len / 2) : -1;
		if (fd >= 0)
			close(fd);
		r = vfa_lease_list(st, &all, &n, badl);
		T("journal.list_skips_damaged", rd > 0 && r == 0 && n == 1, "r=%d n=%zu", r, n);
		json_object_put(badl);
		free(all);
	}
	r = vfa_lease_drop(st, l.pci, &e);
	T("journal.drop", r == 0 && vfa_lease_load(st, l.pci, &got) == -ENOENT, "r=%d", r);

	/* The per-VF lock tells a live holder from a dead one. */
	fd = vfa_vf_lock(st, l.pci, false);
	T("journal.vf_lock", fd >= 0, "fd=%d", fd);
	{
		struct vfa_state *st2 = NULL;

		vfa_state_open(sd, &st2, &e);
		r = st2 ? vfa_vf_lock(st2, l.pci, false) : -1;
		T_EQ_INT("journal.vf_lock_held", r, -EWOULDBLOCK);
		if (r >= 0)
			close(r);
		close(fd);
		r = st2 ? vfa_vf_lock(st2, l.pci, false) : -1;
		T("journal.vf_lock_freed", r >= 0, "r=%d", r);
		if (r >= 0)
			close(r);
		vfa_state_close(st2);
	}
	vfa_state_close(st);
}

static int req_err(const char *json, const char *want)
{
	json_object *req = json_tokener_parse(json);
	struct vfa_opts o = { 0 };
	struct vfa_err e = { "", 0 };
	const char *op;
	int r = req ? vfa_req_parse(req, &op, &o, &e) : -999;

	json_object_put(req);
	return r < 0 && strstr(e.msg, want) && e.exit == VFA_EXIT_USAGE;
}

static void test_proto(void)
{
	struct vfa_opts o = { .pool = "net1", .domain = "vm1", .has_mac = true,
			      .mac = { 0x52, 0x54, 0, 0xaa, 0xbb, 0xcc },
			      .has_vlan = true, .vlan = 100, .qos = 3, .live = true };
	struct vfa_opts back = { 0 };
	struct vfa_err e = { "", 0 };
	json_object *req = vfa_req_json("alloc", &o), *rep;
	const char *op = NULL;
	int r;

	r = vfa_req_parse(req, &op, &back, &e);
	T("proto.roundtrip", r == 0 && !strcmp(op, "alloc") && !strcmp(back.pool, "net1") &&
	  !strcmp(back.domain, "vm1") && back.has_mac && back.mac[5] == 0xcc &&
	  back.has_vlan && back.vlan == 100 && back.qos == 3 && back.live && !back.persistent,
	  "r=%d %s", r, e.msg);
	json_object_put(req);
	T("proto.no_op", req_err("{\"pool\":\"a\"}", "no \"op\""), "accepted");
	T("proto.not_object", req_err("[1,2]", "one JSON object"), "accepted");
	T("proto.unknown_field", req_err("{\"op\":\"status\",\"x\":1}", "unknown field \"x\""), "accepted");
	T("proto.bad_type", req_err("{\"op\":\"alloc\",\"pool\":7}", "\"pool\" must be a string"), "accepted");
	T("proto.vlan_4095", req_err("{\"op\":\"alloc\",\"vlan\":4095}", "4095 is reserved"), "accepted");
	T("proto.qos_8", req_err("{\"op\":\"alloc\",\"vlan\":1,\"qos\":8}", "0..7"), "accepted");
	T("proto.mac_multicast", req_err("{\"op\":\"alloc\",\"mac\":\"01:00:5e:00:00:01\"}", "multicast"), "accepted");
	T("proto.live_type", req_err("{\"op\":\"alloc\",\"live\":\"yes\"}", "true or false"), "accepted");

	e.exit = VFA_EXIT_EXHAUSTED;
	snprintf(e.msg, sizeof(e.msg), "pool x is exhausted");
	rep = vfa_reply_json(-EBUSY, NULL, &e);
	T("proto.reply_error", !strcmp(json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PLAIN),
				      "{\"v\":1,\"ok\":false,\"exit\":3,\"error\":\"pool x is exhausted\",\"errno\":\"EBUSY\"}"),
	  "%s", json_object_to_json_string(rep));
	json_object_put(rep);
	rep = vfa_reply_json(-EINPROGRESS, json_object_new_object(), &e);
	T("proto.reply_pending", !strcmp(json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PLAIN),
					"{\"v\":1,\"ok\":false,\"exit\":4,\"result\":{}}"),
	  "%s", json_object_to_json_string(rep));
	json_object_put(rep);
}

/* The daemon's loop: fd events, timers, removal from inside a callback. */
static int loop_hits, loop_timer_hits;

static void loop_io(int id, int fd, uint32_t events, void *ud)
{
	char b[8];

	(void)events;
	loop_hits++;
	if (read(fd, b, sizeof(b)) <= 0 || loop_hits == 2)
		vfa_loop_del(ud, id);	/* removes itself */
}

static void loop_tick(int id, void *ud)
{
	if (++loop_timer_hits == 3) {
		vfa_loop_timer_del(ud, id);
		vfa_loop_quit(ud);
	}
}

static void test_loop(void)
{
	struct vfa_loop *l = NULL;
	int p[2], id, r;

	r = vfa_loop_new(&l);
	T("loop.new", r == 0, "r=%d", r);
	if (r || pipe2(p, O_NONBLOCK))
		return;
	id = vfa_loop_add(l, p[0], 1 /* EPOLLIN */, loop_io, l);
	T("loop.add", id > 0, "id=%d", id);
	T("loop.add_same_fd_twice", vfa_loop_add(l, p[0], 1, loop_io, l) > 0, "refused");
	vfa_loop_timer(l, 10, loop_tick, l);
	if (write(p[1], "a", 1) != 1)
		return;
	r = vfa_loop_run(l);
	T("loop.run", r == 0 && loop_timer_hits == 3, "r=%d ticks=%d", r, loop_timer_hits);
	T("loop.io_dispatched", loop_hits == 2, "hits=%d (both watches of the fd)", loop_hits);
	T_EQ_INT("loop.del_gone", vfa_loop_del(l, id), -ENOENT);
	vfa_loop_free(l);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_config();
	test_input();
	test_journal();
	test_proto();
	test_loop();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return t_done();
}
