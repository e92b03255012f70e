/* The lease's owner (the uid that allocated it through the daemon) is a
 * journaled lease field: it round-trips through the journal, a record of
 * an older version without it reads as VFA_NO_OWNER, and the owners/ dir
 * of an older daemon is imported once (then removed), never through a
 * symlink. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/t.h"
#include "tests/unit/t_state.h"

/* The owner of pci's lease as a fresh handle reads it from disk. */
static long long owner_on_disk(const char *sd, const char *pci)
{
	struct vfa_state *st = t_open_st(sd);
	struct vfa_lease l;
	long long r = -2;

	if (st && vfa_lease_load(st, pci, &l) == 0)
		r = l.owner == VFA_NO_OWNER ? -1 : (long long)l.owner;
	vfa_state_close(st);
	return r;
}

static void test_round_trip(void)
{
	const char *sd = t_sdir("rt");
	struct vfa_state *st = t_open_st(sd);
	struct vfa_lease a = t_lease(0, 1000), b = t_lease(1, VFA_NO_OWNER), c = t_lease(2, 0);
	struct vfa_err e = { "", 0 };

	if (!st) {
		T("owner.round_trip", 0, "open failed");
		return;
	}
	T("owner.save", !vfa_lease_save(st, &a, &e) && !vfa_lease_save(st, &b, &e) &&
	  !vfa_lease_save(st, &c, &e), "%s", e.msg);
	vfa_state_close(st);
	T_EQ_INT("owner.round_trip", owner_on_disk(sd, a.pci), 1000);
	T_EQ_INT("owner.none_round_trip", owner_on_disk(sd, b.pci), -1);
	T_EQ_INT("owner.root_round_trip", owner_on_disk(sd, c.pci), 0);
}

/* A record written before the owner was a field (tests/fixtures/journal/
 * lease.rec, CRC and all) and the JSON spellings of "no owner". */
static void test_old_record(void)
{
	static const char old[] = "{\"id\":\"0123456789abcdef\",\"state\":\"ready\",\"pool\":\"p\",\"pf\":\"eth0\",\"pf_pci\":\"0000:00:01.0\",\"vf\":0,\"pci\":\"0000:00:02.1\",\"iommu_group\":-1,\"mac\":\"02:00:00:00:00:01\",\"vlan\":0,\"qos\":0,\"domain\":null,\"attached\":false,\"persistent\":false,\"holder\":\"k8s:vfagent.io/net1\",\"pid\":1,\"created\":1}";
	char line[2048], with[2048];
	struct vfa_jrec rec;
	struct vfa_lease l;
	size_t n = strlen(old);
	int r;

	snprintf(line, sizeof(line), "%08x %s", vfa_journal_crc(old, n), old);
	r = vfa_journal_record(line, strlen(line), &rec);
	T("owner.old_record_none", r == 0 && !rec.drop && rec.lease.owner == VFA_NO_OWNER,
	  "r=%d owner=%u", r, (unsigned int)rec.lease.owner);
	T("owner.fixture_crc", !strncmp(line, "ca0e3f21 ", 9), "the fixture's CRC is ca0e3f21, got %.8s",
	  line);
	snprintf(with, sizeof(with), "%.*s,\"owner\":null}", (int)n - 1, old);
	r = vfa_lease_parse(with, strlen(with), &l);
	T("owner.null_none", r == 0 && l.owner == VFA_NO_OWNER, "r=%d", r);
	snprintf(with, sizeof(with), "%.*s,\"owner\":65534}", (int)n - 1, old);
	r = vfa_lease_parse(with, strlen(with), &l);
	T("owner.uid", r == 0 && l.owner == 65534, "r=%d owner=%u", r, (unsigned int)l.owner);
	snprintf(with, sizeof(with), "%.*s,\"owner\":4294967295}", (int)n - 1, old);
	T_EQ_INT("owner.minus_one_refused", vfa_lease_parse(with, strlen(with), &l), -EBADMSG);
	snprintf(with, sizeof(with), "%.*s,\"owner\":-5}", (int)n - 1, old);
	T_EQ_INT("owner.negative_refused", vfa_lease_parse(with, strlen(with), &l), -EBADMSG);
	snprintf(with, sizeof(with), "%.*s,\"owner\":\"1000\"}", (int)n - 1, old);
	T_EQ_INT("owner.string_refused", vfa_lease_parse(with, strlen(with), &l), -EBADMSG);
}

static void put(const char *path, const char *txt)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(txt, f);
		fclose(f);
	}
}

/* owners/<id> of an older daemon: imported into the leases without an
 * owner, never over a journaled one, never through a symlink; files of
 * gone leases and junk dropped; the dir removed; nothing imported twice. */
static void test_import(void)
{
	const char *sd = t_sdir("imp");
	struct vfa_state *st = t_open_st(sd);
	struct vfa_lease a = t_lease(0, VFA_NO_OWNER), b = t_lease(1, 1001), c = t_lease(2, VFA_NO_OWNER),
			 d = t_lease(3, VFA_NO_OWNER);
	struct vfa_err e = { "", 0 };
	char od[400], p[500], target[500];
	struct stat s;
	off_t size;

	if (!st) {
		T("owner.import", 0, "open failed");
		return;
	}
	vfa_lease_save(st, &a, &e);
	vfa_lease_save(st, &b, &e);
	vfa_lease_save(st, &c, &e);
	vfa_lease_save(st, &d, &e);
	vfa_state_close(st);
	snprintf(od, sizeof(od), "%s/owners", sd);
	mkdir(od, 0700);
	snprintf(p, sizeof(p), "%s/%s", od, a.id);
	put(p, "1000\n");
	snprintf(p, sizeof(p), "%s/%s", od, b.id);
	put(p, "7\n");		/* b's journaled owner wins */
	snprintf(target, sizeof(target), "%s/elsewhere", sd);
	put(target, "1002\n");
	snprintf(p, sizeof(p), "%s/%s", od, c.id);
	T("owner.symlink_planted", symlink(target, p) == 0, "symlink: %s", strerror(errno));
	snprintf(p, sizeof(p), "%s/%s", od, d.id);
	put(p, "lots\n");
	snprintf(p, sizeof(p), "%s/ffffffffffffffff", od);
	put(p, "5\n");		/* a lease gone */
	snprintf(p, sizeof(p), "%s/.%s.tmp", od, d.id);
	put(p, "9\n");		/* a crash's temp file */
	T_EQ_INT("owner.import", owner_on_disk(sd, a.pci), 1000);
	T("owner.import_dir_gone", stat(od, &s) < 0 && errno == ENOENT, "owners/ still there");
	T_EQ_INT("owner.import_keeps_journaled", owner_on_disk(sd, b.pci), 1001);
	T_EQ_INT("owner.import_no_symlink", owner_on_disk(sd, c.pci), -1);
	T_EQ_INT("owner.import_junk_none", owner_on_disk(sd, d.pci), -1);
	snprintf(p, sizeof(p), "%s/journal", sd);
	size = stat(p, &s) == 0 ? s.st_size : -1;
	T_EQ_INT("owner.import_once", owner_on_disk(sd, a.pci) == 1000 && stat(p, &s) == 0 ?
		 s.st_size : -1, size);
}

/* A crash after the records, before the files went: the next open finds
 * the owners journaled and adds nothing. */
static void test_import_again(void)
{
	const char *sd = t_sdir("again");
	struct vfa_state *st = t_open_st(sd);
	struct vfa_lease a = t_lease(0, 1000);
	struct vfa_err e = { "", 0 };
	char od[400], p[500];
	struct stat s;
	off_t size;

	if (!st) {
		T("owner.import_again", 0, "open failed");
		return;
	}
	vfa_lease_save(st, &a, &e);
	vfa_state_close(st);
	snprintf(od, sizeof(od), "%s/owners", sd);
	mkdir(od, 0700);
	snprintf(p, sizeof(p), "%s/%s", od, a.id);
	put(p, "1000\n");
	snprintf(p, sizeof(p), "%s/journal", sd);
	size = stat(p, &s) == 0 ? s.st_size : -1;
	T_EQ_INT("owner.import_again", owner_on_disk(sd, a.pci), 1000);
	T("owner.import_again_no_record", stat(p, &s) == 0 && s.st_size == size &&
	  stat(od, &s) < 0, "journal %lld -> %lld bytes", (long long)size, (long long)s.st_size);
}

int main(void)
{
	if (t_state_begin("owner"))
		return 1;
	test_round_trip();
	test_old_record();
	test_import();
	test_import_again();
	t_state_end();
	return t_done();
}
