/* The daemon's kept VF lock files (agent/vflock.c): the lock still
 * excludes a --direct CLI (its own open of locks/<pci>) while held, is
 * free for it once let go, the file stays open between operations, and a
 * lock file removed under the daemon is not trusted. No root needed. */
#include "agent/agent_priv.h"
#include "agent/model.h"
#include "tests/unit/t.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define VF "0000:00:12.0"

int main(void)
{
	char dir[] = "/tmp/vfa-vflock-XXXXXX", sd[300], lp[400], cmd[400];
	struct vfa_agent *c = calloc(1, sizeof(*c));
	struct vfa_state *cli = NULL;
	struct vfa_err e = { "", 0 };
	int fd, fd2, other;

	if (!c || !mkdtemp(dir))
		return 1;
	snprintf(sd, sizeof(sd), "%s/state", dir);
	snprintf(lp, sizeof(lp), "%s/locks/%s", sd, VF);
	if (vfa_state_open(sd, &c->st, &e) || vfa_state_open(sd, &cli, &e)) {
		T("vflock.state_open", 0, "%s", e.msg);
		return t_done();
	}
	vfa_model_enable(c, NULL, NULL);	/* the daemon's agent */

	fd = vfa_vf_hold(c, VF, true);
	T("vflock.hold", fd >= 0, "r=%d", fd);
	T_EQ_INT("vflock.excludes_cli_while_held", vfa_vf_lock(cli, VF, false), -EWOULDBLOCK);
	vfa_vf_unhold(c, fd);
	T("vflock.kept_open_after_unhold", fcntl(fd, F_GETFD) >= 0, "fd %d closed", fd);
	other = vfa_vf_lock(cli, VF, false);
	T("vflock.free_for_cli_after_unhold", other >= 0, "r=%d", other);
	/* The CLI holds it: the daemon does not get it. */
	T_EQ_INT("vflock.cli_excludes_daemon", vfa_vf_hold(c, VF, false), -EWOULDBLOCK);
	if (other >= 0)
		close(other);
	fd2 = vfa_vf_hold(c, VF, true);
	T_EQ_INT("vflock.same_fd_reused", fd2, fd);
	vfa_vf_unhold(c, fd2);

	/* The lock file removed (state dir cleared): a CLI locks a new file,
	 * so the daemon must too. */
	unlink(lp);
	fd2 = vfa_vf_hold(c, VF, true);
	T("vflock.removed_file_reopened", fd2 >= 0 && access(lp, F_OK) == 0, "r=%d", fd2);
	other = vfa_vf_lock(cli, VF, false);
	T_EQ_INT("vflock.removed_file_still_excludes", other, -EWOULDBLOCK);
	if (other >= 0)
		close(other);
	vfa_vf_unhold(c, fd2);

	/* The CLI's agent (model off) opens and closes as before. */
	c->model.on = false;
	fd2 = vfa_vf_hold(c, VF, true);
	T("vflock.cli_hold", fd2 >= 0, "r=%d", fd2);
	vfa_vf_unhold(c, fd2);
	T("vflock.cli_closes", fcntl(fd2, F_GETFD) < 0 || fd2 == fd, "fd %d still open", fd2);
	c->model.on = true;

	vfa_state_close(cli);
	vfa_agent_close(c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		return 1;
	return t_done();
}
