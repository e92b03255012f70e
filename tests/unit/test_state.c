/* agent/lease.c, journal.c: what the state dir may not do to root. Symlinks,
 * FIFOs and forged leases planted in it, a state dir others can write in, and a
 * full file system under the journal. Each case was a way to steer root or
 * hang every command. Root-only cases (chown, tmpfs) say SKIP otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/journal_priv.h"
#include "tests/unit/t.h"

static char top[] = "/tmp/vfagent-test-state.XXXXXX";

static const struct vfa_lease good = {
	.id = "0123456789abcdef", .state = VFA_LS_READY, .pool = "net1",
	.pf = "eth0", .pf_pci = "0000:00:02.0", .vf = 0,
	.pci = "0000:00:12.0", .group = 9, .mac = "02:00:00:00:00:01",
	.vlan = 100, .qos = 2, .domain = "l2", .attached = true,
	.pid = 42, .created = 1700000000,
};

/* A check that would hang (a FIFO opened for reading) fails instead: the
 * alarm has no SA_RESTART, so the blocked open returns EINTR. */
static volatile sig_atomic_t hung;

static void on_alarm(int sig)
{
	(void)sig;
	hung = 1;
}

static void guard(void)
{
	hung = 0;
	alarm(3);
}

static void unguard(void)
{
	alarm(0);
}

/* A fresh path under top; the dir itself is not created. */
static const char *fresh(const char *name)
{
	static char p[8][300];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", top, name);
	return p[i];
}

static struct vfa_state *open_ok(const char *sd, const char *name)
{
	struct vfa_state *st = NULL;
	struct vfa_err e = { "", 0 };
	int r = vfa_state_open(sd, &st, &e);

	if (r) {
		T(name, 0, "state open failed: %s", e.msg);
		return NULL;
	}
	return st;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static void read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (!f)
		return;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void test_lock_symlink(void)
{
	const char *sd = fresh("s-lock"), *target = fresh("lock-target");
	struct vfa_state *st = NULL;
	struct vfa_err e = { "", 0 };
	char p[400];
	int r;

	mkdir(sd, 0755);
	snprintf(p, sizeof(p), "%s/lock", sd);
	if (symlink(target, p) < 0)
		return;
	r = vfa_state_open(sd, &st, &e);
	T("state.lock_symlink_refused", r < 0 && strstr(e.msg, "lock is not a regular file"),
	  "r=%d msg \"%s\"", r, e.msg);
	T("state.lock_symlink_no_file_elsewhere", access(target, F_OK) != 0,
	  "root created %s through the planted link", target);
	vfa_state_close(st);
}

static void test_vf_lock(void)
{
	const char *sd = fresh("s-vflock"), *target = fresh("vflock-target");
	struct vfa_state *st = open_ok(sd, "state.vf_lock_open");
	char p[400];
	int fd;

	if (!st)
		return;
	snprintf(p, sizeof(p), "%s/locks/0000:00:12.0", sd);
	symlink(target, p);
	fd = vfa_vf_lock(st, "0000:00:12.0", false);
	T("state.vf_lock_symlink_refused", fd == -EINVAL, "fd=%d", fd);
	T("state.vf_lock_symlink_no_file_elsewhere", access(target, F_OK) != 0,
	  "root created %s through the planted link", target);
	if (fd >= 0)
		close(fd);

	snprintf(p, sizeof(p), "%s/locks/0000:00:12.2", sd);
	mkfifo(p, 0600);
	guard();
	fd = vfa_vf_lock(st, "0000:00:12.2", false);
	unguard();
	T("state.vf_lock_fifo_refused", fd == -EINVAL && !hung, "fd=%d%s", fd, hung ? " (hung)" : "");
	if (fd >= 0)
		close(fd);

	/* A pci read back from a forged lease must not name a path. */
	fd = vfa_vf_lock(st, "../../vflock-escape", false);
	T("state.vf_lock_traversal_refused", fd == -EINVAL, "fd=%d", fd);
	T("state.vf_lock_traversal_no_file", access(fresh("vflock-escape"), F_OK) != 0,
	  "%s created", fresh("vflock-escape"));
	if (fd >= 0)
		close(fd);
	fd = vfa_vf_lock(st, "0000:00:12.4", false);
	T("state.vf_lock_regular_ok", fd >= 0, "fd=%d", fd);
	if (fd >= 0)
		close(fd);
	vfa_state_close(st);
}

static void test_temp_symlink(void)
{
	const char *sd = fresh("s-temp"), *victim = fresh("victim");
	struct vfa_state *st = open_ok(sd, "state.temp_open");
	struct vfa_err e = { "", 0 };
	struct vfa_lease got;
	char p[400], buf[256];
	ino_t ino;
	int r = 0;

	if (!st)
		return;
	write_file(victim, "precious\n");
	snprintf(p, sizeof(p), "%s/.journal.tmp", sd);
	symlink(victim, p);
	st->jbound = 1;	/* compact, through the temp file, at 1 KiB + 1 */
	ino = st->jino;
	for (int i = 0; i < 4; i++)
		r = vfa_lease_save(st, &good, &e);
	read_file(victim, buf, sizeof(buf));
	T("state.temp_symlink_not_followed", !strcmp(buf, "precious\n"),
	  "the file behind the planted temp link now holds \"%.40s\"", buf);
	T("state.temp_symlink_save_ok", r == 0 && vfa_lease_load(st, good.pci, &got) == 0 &&
	  !strcmp(got.id, good.id) && st->jino != ino, "r=%d %s (compacted: %s)", r, e.msg,
	  st->jino != ino ? "yes" : "no");

	/* A stale temp file from a crash does not stop the next save. */
	write_file(p, "{\"half\":");
	ino = st->jino;
	for (int i = 0; i < 4; i++)
		r = vfa_lease_save(st, &good, &e);
	T("state.temp_stale_replaced", r == 0 && st->jino != ino && access(p, F_OK) != 0,
	  "r=%d %s", r, e.msg);
	vfa_state_close(st);
}

static void test_fifo_lease(void)
{
	const char *sd = fresh("s-fifo");
	struct vfa_state *st = open_ok(sd, "state.fifo_open");
	struct vfa_lease *all = NULL;
	struct vfa_err e = { "", 0 };
	size_t n = 0;
	char p[400];
	int r;

	if (!st)
		return;
	vfa_lease_save(st, &good, NULL);
	/* The journal swapped for a FIFO under a running handle. */
	snprintf(p, sizeof(p), "%s/journal", sd);
	unlink(p);
	mkfifo(p, 0600);
	guard();
	r = vfa_lease_list(st, &all, &n, NULL);
	unguard();
	/* A read stats nothing (the compactor's marker says when to reopen):
	 * it may still read the unlinked file, but never hangs. */
	T("state.fifo_list_no_hang", !hung && (r < 0 || n == 1), "%sr=%d n=%zu",
	  hung ? "hung on the FIFO; " : "", r, n);
	free(all);
	all = NULL;
	guard();
	r = vfa_lease_save(st, &good, &e);
	unguard();
	T("state.fifo_save_refused", !hung && r < 0, "%sr=%d: a save went to the replaced journal",
	  hung ? "hung on the FIFO; " : "", r);
	vfa_state_close(st);
	st = NULL;
	guard();
	r = vfa_state_open(sd, &st, &e);
	unguard();
	T("state.fifo_open_refused", !hung && r < 0 && strstr(e.msg, "not a regular file"), "%sr=%d %s",
	  hung ? "hung on the FIFO; " : "", r, e.msg);
	T("state.fifo_kept", access(p, F_OK) == 0, "the FIFO was removed");
	vfa_state_close(st);

	/* A FIFO among the lease files of an old state dir being imported. */
	unlink(p);
	snprintf(p, sizeof(p), "%s/leases", sd);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/leases/0000:00:12.2.json", sd);
	mkfifo(p, 0600);
	st = NULL;
	guard();
	r = vfa_state_open(sd, &st, &e);
	unguard();
	T("state.fifo_import_no_hang", !hung && r == 0, "%sr=%d %s", hung ? "hung on the FIFO; " : "",
	  r, e.msg);
	vfa_state_close(st);
}

/* Journal records that parse but were not written by us. */
static void test_forged_lease(void)
{
	const char *sd = fresh("s-forged");
	struct vfa_state *st = open_ok(sd, "state.forged_open");
	json_object *bad = json_object_new_array(), *o;
	struct vfa_lease *all = NULL, got, l = good;
	struct vfa_err e = { "", 0 };
	char p[400], line[4096], json[4096];
	size_t n = 0;
	int r, fd;

	if (!st)
		goto out;
	/* pci "../../x": its lock would be created outside locks/. A record
	 * with a valid CRC: vfa_journal_format checks no fields. */
	snprintf(l.pci, sizeof(l.pci), "../../x");
	o = vfa_lease_json(&l);
	snprintf(json, sizeof(json), "%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	n = vfa_journal_format(&l, NULL, line, sizeof(line));
	snprintf(p, sizeof(p), "%s/journal", sd);
	/* A good record after it: the forged one is not a torn tail. */
	n += vfa_journal_format(&good, NULL, line + n, sizeof(line) - n);
	fd = open(p, O_WRONLY | O_APPEND);
	if (fd >= 0) {
		if (write(fd, line, n) != (ssize_t)n)
			printf("# short write\n");
		close(fd);
	}
	vfa_state_close(st);
	st = open_ok(sd, "state.forged_reopen");
	r = st ? vfa_lease_list(st, &all, &n, bad) : -1;
	T("state.forged_pci_traversal", r == 0 && n == 1 && !strcmp(all[0].pci, good.pci) &&
	  json_object_array_length(bad) == 1,
	  "r=%d n=%zu (listed pci \"%s\") bad=%zu", r, n, n ? all[0].pci : "",
	  json_object_array_length(bad));
	free(all);
	all = NULL;
	r = st ? vfa_lease_load(st, "0000:00:12.0", &got) : -1;
	T("state.forged_not_folded", r == 0 && !strcmp(got.pci, good.pci), "r=%d", r);
	T("state.forged_json_rejected", vfa_lease_parse(json, strlen(json), &got) == -EBADMSG,
	  "the forged lease parses");

	/* Never written either. */
	l = good;
	snprintf(l.pci, sizeof(l.pci), "../../y");
	r = st ? vfa_lease_save(st, &l, &e) : -1;
	T("state.save_bad_pci_refused", r < 0 && access(fresh("y.json"), F_OK) != 0,
	  "r=%d", r);
	r = st ? vfa_lease_drop(st, "../../y", &e) : -1;
	T("state.drop_bad_pci_refused", r < 0, "r=%d", r);
	vfa_state_close(st);
out:
	json_object_put(bad);
}

/* Each field read back is checked: one bad value, one refusal. */
static void test_fields(void)
{
	static const struct { const char *name, *key, *val; } bad[] = {
		{ "state.field.id_short", "id", "\"0123\"" },
		{ "state.field.id_upper", "id", "\"0123456789ABCDEF\"" },
		{ "state.field.id_nonhex", "id", "\"0123456789abcdeg\"" },
		{ "state.field.pci_traversal", "pci", "\"../../x\"" },
		{ "state.field.pci_func8", "pci", "\"0000:00:12.8\"" },
		{ "state.field.pci_dev20", "pci", "\"0000:00:20.0\"" },
		{ "state.field.pci_upper", "pci", "\"0000:00:1F.0\"" },
		{ "state.field.pci_short", "pci", "\"00:12.0\"" },
		{ "state.field.pf_pci", "pf_pci", "\"0000:00:02\"" },
		{ "state.field.mac_short", "mac", "\"02:00:00:00:00\"" },
		{ "state.field.mac_space", "mac", "\" 2:00:00:00:00:01\"" },
		{ "state.field.mac_sep", "mac", "\"02-00-00-00-00-01\"" },
		{ "state.field.state", "state", "\"weird\"" },
		{ "state.field.pf_slash", "pf", "\"../eth0\"" },
		{ "state.field.pf_long", "pf", "\"abcdefghijklmnop\"" },
		{ "state.field.pf_ctrl", "pf", "\"eth\\n0\"" },
		{ "state.field.pool_empty", "pool", "\"\"" },
		{ "state.field.pool_ctrl", "pool", "\"a\\u001bb\"" },
		{ "state.field.vlan", "vlan", "4095" },
		{ "state.field.qos", "qos", "8" },
		{ "state.field.pid", "pid", "99999999999" },
		{ "state.field.group", "iommu_group", "-2" },
	};
	json_object *base = vfa_lease_json(&good);
	struct vfa_lease got;
	const char *txt = json_object_to_json_string_ext(base, JSON_C_TO_STRING_PLAIN);
	int r = vfa_lease_parse(txt, strlen(txt), &got);

	T("state.field.good_parses", r == 0, "r=%d", r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object *o = vfa_lease_json(&good);

		json_object_object_add(o, bad[i].key, json_tokener_parse(bad[i].val));
		txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		r = vfa_lease_parse(txt, strlen(txt), &got);
		T(bad[i].name, r == -EBADMSG, "%s=%s accepted (r=%d)", bad[i].key, bad[i].val, r);
		json_object_put(o);
	}
	json_object_put(base);
}

static void open_refused(const char *name, const char *sd, const char *want)
{
	struct vfa_state *st = NULL;
	struct vfa_err e = { "", 0 };
	int r = vfa_state_open(sd, &st, &e);

	T(name, r < 0 && strstr(e.msg, want), "r=%d msg \"%s\", want \"%s\"", r, e.msg, want);
	vfa_state_close(st);
}

static void test_dir_trust(void)
{
	const char *real = fresh("s-real"), *link = fresh("s-link");
	struct vfa_state *st;
	char sd[300], p[400];

	snprintf(sd, sizeof(sd), "%s/s-perm", top);

	mkdir(sd, 0755);
	chmod(sd, 0777);
	open_refused("state.dir_world_writable", sd, "chmod go-w");
	chmod(sd, 0775);
	open_refused("state.dir_group_writable", sd, "chmod go-w");
	chmod(sd, 0755);
	st = open_ok(sd, "state.dir_0755_ok");
	vfa_state_close(st);
	/* leases/ is read only to import a state dir from before the journal. */
	snprintf(p, sizeof(p), "%s/leases", sd);
	mkdir(p, 0700);
	chmod(p, 0777);
	open_refused("state.leases_world_writable", sd, "leases is writable by group or others");
	chmod(p, 0700);
	snprintf(p, sizeof(p), "%s/locks", sd);
	chmod(p, 0722);
	open_refused("state.locks_world_writable", sd, "locks is writable by group or others");
	chmod(p, 0700);

	if (geteuid() == 0) {
		chown(sd, 65534, 65534);
		open_refused("state.dir_foreign_owner", sd, "chown root:root");
		chown(sd, 0, 0);
		snprintf(p, sizeof(p), "%s/locks", sd);
		chown(p, 65534, 65534);
		open_refused("state.locks_foreign_owner", sd, "chown root:root");
		chown(p, 0, 0);
	} else {
		t_skip("state.dir_foreign_owner", "needs root (chown)");
	}

	mkdir(real, 0755);
	symlink(real, link);
	open_refused("state.dir_symlink", link, "is a symlink");
	snprintf(p, sizeof(p), "%s/leases", sd);
	rmdir(p);
	symlink(real, p);
	open_refused("state.leases_symlink", sd, "is a symlink");
}

static void test_dir_created(void)
{
	const char *sd = fresh("s-new");
	struct vfa_state *st;
	struct stat a, b, c;
	char p1[400], p2[400];
	mode_t old = umask(077);

	/* Whatever the umask: the dir others reach the socket in, and
	 * subdirs only root reads. */
	st = open_ok(sd, "state.created_open");
	umask(old);
	vfa_state_close(st);
	snprintf(p1, sizeof(p1), "%s/journal", sd);
	snprintf(p2, sizeof(p2), "%s/locks", sd);
	if (stat(sd, &a) || stat(p1, &b) || stat(p2, &c)) {
		T("state.created_modes", 0, "stat failed");
		return;
	}
	T("state.created_modes", (a.st_mode & 07777) == 0755 && (b.st_mode & 07777) == 0600 &&
	  (c.st_mode & 07777) == 0700, "dir %04o journal %04o locks %04o",
	  a.st_mode & 07777, b.st_mode & 07777, c.st_mode & 07777);
	T("state.created_owner", a.st_uid == geteuid() && b.st_uid == geteuid(),
	  "uid %u/%u", a.st_uid, b.st_uid);
}

/* The journal on a full file system: a save fails with one line naming
 * the fix, the lease already there is intact, no temp file is left. */
static void test_full(void)
{
	const char *sd = fresh("s-full");
	struct vfa_state *st;
	struct vfa_err e = { "", 0 };
	struct vfa_lease got, l = good, saved = good;
	char p[400], fill[4096];
	int fd, r;

	if (geteuid() != 0) {
		t_skip("state.full", "needs root (a small tmpfs)");
		return;
	}
	mkdir(sd, 0755);
	/* A mount namespace of our own: nothing leaks to the host. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", sd, "tmpfs", 0, "size=64k,mode=0755") < 0) {
		t_skip("state.full", "cannot mount a tmpfs here");
		return;
	}
	st = open_ok(sd, "state.full_open");
	if (!st)
		goto out;
	r = vfa_lease_save(st, &l, &e);
	T("state.full_first_save", r == 0, "%s", e.msg);
	snprintf(p, sizeof(p), "%s/filler", sd);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	memset(fill, 'x', sizeof(fill));
	while (fd >= 0 && write(fd, fill, sizeof(fill)) > 0)
		;
	if (fd >= 0)
		close(fd);
	/* Saves fill the journal's last block, then fail. */
	for (int i = 0; i < 200; i++) {
		l.state = i & 1 ? VFA_LS_READY : VFA_LS_RELEASING;
		l.vlan = (uint16_t)i;
		r = vfa_lease_save(st, &l, &e);
		if (r)
			break;
		saved = l;
	}
	T("state.full_save_fails", r == -ENOSPC && strstr(e.msg, "free space"),
	  "r=%d msg \"%s\"", r, e.msg);
	r = vfa_lease_load(st, l.pci, &got);
	T("state.full_old_lease_intact", r == 0 && got.vlan == saved.vlan && got.state == saved.state,
	  "r=%d vlan %d state %s", r, r ? -1 : got.vlan, r ? "-" : vfa_lease_state_str(got.state));
	{
		struct vfa_state *st2 = open_ok(sd, "state.full_reopen");

		r = st2 ? vfa_lease_load(st2, l.pci, &got) : -1;
		T("state.full_no_half_record", r == 0 && got.vlan == saved.vlan,
		  "a fresh handle: r=%d vlan %d", r, r ? -1 : got.vlan);
		vfa_state_close(st2);
	}
	snprintf(p, sizeof(p), "%s/.journal.tmp", sd);
	T("state.full_no_temp_left", access(p, F_OK) != 0, "%s left", p);
	r = vfa_lease_drop(st, l.pci, &e);
	T("state.full_drop_works", r == 0 && vfa_lease_load(st, l.pci, &got) == -ENOENT,
	  "r=%d %s", r, e.msg);
	vfa_state_close(st);
out:
	umount2(sd, MNT_DETACH);
}

/* The PF's VFs removed under a lease (sriov_numvfs 0): a fake sysfs with
 * the PF and no virtfn link. Release must drop the lease (nothing is left
 * to scrub), or no command could ever free it. */
static void test_gone_release(void)
{
	const char *sd = fresh("s-gone"), *sys = fresh("sys"), *devd = fresh("dev");
	const char *conf = fresh("gone.conf"), *pst = fresh("gone-persist");
	struct vfa_opts o = { .config = conf, .state_dir = sd, .sys_root = sys,
			      .dev_root = devd, .pci = good.pci,
			      .persist_dir = pst };	/* never the host's */
	struct vfa_agent *a = NULL;
	struct vfa_state *st;
	struct vfa_err e = { "", 0 };
	struct vfa_lease got, l = good;
	json_object *res = NULL;
	char cmd[1200];
	int r;

	l.domain[0] = '\0';	/* no libvirt here */
	l.attached = false;

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/bus/pci/devices/%s' '%s/bus/pci/drivers' '%s/vfio'",
		 sys, good.pf_pci, sys, devd);
	if (system(cmd) != 0) {
		T("fault.gone_release", 0, "cannot build the fake tree");
		return;
	}
	write_file(conf, "[pool net1]\npf = eth0\nvfs = 3\n");
	st = open_ok(sd, "fault.gone_state");
	if (!st)
		return;
	r = vfa_lease_save(st, &l, &e);
	vfa_state_close(st);
	if (r) {
		T("fault.gone_release", 0, "save: %s", e.msg);
		return;
	}
	r = vfa_agent_open(&o, &a, &e);
	if (r) {
		t_skip("fault.gone_release", e.msg);
		return;
	}
	r = vfa_release(a, &o, &res, &e);
	T("fault.gone_release", r == 0, "r=%d: %s", r, e.msg);
	json_object_put(res);
	vfa_agent_close(a);
	st = open_ok(sd, "fault.gone_state");
	if (!st)
		return;
	r = vfa_lease_load(st, good.pci, &got);
	T("fault.gone_lease_dropped", r == -ENOENT, "r=%d", r);
	vfa_state_close(st);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	char cmd[400];

	sigaction(SIGALRM, &sa, NULL);
	if (!mkdtemp(top)) {
		printf("FAIL state.setup: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	chmod(top, 0755);
	test_lock_symlink();
	test_vf_lock();
	test_temp_symlink();
	test_fifo_lease();
	test_forged_lease();
	test_fields();
	test_dir_trust();
	test_dir_created();
	test_gone_release();
	test_full();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", top);
	return t_done();
}
