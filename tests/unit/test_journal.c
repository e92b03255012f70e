/* agent/journal.c: the lease journal. A torn tail and a CRC-bad record
 * are skipped and never merge with the next record; a second handle (or
 * process) sees the first's writes; compaction never loses an appender's
 * record; leases/<pci>.json files from before the journal are imported
 * once, crash-safely; one record per transition. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/journal_priv.h"
#include "tests/unit/t.h"

static char top[] = "/tmp/vfagent-test-journal.XXXXXX";

static struct vfa_lease lease(int i)
{
	struct vfa_lease l = {
		.id = "0123456789abcdef", .state = VFA_LS_READY, .pool = "net1",
		.pf = "eth0", .pf_pci = "0000:00:02.0", .group = 9,
		.mac = "02:00:00:00:00:01", .vlan = 100, .domain = "l2",
		.pid = 42, .created = 1700000000,
	};

	l.vf = (unsigned int)i;
	snprintf(l.pci, sizeof(l.pci), "0000:00:%02x.%x", 0x10 + i / 8, i % 8);
	return l;
}

static const char *sdir(const char *name)
{
	static char p[4][300];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", top, name);
	return p[i];
}

static struct vfa_state *open_st(const char *sd)
{
	struct vfa_state *st = NULL;
	struct vfa_err e = { "", 0 };

	if (vfa_state_open(sd, &st, &e))
		printf("# open %s: %s\n", sd, e.msg);
	return st;
}

static off_t jsize(const char *sd)
{
	char p[400];
	struct stat s;

	snprintf(p, sizeof(p), "%s/journal", sd);
	return stat(p, &s) == 0 ? s.st_size : -1;
}

static void jappend(const char *sd, const char *bytes, size_t n)
{
	char p[400];
	int fd;

	snprintf(p, sizeof(p), "%s/journal", sd);
	fd = open(p, O_WRONLY | O_APPEND);
	if (fd >= 0) {
		if (write(fd, bytes, n) != (ssize_t)n)
			printf("# short write\n");
		close(fd);
	}
}

static size_t nleases(struct vfa_state *st, json_object *bad)
{
	struct vfa_lease *all = NULL;
	size_t n = 0;

	if (vfa_lease_list(st, &all, &n, bad))
		return (size_t)-1;
	free(all);
	return n;
}

/* One save, one record: the file grows by exactly one line. */
static void test_one_record(void)
{
	const char *sd = sdir("one");
	struct vfa_state *st = open_st(sd);
	struct vfa_err e = { "", 0 };
	struct vfa_lease l = lease(0), got;
	char line[4096];
	size_t len;
	off_t before;
	int r;

	if (!st) {
		T("journal.one_record", 0, "open failed");
		return;
	}
	before = jsize(sd);
	r = vfa_lease_save(st, &l, &e);
	len = vfa_journal_format(&l, NULL, line, sizeof(line));
	T("journal.one_record", r == 0 && jsize(sd) == before + (off_t)len,
	  "r=%d grew %lld, one record is %zu", r, (long long)(jsize(sd) - before), len);
	r = vfa_lease_load(st, l.pci, &got);
	T("journal.load_back", r == 0 && !memcmp(&got, &l, sizeof(l)), "r=%d", r);
	r = vfa_lease_drop(st, l.pci, &e);
	T("journal.drop", r == 0 && vfa_lease_load(st, l.pci, &got) == -ENOENT, "r=%d", r);
	before = jsize(sd);
	r = vfa_lease_drop(st, l.pci, &e);
	T("journal.drop_absent_writes_nothing", r == 0 && jsize(sd) == before, "r=%d", r);
	vfa_state_close(st);
}

/* A second handle sees the first's saves and drops, and so does a forked
 * child that inherited the first handle (it must reopen, not share). */
static void test_second_handle(void)
{
	const char *sd = sdir("two");
	struct vfa_state *a = open_st(sd), *b = open_st(sd);
	struct vfa_err e = { "", 0 };
	struct vfa_lease l = lease(1), got;
	pid_t pid;
	int status = -1;

	if (!a || !b) {
		T("journal.second_handle", 0, "open failed");
		goto out;
	}
	T("journal.second_handle_empty", nleases(b, NULL) == 0, "not empty");
	vfa_lease_save(a, &l, &e);
	T("journal.second_handle_sees_save", vfa_lease_load(b, l.pci, &got) == 0 &&
	  !strcmp(got.pci, l.pci), "b does not see a's lease");
	l.attached = true;
	vfa_lease_save(b, &l, &e);
	T("journal.first_sees_second", vfa_lease_load(a, l.pci, &got) == 0 && got.attached,
	  "a does not see b's update");
	pid = fork();
	if (pid == 0) {
		struct vfa_lease m = lease(2);

		_exit(vfa_lease_save(a, &m, &e) ? 1 : 0);
	}
	waitpid(pid, &status, 0);
	T("journal.child_save_seen", status == 0 && nleases(a, NULL) == 2 && nleases(b, NULL) == 2,
	  "status %d, a has %zu, b has %zu", status, nleases(a, NULL), nleases(b, NULL));
	vfa_lease_drop(a, l.pci, &e);
	T("journal.second_handle_sees_drop", vfa_lease_load(b, l.pci, &got) == -ENOENT,
	  "b still has it");
out:
	vfa_state_close(a);
	vfa_state_close(b);
}

/* A crash mid-write leaves half a line: it is ignored, and the next save
 * cuts it off instead of gluing its record to it. */
static void test_torn_tail(void)
{
	const char *sd = sdir("torn");
	struct vfa_state *a = open_st(sd), *c = NULL;
	struct vfa_err e = { "", 0 };
	struct vfa_lease l = lease(3), m = lease(4), got;
	char line[4096];
	size_t len;
	off_t before;

	if (!a) {
		T("journal.torn_tail", 0, "open failed");
		return;
	}
	vfa_lease_save(a, &l, &e);
	len = vfa_journal_format(&m, NULL, line, sizeof(line));
	jappend(sd, line, len / 2);
	T("journal.torn_tail_ignored", nleases(a, NULL) == 1 &&
	  vfa_lease_load(a, m.pci, &got) == -ENOENT, "the half record was folded");
	/* A torn tail longer than the next record: none of it may stay. */
	jappend(sd, line, len / 2);
	jappend(sd, line, len / 2);
	before = jsize(sd);
	vfa_lease_save(a, &m, &e);
	c = open_st(sd);
	T("journal.torn_tail_cut", c && nleases(c, NULL) == 2 && vfa_lease_load(c, m.pci, &got) == 0 &&
	  jsize(sd) == before - (off_t)(len / 2) * 3 + (off_t)len,
	  "a fresh handle sees %zu leases, size %lld", c ? nleases(c, NULL) : 0, (long long)jsize(sd));
	vfa_state_close(c);
	vfa_state_close(a);
}

/* A whole line whose CRC does not match (a byte flipped on the medium)
 * is skipped; the records after it still count. It still names its VF:
 * that VF is fenced, not free (test_jfence.c). */
static void test_crc_bad(void)
{
	const char *sd = sdir("crc");
	struct vfa_state *a = open_st(sd), *c = NULL;
	json_object *bad = json_object_new_array();
	struct vfa_err e = { "", 0 };
	struct vfa_lease l = lease(5), m = lease(6), got;
	char line[4096], p[400], *v;
	size_t len;
	int fd;

	if (!a) {
		T("journal.crc_bad", 0, "open failed");
		goto out;
	}
	vfa_lease_save(a, &l, &e);
	vfa_lease_save(a, &m, &e);
	len = vfa_journal_format(&l, NULL, line, sizeof(line));
	v = strstr(line, "\"vlan\":100");
	snprintf(p, sizeof(p), "%s/journal", sd);
	fd = open(p, O_WRONLY);
	if (v && fd >= 0 && pwrite(fd, "2", 1, v - line + 8) != 1)	/* vlan 120 */
		printf("# pwrite failed\n");
	if (fd >= 0)
		close(fd);
	c = open_st(sd);
	T("journal.crc_bad_skipped", c && vfa_lease_load(c, l.pci, &got) == 0 &&
	  got.state == VFA_LS_FENCED && vfa_lease_load(c, m.pci, &got) == 0,
	  "the damaged record was folded, or the next lost");
	T("journal.crc_bad_reported", c && nleases(c, bad) == 2 && json_object_array_length(bad) == 1,
	  "bad=%zu", json_object_array_length(bad));
	T_EQ_INT("journal.record_cut_rejected", vfa_journal_record(line, len / 2, &(struct vfa_jrec){ 0 }),
		 -EBADMSG);
out:
	json_object_put(bad);
	vfa_state_close(c);
	vfa_state_close(a);
}

/* Past the bound the journal is compacted into a snapshot; a handle that
 * still holds the old file appends into the new one, never the old. */
static void test_compaction(void)
{
	const char *sd = sdir("compact");
	struct vfa_state *a = open_st(sd), *b = open_st(sd), *c = NULL;
	struct vfa_err e = { "", 0 };
	struct vfa_lease l = lease(7), m = lease(8), got;
	int saves = 0, r = 0;
	ino_t ino;

	if (!a || !b) {
		T("journal.compaction", 0, "open failed");
		goto out;
	}
	vfa_lease_save(b, &m, &e);	/* b holds the first file */
	nleases(b, NULL);
	ino = a->jino;
	a->jbound = 4096;
	while (saves < 40 && !r) {
		l.vlan = (uint16_t)(saves + 1);
		r = vfa_lease_save(a, &l, &e);
		saves++;
	}
	T("journal.compacted", r == 0 && a->jino != ino && jsize(sd) < 4096 + 2 * 1024 + 512,
	  "r=%d size %lld after %d saves", r, (long long)jsize(sd), saves);
	m.vlan = 7;
	r = vfa_lease_save(b, &m, &e);
	c = open_st(sd);
	T("journal.append_after_compaction_kept", r == 0 && c && vfa_lease_load(c, m.pci, &got) == 0 &&
	  got.vlan == 7 && vfa_lease_load(c, l.pci, &got) == 0 && got.vlan == 40,
	  "r=%d: b's record went to the replaced file, or a's was lost", r);
	T("journal.compaction_seen_by_old_handle", vfa_lease_load(b, l.pci, &got) == 0 && got.vlan == 40,
	  "b does not see a's last save");
out:
	vfa_state_close(c);
	vfa_state_close(a);
	vfa_state_close(b);
}

/* The daemon's handle (vfa_state_defer_compaction) leaves compaction to
 * vfa_state_compact between requests: its saves past the 8 KiB bound
 * keep the file, the call compacts it (1), a second finds nothing to do
 * (0); past VFA_JOURNAL_DEFER_BOUND a save compacts inline after all. */
static void test_deferred_compaction(void)
{
	const char *sd = sdir("defer");
	struct vfa_state *a = open_st(sd), *b = open_st(sd);
	struct vfa_err e = { "", 0 };
	struct vfa_lease l = lease(3), got;
	int saves = 0, r = 0, c1, c2;
	ino_t ino;

	if (!a || !b) {
		T("journal.defer", 0, "open failed");
		goto out;
	}
	vfa_state_defer_compaction(a);
	ino = a->jino;
	while ((size_t)jsize(sd) < VFA_JOURNAL_BOUND + 4096 && !r) {
		l.vlan = (uint16_t)(++saves);
		r = vfa_lease_save(a, &l, &e);
	}
	T("journal.defer_no_inline", r == 0 && a->jino == ino, "r=%d, compacted inline after %d saves",
	  r, saves);
	c1 = vfa_state_compact(a, &e);
	c2 = vfa_state_compact(a, &e);
	T("journal.defer_compacted", c1 == 1 && c2 == 0 && a->jino != ino && jsize(sd) < 1024,
	  "compact %d then %d, size %lld: %s", c1, c2, (long long)jsize(sd), e.msg);
	T("journal.defer_seen", vfa_lease_load(b, l.pci, &got) == 0 && got.vlan == saves,
	  "the other handle lost the last save");
	ino = a->jino;
	while ((size_t)jsize(sd) < VFA_JOURNAL_DEFER_BOUND + 4096 && !r && a->jino == ino) {
		l.vlan = (uint16_t)(++saves % 4000);
		r = vfa_lease_save(a, &l, &e);
	}
	T("journal.defer_backstop", r == 0 && a->jino != ino, "r=%d, never compacted up to %lld bytes",
	  r, (long long)jsize(sd));
out:
	vfa_state_close(a);
	vfa_state_close(b);
}

static void write_old(const char *sd, const struct vfa_lease *l, const char *name)
{
	json_object *o = vfa_lease_json(l);
	char p[400];
	FILE *f;

	snprintf(p, sizeof(p), "%s/leases/%s", sd, name);
	f = fopen(p, "w");
	if (f) {
		fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), f);
		fclose(f);
	}
	json_object_put(o);
}

/* A state dir from before the journal (leases/<pci>.json) is imported on
 * open: every lease kept, the files gone; a crash after the records were
 * written but before the files were removed imports the same leases again
 * (no doubles); a damaged file is kept aside, not imported, its VF
 * fenced (tests/unit/test_fence.c): one lease more. */
static void test_import(void)
{
	const char *sd = sdir("old");
	struct vfa_lease l = lease(9), m = lease(10), got;
	struct vfa_state *st;
	char p[400], name[64];

	mkdir(sd, 0755);
	snprintf(p, sizeof(p), "%s/leases", sd);
	mkdir(p, 0700);
	snprintf(name, sizeof(name), "%s.json", l.pci);
	write_old(sd, &l, name);
	snprintf(name, sizeof(name), "%s.json", m.pci);
	write_old(sd, &m, name);
	write_old(sd, &l, "0000:00:1f.7.json");	/* name and pci differ */
	st = open_st(sd);
	T("journal.import_leases", st && nleases(st, NULL) == 3 &&
	  vfa_lease_load(st, l.pci, &got) == 0 && !memcmp(&got, &l, sizeof(l)),
	  "%zu leases", st ? nleases(st, NULL) : 0);
	snprintf(p, sizeof(p), "%s/leases/%s.json", sd, l.pci);
	T("journal.import_files_removed", access(p, F_OK) != 0, "%s still there", p);
	snprintf(p, sizeof(p), "%s/leases/0000:00:1f.7.json.damaged", sd);
	T("journal.import_damaged_kept_aside", access(p, F_OK) == 0, "%s missing", p);
	vfa_state_close(st);

	/* The crash: the journal has them, the files are back. */
	snprintf(name, sizeof(name), "%s.json", l.pci);
	write_old(sd, &l, name);
	st = open_st(sd);
	T("journal.import_again_no_double", st && nleases(st, NULL) == 3, "%zu leases",
	  st ? nleases(st, NULL) : 0);
	vfa_state_close(st);
	st = open_st(sd);
	T("journal.import_once", st && nleases(st, NULL) == 3, "reopen: %zu leases",
	  st ? nleases(st, NULL) : 0);
	vfa_state_close(st);
}

/* The journal file itself must be root's and not writable by others. */
static void test_trust(void)
{
	const char *sd = sdir("trust");
	struct vfa_state *st = open_st(sd);
	struct vfa_err e = { "", 0 };
	char p[400];
	int r;

	vfa_state_close(st);
	snprintf(p, sizeof(p), "%s/journal", sd);
	chmod(p, 0666);
	st = NULL;
	r = vfa_state_open(sd, &st, &e);
	T("journal.world_writable_refused", r < 0 && strstr(e.msg, "chmod 0600"), "r=%d %s", r, e.msg);
	vfa_state_close(st);
	unlink(p);
	mkfifo(p, 0600);
	st = NULL;
	r = vfa_state_open(sd, &st, &e);
	T("journal.fifo_refused", r < 0 && strstr(e.msg, "not a regular file"), "r=%d %s", r, e.msg);
	vfa_state_close(st);
}

int main(void)
{
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(top, 0755);
	test_one_record();
	test_second_handle();
	test_torn_tail();
	test_crc_bad();
	test_compaction();
	test_deferred_compaction();
	test_import();
	test_trust();
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
		if (system(cmd))
			printf("# cleanup of %s failed\n", top);
	}
	return t_done();
}
