/* vfagent doctor: the state dir's lease journal (damaged records). */
#include "agent/doctor.h"

#include <errno.h>
#include <unistd.h>

/* A journal of a newer format: never "remove it", it is what accounts for
 * every VF. */
#define UPGRADE_FIX "upgrade vfagent to the version that wrote the journal or a newer one, and keep the journal as it is"

/* The persistent journal is there but cannot be read: after a boot its
 * leases are not restored and alloc hands out no VF (reconcile.c). Not
 * root: EACCES says nothing about the host, as for the state dir. */
static void persist_unreadable(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	if (!c->persist_errno || (c->persist_errno == EACCES && geteuid() != 0))
		return;
	vfa_doc_add(rep, DOC_JOURNAL, DOC_FAIL, NULL, c->persist_errno == EPROTO ?
		    UPGRADE_FIX "; until then alloc hands out no VF after a boot" :
		    "fix what the message names and keep the journal (it holds the VFs of persistent domains: never delete it); until vfagent can read it, alloc hands out no VF after a boot",
		    "persistent leases (%s) cannot be read: %s", c->persist_dir, c->persist_err);
}

/**
 * vfa_doc_journal() - damaged records in the lease journal: each was
 * skipped, so a lease it changed may be out of date.
 */
void vfa_doc_journal(const struct vfa_doc_ctx *c, struct vfa_doc_report *rep)
{
	persist_unreadable(c, rep);
	/* The persistent one is read only after a boot (its leases copied
	 * into the runtime journal): its damage shows nowhere else. */
	if (c->persist_damaged)
		vfa_doc_add(rep, DOC_JOURNAL, DOC_WARN, NULL,
			    "keep a copy of that journal for a bug report; after the next boot, lease.fenced names each VF they leave fenced and how to release it; the journal's next compaction drops them",
			    "%s/journal (persistent leases): %u damaged records skipped (a torn or corrupted write)",
			    c->persist_dir, c->persist_damaged);
	if (c->state_errno == EPROTO) {
		/* A journal of a newer format (journal.c says which): never
		 * "remove it", it is what accounts for every VF. */
		vfa_doc_add(rep, DOC_JOURNAL, DOC_FAIL, NULL, UPGRADE_FIX, "%s", c->state_err);
		return;
	}
	if (c->state_errno && c->state_errno != EACCES) {
		vfa_doc_add(rep, DOC_JOURNAL, DOC_FAIL, NULL, NULL, "%s", c->state_err);
		return;
	}
	if (!c->state_dir[0]) {
		vfa_doc_add(rep, DOC_JOURNAL, DOC_SKIP, NULL, NULL,
			    "no state dir could be read (nothing leased yet, or not root)");
		return;
	}
	if (!c->journal_damaged) {
		vfa_doc_add(rep, DOC_JOURNAL, DOC_OK, NULL, NULL,
			    "%s/journal: %zu leases, no damaged records", c->state_dir, c->n_leases);
		return;
	}
	vfa_doc_add(rep, DOC_JOURNAL, DOC_WARN, NULL, VFA_DAMAGED_FIX,
		    "%s/journal: %u damaged records skipped (a torn or corrupted write)",
		    c->state_dir, c->journal_damaged);
}
