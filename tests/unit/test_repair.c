/* Repairs counted by kind where they are done (agent/repair.h), not read
 * back from the notes' sentences: the kind reaches the result's "repairs"
 * and the metrics' kind label; a repair that failed is not counted. On
 * the fake lab host of test_policy.c (its tree, replay and helpers are
 * included, its own tests are not run here). */
#define main policy_main
int policy_main(void);
#include "tests/unit/test_policy.c"
#undef main

#include "agent/fleet.h"
#include "tests/unit/t_text.h"

static void test_names(void)
{
	bool ok = vfa_repair_from_str("nosuch") == VFA_REPAIR_UNKNOWN &&
		  !strcmp(vfa_repair_str(VFA_REPAIR_UNKNOWN), "unknown");

	for (int k = 0; k < VFA_REPAIR__N; k++)
		ok &= vfa_repair_from_str(vfa_repair_str((enum vfa_repair)k)) == (enum vfa_repair)k;
	T("repair.names_round_trip", ok, "a kind's name does not map back to it");
}

/* The MAC a user changed behind our back is set back: counted as mac_vlan
 * in the agent, in a command's result, and in the daemon's metrics. */
static void test_netcfg(void)
{
	struct vfnl_vf_set evil = { .index = 0, .set = VFNL_SET_MAC,
				    .mac = { 0x02, 0xee, 0xee, 0xee, 0xee, 0xee } };
	struct vfa_fleet *f = calloc(1, sizeof(*f));
	struct vfa_opts o = { 0 };
	struct vfa_err e = { "", 0 };
	json_object *res = NULL, *rep;
	char *txt = NULL;
	int r;

	if (!f || start(POOL7, true, false)) {
		T("repair.netcfg.start", 0, "cannot set up the fake host");
		free(f);
		return;
	}
	r = alloc("52:54:00:aa:bb:05", "500", NULL, &res, &e);
	json_object_put(res);
	r |= vfnl_set_vfs(A->nl, ifindex, &evil, 1);
	res = NULL;
	r |= vfa_reconcile(A, false, &res, &e);
	T("repair.netcfg_counted", r == 0 && vfa_agent_repairs(A)[VFA_REPAIR_NETCFG] == 1 &&
	  vfa_agent_repairs(A)[VFA_REPAIR_RECLAIMED] == 0, "r=%d %s netcfg %u", r, e.msg,
	  vfa_agent_repairs(A)[VFA_REPAIR_NETCFG]);
	json_object_put(res);

	/* The same repair found by a command: its result says it by kind. */
	r = vfnl_set_vfs(A->nl, ifindex, &evil, 1);
	res = NULL;
	r |= vfa_status(A, &o, &res, &e);
	T("repair.result_has_kind", r == 0 && json_object_object_get_ex(res, "repairs", &rep) &&
	  json_object_object_get_ex(rep, "mac_vlan", &rep) && json_object_get_int(rep) == 1,
	  "r=%d %s result %s", r, e.msg, res ? json_object_to_json_string(res) : "none");
	vfa_metrics_sync(&f->m, vfa_agent_config(A));
	vfa_fleet_op(f, "status", &o, r, &e, res, 0.001);
	json_object_put(res);
	r = vfa_metrics_render(&f->m, &f->snap, &txt);
	T("repair.metrics_kind", r == 0 && txt &&
	  t_has_line(txt, "vfagent_reconcile_repairs_total{kind=\"mac_vlan\"} 1") &&
	  t_has_line(txt, "vfagent_reconcile_repairs_total{kind=\"pf_up\"} 0"), "r=%d %s", r,
	  txt ? txt : "");
	free(txt);
	free(f);
	stop();
}

/* A PF went down and pf-restore brings it back up: counted once it is;
 * a failed bring-up is noted, not counted (the sentence said "bringing it
 * back up" either way). */
static void test_pf_up(void)
{
	struct vfa_err e = { "", 0 };
	json_object *notes = NULL;
	int r;

	for (int fail = 1; fail >= 0; fail--) {
		if (start(POOL7, true, false)) {
			T("repair.pf_up.start", 0, "cannot set up the fake host");
			return;
		}
		r = vfa_check_pfs(A, true, &notes, &e);
		json_object_put(notes);
		notes = NULL;
		r |= vfnl_set_up(A->nl, ifindex, false);
		if (fail)
			vfnl_replay_fail(RP, RTM_SETLINK, -EPERM, 1);
		r |= vfa_check_pfs(A, true, &notes, &e);
		if (fail)
			T("repair.pf_up_failed_not_counted", r == 0 &&
			  notes_have(notes, "bringing it up failed") &&
			  vfa_agent_repairs(A)[VFA_REPAIR_PF_UP] == 0, "r=%d pf_up %u", r,
			  vfa_agent_repairs(A)[VFA_REPAIR_PF_UP]);
		else
			T("repair.pf_up_counted", r == 0 && notes_have(notes, "went down") &&
			  vfa_agent_repairs(A)[VFA_REPAIR_PF_UP] == 1, "r=%d pf_up %u", r,
			  vfa_agent_repairs(A)[VFA_REPAIR_PF_UP]);
		json_object_put(notes);
		notes = NULL;
		stop();
	}
}

int main(void)
{
	if (access(FIX, R_OK)) {
		t_skip("repair", "run from the source tree: " FIX " not found");
		return t_done();
	}
	test_names();
	test_netcfg();
	test_pf_up();
	return t_done();
}
