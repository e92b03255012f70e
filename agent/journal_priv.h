/* The state dir's internals: may only be included by state.c, journal.c,
 * journal_import.c, the test suites and bench/journal_bench.c. */
#ifndef VFA_JOURNAL_PRIV_H
#define VFA_JOURNAL_PRIV_H

#include "agent/lease_priv.h"

#include <sys/types.h>

/* The journal: state_dir/journal, one line per transition,
 * "<crc32 of json, 8 hex> <json>\n"; json is a lease (vfa_lease_json),
 * {"drop":"<pci>"} or {"moved":true}. Each process folds it into leases in
 * memory, reading on from where it stopped; past jbound bytes it is
 * compacted into a snapshot that replaces it (temp + fsync, the "moved"
 * marker appended to the old log, rename + fsync of the dir). A reader
 * that meets the marker reopens the path; it never stats the path to learn
 * of a compaction.
 * The bound keeps a fresh process's replay short (a --direct CLI replays
 * the whole log at every start: at 256 KiB that was ~40 ms under TCG in
 * make bench); a compaction costs about one old per-file write, once
 * every ~20 transitions (the daemon's: between requests, below). */
#define VFA_JOURNAL_BOUND (8 * 1024)
/* The daemon compacts between requests (at its sweep: vfa_state_compact),
 * so that a compaction's two extra fsyncs land in no request; its own
 * appends compact inline only past this, a backstop under churn with no
 * pause (one transition in ~200 rather than one in ~20, which put the
 * compaction into the daemon's p99: make bench, 2026-11-26 11:03 UTC). */
#define VFA_JOURNAL_DEFER_BOUND (64 * 1024)
#define VFA_JOURNAL_NAME "journal"	/* in the state dir */
#define VFA_JOURNAL_REC_MAX 2048	/* a lease is ~400 bytes of JSON */
/* The journal format this vfagent reads and writes. A record
 * {"format":N} says a journal needs a reader of format N or later: a
 * reader of an older format refuses it (journal.c). None: format 1. */
#define VFA_JOURNAL_FORMAT 1

struct vfa_state {
	char dir[256];
	int dirfd;
	int locks_fd;
	int lock_fd;
	bool locked;		/* we hold lock_fd's lock (vfa_state_lock) */
	/* the journal and this process's fold of it */
	int jfd;
	pid_t jpid;		/* who opened jfd: a forked child reopens */
	bool jclean;		/* the file ends at off: the last refresh under
				 * the lock read nothing past it (no torn tail) */
	off_t jroom;		/* allocated (fallocate) up to here, by us */
	bool jop;		/* in an operation: since the state lock was taken */
	bool jchecked;		/* the path was checked in this operation */
	dev_t jdev;
	ino_t jino;
	off_t off;		/* end of the last good record folded */
	unsigned int jgen;	/* counts (re)opens of the journal */
	bool jlocked;		/* we hold its lock (jlock) */
	size_t jbound;		/* an append compacts past this size */
	unsigned int nbad;	/* damaged records skipped */
	unsigned int jnewer;	/* the format of a journal too new to read, or 0 */
	struct vfa_lease *fold;
	size_t n, cap;
};

/* One journal record, parsed. */
struct vfa_jrec {
	bool moved;		/* the compactor's marker: the log was replaced */
	bool drop;
	unsigned int format;	/* {"format":N}: N (never 0); 0 for other records */
	char pci[16];		/* drop: the VF whose lease is gone */
	struct vfa_lease lease;	/* !drop */
};

uint32_t vfa_journal_crc(const char *p, size_t n);
int vfa_journal_record(const char *line, size_t len, struct vfa_jrec *ret);
size_t vfa_journal_format(const struct vfa_lease *l, const char *drop_pci,
			  char *buf, size_t len);
size_t vfa_journal_format_rec(const struct vfa_jrec *r, char *buf, size_t len);
int vfa_journal_open(struct vfa_state *st, struct vfa_err *e);
/* journal_compact.c; all three under the journal's lock */
bool vfa_journal_past(const struct vfa_state *st, size_t bound);
int vfa_journal_compact(struct vfa_state *st);
int vfa_journal_cut_tail(struct vfa_state *st);	/* journal.c */
void vfa_journal_close(struct vfa_state *st);
int vfa_journal_import(struct vfa_state *st, struct vfa_err *e);	/* journal_import.c */

/* journal.c's locked append, for the import. */
int vfa_journal_lock(struct vfa_state *st, struct vfa_err *e);
void vfa_journal_unlock(struct vfa_state *st);
int vfa_journal_append_locked(struct vfa_state *st, const char *buf, size_t len);
int vfa_journal_refresh(struct vfa_state *st, struct vfa_err *e);
struct vfa_lease *vfa_journal_find(struct vfa_state *st, const char *pci);

#endif
