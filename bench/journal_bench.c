/* journal_bench: what one journal transition and one list cost, for three
 * on-disk formats. Prints numbers, never asserts on them.
 *
 *   bench/journal_bench DIR [N]      (N >= 2000 for the README figures)
 *
 * DIR is a scratch dir on the file system to measure (tmpfs: /dev/shm or
 * /run; disk: /var/tmp); it is emptied of the bench's files at the end.
 *
 * Write side, per transition (a lease's JSON as vfa_lease_json writes it):
 *  a) per-VF file: temp + write + fsync + rename + fsync(dir) (lease.c
 *     before the journal);
 *  b) append-only log: flock + write of one CRC'd line + fdatasync + unlock,
 *     with compaction (snapshot to temp + fsync + rename + fsync(dir)) when
 *     the log passes 64 KiB, timed inside the transition that triggers it;
 *  c) per-VF file of two slots (seq + CRC), pwrite + fdatasync in place.
 * Read side, listing 7 and 28 leases: a) scan + open/read/parse each file;
 * b) replay the compacted log from 0, and the tail-read a process that is
 * up to date does (one pread returning 0); c) scan + read both slots.
 * d) the implementation (agent/journal.c) through its API: vfa_lease_save
 * and vfa_lease_list on a state dir made under DIR (refresh = one pread
 * when nothing changed: the compactor's "moved" marker, not a stat, says
 * when to reopen). Records are framed with the journal's own CRC
 * (vfa_journal_crc). */
#include "agent/journal_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#define SLOT 1024
#define LOG_BOUND (64 * 1024)

static int dfd;

static void report(const char *what, const char *fs, double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	printf("%-44s %-6s %6d %10.1f %10.1f\n", what, fs, n, v[n / 2],
	       v[(int)(n * 0.99)]);
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* A realistic lease for VF i as its JSON text (malloc'd). */
static char *lease_txt(int i, int gen)
{
	struct vfa_lease l = { 0 };
	json_object *o;
	char *s;

	snprintf(l.id, sizeof(l.id), "%016x", (unsigned int)(i * 7919 + gen));
	vfa_lease_set_state(&l, gen & 1 ? VFA_LS_READY : VFA_LS_ALLOCATING);
	snprintf(l.pool, sizeof(l.pool), "bench");
	snprintf(l.pf, sizeof(l.pf), "enp3s0f0");
	snprintf(l.pf_pci, sizeof(l.pf_pci), "0000:00:03.0");
	l.vf = (unsigned int)i;
	snprintf(l.pci, sizeof(l.pci), "0000:%02x:%02x.%x", 0x10 + i / 32, (i / 8) % 32, i % 8);
	l.group = 20 + i;
	snprintf(l.mac, sizeof(l.mac), "02:00:00:00:00:%02x", i);
	snprintf(l.domain, sizeof(l.domain), "guest-%d", i);
	snprintf(l.uuid, sizeof(l.uuid), "0b6e1c0a-5a34-4f5e-9f3b-%012x", i);
	snprintf(l.holder, sizeof(l.holder), "k8s:vfagent.io/net1");
	l.attached = gen & 1;
	l.pid = 4242;
	l.created = 1790000000;
	o = vfa_lease_json(&l);
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

/* a) today's lease.c. */
static void put_file(int i, const char *txt)
{
	char tmp[64], name[64];
	int fd;

	snprintf(tmp, sizeof(tmp), ".a%d.tmp", i);
	snprintf(name, sizeof(name), "a%d.json", i);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("open");
	write_all(fd, txt, strlen(txt));
	if (fsync(fd) < 0)
		die("fsync");
	close(fd);
	if (renameat(dfd, tmp, dfd, name) < 0 || fsync(dfd) < 0)
		die("rename");
}

/* b) one line per record: "<crc hex8> <json>\n". */
static size_t log_line(char *buf, size_t len, const char *txt)
{
	return (size_t)snprintf(buf, len, "%08x %s\n", vfa_journal_crc(txt, strlen(txt)), txt);
}

static int log_open(void)
{
	int fd = openat(dfd, "log", O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		die("open log");
	return fd;
}

/* Snapshot of the n live records into a new log that replaces the old. */
static int log_compact(int fd, char **live, int n)
{
	char line[2048];
	int t = openat(dfd, ".log.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (t < 0)
		die("open tmp");
	for (int i = 0; i < n; i++)
		write_all(t, line, log_line(line, sizeof(line), live[i]));
	if (fsync(t) < 0)
		die("fsync");
	close(t);
	if (renameat(dfd, ".log.tmp", dfd, "log") < 0 || fsync(dfd) < 0)
		die("rename");
	close(fd);
	return log_open();
}

static int log_append(int fd, const char *txt, char **live, int nlive)
{
	char line[2048];
	struct stat s;

	if (flock(fd, LOCK_EX) < 0)
		die("flock");
	write_all(fd, line, log_line(line, sizeof(line), txt));
	if (fdatasync(fd) < 0)
		die("fdatasync");
	if (fstat(fd, &s) == 0 && s.st_size > LOG_BOUND)
		fd = log_compact(fd, live, nlive);
	flock(fd, LOCK_UN);
	return fd;
}

/* c) slot seq&1 of the VF's file: "<seq hex16> <crc hex8> <json>\n", padded. */
static void put_slot(int fd, unsigned long long seq, const char *txt)
{
	char buf[SLOT];
	int n = snprintf(buf, sizeof(buf), "%016llx %08x %s\n", seq,
			 vfa_journal_crc(txt, strlen(txt)), txt);

	memset(buf + n, 0, sizeof(buf) - (size_t)n);
	if (pwrite(fd, buf, SLOT, (off_t)(seq & 1) * SLOT) != SLOT)
		die("pwrite");
	if (fdatasync(fd) < 0)
		die("fdatasync");
}

static int parse_one(const char *p, size_t n)
{
	struct vfa_lease l;

	return vfa_lease_parse(p, n, &l);
}

static int list_files(const char *prefix)
{
	char buf[4096];
	struct dirent *de;
	int got = 0, fd = dup(dfd);
	DIR *d = fdopendir(fd);

	rewinddir(d);
	while ((de = readdir(d))) {
		ssize_t n;
		int f;

		if (strncmp(de->d_name, prefix, strlen(prefix)) || !strstr(de->d_name, ".json"))
			continue;
		f = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		n = read(f, buf, sizeof(buf));
		close(f);
		if (n > 0 && !parse_one(buf, (size_t)n))
			got++;
	}
	closedir(d);
	return got;
}

static int list_slots(void)
{
	char buf[2 * SLOT];
	struct dirent *de;
	int got = 0, fd = dup(dfd);
	DIR *d = fdopendir(fd);

	rewinddir(d);
	while ((de = readdir(d))) {
		unsigned long long best = 0, seq;
		const char *pick = NULL;
		unsigned int crc;
		ssize_t n;
		int f;

		if (strncmp(de->d_name, "c", 1) || !strstr(de->d_name, ".slots"))
			continue;
		f = openat(dfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		n = pread(f, buf, sizeof(buf), 0);
		close(f);
		for (int s = 0; s < 2 && n == (ssize_t)sizeof(buf); s++) {
			char *p = buf + s * SLOT, *j = p + 26, *e = memchr(p, '\n', SLOT);

			if (!e || sscanf(p, "%16llx %8x", &seq, &crc) != 2 ||
			    vfa_journal_crc(j, (size_t)(e - j)) != crc || seq < best)
				continue;
			best = seq;
			pick = j;
		}
		if (pick && !parse_one(pick, (size_t)((char *)memchr(pick, '\n', SLOT) - pick)))
			got++;
	}
	closedir(d);
	return got;
}

static int replay_log(void)
{
	static char buf[LOG_BOUND * 2];
	int fd = openat(dfd, "log", O_RDONLY | O_CLOEXEC), got = 0;
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	char *p = buf, *end = buf + (n > 0 ? n : 0);

	close(fd);
	while (p < end) {
		char *e = memchr(p, '\n', (size_t)(end - p));
		unsigned int crc;

		if (!e)
			break;
		if (sscanf(p, "%8x", &crc) == 1 && vfa_journal_crc(p + 9, (size_t)(e - p - 9)) == crc &&
		    !parse_one(p + 9, (size_t)(e - p - 9)))
			got++;
		p = e + 1;
	}
	return got;
}

static struct vfa_lease api_lease(int i, int gen)
{
	char *t = lease_txt(i, gen);
	struct vfa_lease l;

	if (vfa_lease_parse(t, strlen(t), &l))
		die("parse");
	free(t);
	return l;
}

/* d) agent/journal.c itself. */
static void bench_api(const char *dir, const char *fs, double *v, int n)
{
	struct vfa_state *st = NULL;
	struct vfa_err e;
	struct vfa_lease *all;
	char sd[300], what[64], cmd[400];
	size_t got;

	snprintf(sd, sizeof(sd), "%s/jb-state", dir);
	if (vfa_state_open(sd, &st, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		exit(1);
	}
	for (int k = 0; k < n; k++) {
		struct vfa_lease l = api_lease(k % 7, k & 1);
		double t = now_us();

		if (vfa_lease_save(st, &l, &e))
			die(e.msg);
		v[k] = now_us() - t;
	}
	report("d) vfa_lease_save (journal.c, +compact)", fs, v, n);
	for (int s = 7; s <= 28; s += 21) {
		for (int i = 0; i < s; i++) {
			struct vfa_lease l = api_lease(i, 1);

			vfa_lease_save(st, &l, &e);
		}
		for (int k = 0; k < n; k++) {
			double t = now_us();

			if (vfa_lease_list(st, &all, &got, NULL) || got != (size_t)s)
				die("list");
			v[k] = now_us() - t;
			free(all);
		}
		snprintf(what, sizeof(what), "d) vfa_lease_list %d, nothing new", s);
		report(what, fs, v, n);
	}
	vfa_state_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sd);
	if (system(cmd))
		fprintf(stderr, "cleanup of %s failed\n", sd);
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 2000, lfd, sizes[2] = { 7, 28 };
	char *txt[2][28], fs[16];
	double *v;
	struct statfs sf;

	if (argc < 2 || n < 100) {
		fprintf(stderr, "usage: journal_bench DIR [N>=100]\n");
		return 2;
	}
	dfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		die(argv[1]);
	v = calloc((size_t)n, sizeof(*v));
	snprintf(fs, sizeof(fs), "%.6s", fstatfs(dfd, &sf) == 0 && sf.f_type == TMPFS_MAGIC ?
		 "tmpfs" : "disk");
	for (int i = 0; i < 28; i++)
		for (int g = 0; g < 2; g++)
			txt[g][i] = lease_txt(i, g);
	printf("# journal_bench %s n=%d record=%zu bytes\n", argv[1], n, strlen(txt[1][0]));
	printf("%-44s %-6s %6s %10s %10s\n", "operation", "fs", "n", "p50 us", "p99 us");

	for (int k = 0; k < n; k++) {
		double t = now_us();

		put_file(k % 7, txt[k & 1][k % 7]);
		v[k] = now_us() - t;
	}
	report("a) file: tmp+fsync+rename+fsync(dir)", fs, v, n);

	lfd = log_open();
	for (int k = 0; k < n; k++) {
		double t = now_us();

		lfd = log_append(lfd, txt[k & 1][k % 7], txt[1], 7);
		v[k] = now_us() - t;
	}
	report("b) log: flock+write+fdatasync (+compact)", fs, v, n);

	{
		int sfd[7];

		for (int i = 0; i < 7; i++) {
			char name[32];

			snprintf(name, sizeof(name), "c%d.slots", i);
			sfd[i] = openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (sfd[i] < 0 || ftruncate(sfd[i], 2 * SLOT) < 0 || fsync(sfd[i]) < 0)
				die("slots");
		}
		for (int k = 0; k < n; k++) {
			double t = now_us();

			put_slot(sfd[k % 7], (unsigned long long)(k / 7 + 1), txt[k & 1][k % 7]);
			v[k] = now_us() - t;
		}
		report("c) slots: pwrite+fdatasync in place", fs, v, n);
		for (int i = 0; i < 7; i++)
			close(sfd[i]);
	}

	for (int s = 0; s < 2; s++) {
		int m = sizes[s], fd;
		char what[64], line[2048];

		/* Same lease set in each format. */
		for (int i = 0; i < m; i++) {
			put_file(i, txt[1][i]);
			snprintf(line, sizeof(line), "c%d.slots", i);
			fd = openat(dfd, line, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
			if (fd < 0 || ftruncate(fd, 2 * SLOT) < 0)
				die("slots");
			put_slot(fd, 1, txt[0][i]);
			put_slot(fd, 2, txt[1][i]);
			close(fd);
		}
		lfd = log_compact(lfd, txt[1], m);
		for (int k = 0; k < n; k++) {
			double t = now_us();
			int got = list_files("a");

			v[k] = now_us() - t;
			if (got != m)
				fprintf(stderr, "a) list got %d of %d\n", got, m);
		}
		snprintf(what, sizeof(what), "a) list %d: scan + read %d files", m, m);
		report(what, fs, v, n);
		for (int k = 0; k < n; k++) {
			double t = now_us();
			int got = replay_log();

			v[k] = now_us() - t;
			if (got != m)
				fprintf(stderr, "b) replay got %d of %d\n", got, m);
		}
		snprintf(what, sizeof(what), "b) list %d: replay compacted log", m);
		report(what, fs, v, n);
		for (int k = 0; k < n; k++) {
			double t = now_us();
			struct stat ls;
			char b[64];

			if (fstat(lfd, &ls) < 0 || pread(lfd, b, sizeof(b), ls.st_size) != 0)
				die("tail");
			v[k] = now_us() - t;
		}
		snprintf(what, sizeof(what), "b) list %d: tail-read, nothing new", m);
		report(what, fs, v, n);
		for (int k = 0; k < n; k++) {
			double t = now_us();
			int got = list_slots();

			v[k] = now_us() - t;
			if (got != m)
				fprintf(stderr, "c) list got %d of %d\n", got, m);
		}
		snprintf(what, sizeof(what), "c) list %d: scan + read %d slot files", m, m);
		report(what, fs, v, n);
	}

	bench_api(argv[1], fs, v, n);
	for (int i = 0; i < 28; i++) {
		char name[32];

		snprintf(name, sizeof(name), "a%d.json", i);
		unlinkat(dfd, name, 0);
		snprintf(name, sizeof(name), "c%d.slots", i);
		unlinkat(dfd, name, 0);
	}
	unlinkat(dfd, "log", 0);
	close(lfd);
	close(dfd);
	free(v);
	return 0;
}
