/* Test client for the daemon socket: sends raw bytes, reads reply lines.
 *   sock_tool PATH DATA [--stall-ms N] [--lines N] [--big N]
 * DATA is sent as given ("\n" escapes become newlines); --big N sends N
 * bytes of 'x' first (an oversized line); --stall-ms N waits before
 * sending; prints each reply line; exit 0 if it got --lines lines. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int stall = 0, want = 1, got = 0, fd;
	long big = 0;
	char buf[1 << 16], *data;
	size_t len = 0, dl = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: sock_tool PATH DATA [--stall-ms N] [--lines N] [--big N]\n");
		return 2;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--stall-ms"))
			stall = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--lines"))
			want = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--big"))
			big = atol(argv[i + 1]);
	}
	data = malloc(strlen(argv[2]) + 1);
	for (const char *p = argv[2]; *p; p++) {
		if (p[0] == '\\' && p[1] == 'n') {
			data[dl++] = '\n';
			p++;
		} else {
			data[dl++] = *p;
		}
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		return 1;
	}
	if (stall)
		usleep((useconds_t)stall * 1000);
	for (long sent = 0; sent < big; ) {
		char x[4096];
		long n = big - sent < (long)sizeof(x) ? big - sent : (long)sizeof(x);
		ssize_t w;

		memset(x, 'x', sizeof(x));
		w = send(fd, x, (size_t)n, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		sent += w;
	}
	if (dl && send(fd, data, dl, MSG_NOSIGNAL) < 0)
		perror("send");
	while (got < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		char *nl;

		if (poll(&p, 1, 20000) <= 0)
			break;
		n = recv(fd, buf + len, sizeof(buf) - len - 1, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			*nl = '\0';
			puts(buf);
			got++;
			memmove(buf, nl + 1, len - (size_t)(nl + 1 - buf) + 1);
			len -= (size_t)(nl + 1 - buf);
		}
	}
	free(data);
	close(fd);
	return got >= want ? 0 : 1;
}
