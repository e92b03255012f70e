/* libFuzzer harness for vfa_config_parse(): any bytes as a config file
 * must parse or be refused with a "fuzz..." message at exit 2, never
 * read past the buffer (an exact-size heap copy, no NUL terminator), and
 * an accepted config must hold what the parser promises. Seeds:
 * tests/fixtures/config. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

static void check_pool(const struct vfa_pool *p)
{
	if (!terminated(p->name, sizeof(p->name)) || !p->name[0] ||
	    p->n_pf == 0 || p->n_pf > VFA_MAX_PFS || p->vfs == 0 || p->vfs > 256 ||
	    p->vlan > 4094 || p->qos > 7 || (p->mode & 0007) || p->mode > 0777 ||
	    (p->has_owner && (p->uid == (uid_t)-1 || p->gid == (gid_t)-1)))
		abort();
	for (unsigned int i = 0; i < p->n_pf; i++)
		if (!terminated(p->pf[i], VFA_NAME_LEN) || !p->pf[i][0])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vfa_config cfg;
	struct vfa_err e = { "", 0 };
	char *copy;
	int r;

	if (size > 65536)
		return 0;
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	r = vfa_config_parse(copy, size, "fuzz.conf", &cfg, &e);
	if (r == 0) {
		if (cfg.n_pools > VFA_MAX_POOLS || (cfg.socket[0] && cfg.socket[0] != '/') ||
		    cfg.n_allow_uid > VFA_MAX_ALLOW || cfg.n_allow_gid > VFA_MAX_ALLOW)
			abort();
		for (unsigned int i = 0; i < cfg.n_pools; i++)
			check_pool(&cfg.pools[i]);
	} else if (r > 0 || e.exit != VFA_EXIT_USAGE || !terminated(e.msg, sizeof(e.msg)) ||
		   strncmp(e.msg, "fuzz.conf", 9)) {
		abort();
	}
	free(copy);
	return 0;
}
