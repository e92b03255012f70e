/* Text checks shared by unit tests (header-only, as t.h). */
#ifndef VFAGENT_T_TEXT_H
#define VFAGENT_T_TEXT_H

#include <stdbool.h>
#include <string.h>

/* Does txt hold line as one whole line (metrics files, CLI output)? */
__attribute__((unused))
static bool t_has_line(const char *txt, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = txt; (p = strstr(p, line)); p += n)
		if ((p == txt || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#endif
