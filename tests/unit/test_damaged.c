/* Damaged journal records are counted and reported, never skipped in
 * silence: the fold's count (vfa_lease_damaged; a compaction's snapshot
 * has none), the list's text line, and doctor's state.journal check with
 * its fix. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/doctor.h"
#include "tests/unit/t.h"
#include "tests/unit/t_state.h"

static void test_count(void)
{
	struct vfa_state *st = NULL, *b = NULL;
	struct vfa_err e = { "", 0 };
	struct vfa_lease l0 = t_lease(0, VFA_NO_OWNER), l1 = t_lease(1, VFA_NO_OWNER), *all = NULL;
	char sd[300], line[4096];
	size_t n = 0;

	snprintf(sd, sizeof(sd), "%s", t_sdir("count"));
	if (vfa_state_open(sd, &st, &e)) {
		T("damaged.count", 0, "%s", e.msg);
		return;
	}
	vfa_lease_save(st, &l0, &e);
	t_jappend(sd, "deadbeef {\"junk\":1}\n");
	t_jappend(sd, "00000000 {\"id\":\"cut\n");
	vfa_journal_format(&l1, NULL, line, sizeof(line));
	t_jappend(sd, line);
	vfa_lease_list(st, &all, &n, NULL);
	free(all);
	T("damaged.count", n == 2 && vfa_lease_damaged(st) == 2, "n=%zu damaged=%u", n,
	  vfa_lease_damaged(st));
	T_EQ_INT("damaged.none_for_no_handle", vfa_lease_damaged(NULL), 0);
	if (vfa_state_open(sd, &b, &e) == 0 && vfa_lease_list(b, &all, &n, NULL) == 0)
		T_EQ_INT("damaged.count_fresh", vfa_lease_damaged(b), 2);
	free(all);
	st->jbound = 1024;
	for (int i = 0; i < 20; i++) {
		l0.vlan = (uint16_t)(i + 1);
		vfa_lease_save(st, &l0, &e);
	}
	T_EQ_INT("damaged.compaction_drops_them", vfa_lease_damaged(st), 0);
	vfa_lease_list(b, &all, &n, NULL);
	free(all);
	T_EQ_INT("damaged.compaction_seen_by_other", vfa_lease_damaged(b), 0);
	vfa_state_close(b);
	vfa_state_close(st);
}

static void render(const char *json, char *out, size_t len)
{
	json_object *res = json_tokener_parse(json);
	FILE *f = fmemopen(out, len, "w");

	out[0] = '\0';
	if (f) {
		vfa_render_text(f, "list", res);
		fclose(f);
	}
	json_object_put(res);
}

static void test_list_text(void)
{
	char out[2048];

	render("{\"pfs\":[],\"journal\":{\"damaged_records\":2,\"fix\":\"do this\"}}", out, sizeof(out));
	T("damaged.list_text", strstr(out, "journal: 2 damaged records skipped: do this\n") != NULL,
	  "printed \"%s\"", out);
	render("{\"pfs\":[],\"journal\":{\"damaged_records\":0,\"fix\":null}}", out, sizeof(out));
	T("damaged.list_text_none", !strstr(out, "damaged"), "printed \"%s\"", out);
}

static void test_doctor(void)
{
	struct vfa_doc_ctx c = { .state_dir = "/run/vfagent", .n_leases = 3 };
	struct vfa_doc_report rep;

	c.journal_damaged = 2;
	rep.n = 0;
	vfa_doc_journal(&c, &rep);
	T("damaged.doctor_warns", rep.n == 1 && rep.f[0].check == DOC_JOURNAL &&
	  rep.f[0].status == DOC_WARN && strstr(rep.f[0].msg, "2 damaged records") &&
	  strstr(rep.f[0].fix, "vfagent status"), "%u findings: %s / %s", rep.n, rep.f[0].msg,
	  rep.f[0].fix);
	T_EQ_STR("damaged.doctor_name", vfa_doc_check_names[DOC_JOURNAL], "state.journal");
	c.journal_damaged = 0;
	rep.n = 0;
	vfa_doc_journal(&c, &rep);
	T("damaged.doctor_ok", rep.n == 1 && rep.f[0].status == DOC_OK, "%s", rep.f[0].msg);
	c.state_dir[0] = '\0';
	rep.n = 0;
	vfa_doc_journal(&c, &rep);
	T("damaged.doctor_skip", rep.n == 1 && rep.f[0].status == DOC_SKIP, "%s", rep.f[0].msg);
}

int main(void)
{
	if (t_state_begin("damaged"))
		return 1;
	test_count();
	test_list_text();
	test_doctor();
	t_state_end();
	return t_done();
}
