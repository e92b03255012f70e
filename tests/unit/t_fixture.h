/* Fixture helpers shared by the unit tests that lay out a fake sysfs tree
 * (test_policy.c, and t_host.h for test_scale.c and test_jobmodel.c). */
#ifndef T_FIXTURE_H
#define T_FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>

/* Every file of fixture folder src into top/rel (config space and
 * attributes recorded from the lab's igb, for libpci). 0 or -errno. */
static inline int t_copy_dir(const char *top, const char *src, const char *rel)
{
	char from[512], to[512], buf[8192];
	struct dirent *de;
	DIR *d = opendir(src);
	int r = 0;

	if (!d)
		return -errno;
	while (!r && (de = readdir(d))) {
		FILE *in, *out;
		size_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(from, sizeof(from), "%s/%s", src, de->d_name);
		snprintf(to, sizeof(to), "%s/%s/%s", top, rel, de->d_name);
		in = fopen(from, "rb");
		out = fopen(to, "wb");
		r = in && out ? 0 : -EIO;
		while (!r && (n = fread(buf, 1, sizeof(buf), in)) > 0)
			r = fwrite(buf, 1, n, out) == n ? 0 : -EIO;
		if (in)
			fclose(in);
		if (out && fclose(out))
			r = -EIO;
	}
	closedir(d);
	return r;
}

#endif
