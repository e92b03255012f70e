/* A scripted client of the daemon socket, for the flow-control tests:
 *   serve_tool PATH STEP...
 * Steps, in order, on one connection unless said otherwise:
 *   send:TEXT     send TEXT ("\n" escapes become newlines)
 *   big:N         send N bytes of 'x'
 *   flood:N       send up to N bytes of {"op":"x"} lines, never reading,
 *                 until the daemon stops taking them for 2 s; prints
 *                 "flood: sent B bytes"
 *   shutwr        shutdown(SHUT_WR): a half-close, as nc -N does
 *   read:N        read N reply lines (10 s each) and print them
 *   eof           read to EOF (10 s), printing lines; prints "eof"
 *   sleep:MS      wait
 *   trickle:N:MS  N more connections, each sending one byte a second for
 *                 MS; prints "trickle: K of N still open"
 *   connects:N    N more connections, each closed at once
 * Exit 0 if every read and eof step got what it waited for. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_un sa = { .sun_family = AF_UNIX };
static char rbuf[1 << 20];
static size_t rlen;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int dial(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

/* One line (printed) within ms; 1 got one, 0 EOF, -1 timeout/error. */
static int get_line(int fd, int ms)
{
	long long end = now_ms() + ms;

	for (;;) {
		char *nl = memchr(rbuf, '\n', rlen);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			*nl = '\0';
			puts(rbuf);
			rlen -= (size_t)(nl + 1 - rbuf);
			memmove(rbuf, nl + 1, rlen);
			return 1;
		}
		if (now_ms() >= end || poll(&p, 1, (int)(end - now_ms())) <= 0)
			return -1;
		n = recv(fd, rbuf + rlen, sizeof(rbuf) - rlen - 1, 0);
		if (n == 0)
			return 0;
		if (n < 0)
			return errno == ECONNRESET ? 0 : -1;
		rlen += (size_t)n;
	}
}

static void flood(int fd, long max)
{
	static const char line[] = "{\"op\":\"x\"}\n";
	long sent = 0;
	size_t off = 0;

	while (sent < max) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t w;

		if (poll(&p, 1, 2000) <= 0)
			break;
		w = send(fd, line + off, sizeof(line) - 1 - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN)
			continue;
		if (w <= 0)
			break;
		sent += w;
		off = (off + (size_t)w) % (sizeof(line) - 1);
	}
	printf("flood: sent %ld bytes\n", sent);
	fflush(stdout);
}

static void trickle(int n, int ms)
{
	int *fds = calloc((size_t)n, sizeof(int)), open_n = 0;
	long long end = now_ms() + ms;

	for (int i = 0; i < n; i++)
		fds[i] = dial();
	for (int round = 0; now_ms() < end; round++) {
		for (int i = 0; i < n; i++)
			if (fds[i] >= 0 && send(fds[i], round ? " " : "{", 1, MSG_NOSIGNAL) < 0) {
				close(fds[i]);
				fds[i] = -1;
			}
		usleep(1000 * 1000);
	}
	for (int i = 0; i < n; i++) {
		struct pollfd p = { .fd = fds[i], .events = POLLIN };
		char b[512];

		if (fds[i] < 0)
			continue;
		/* Closed by the daemon: readable with EOF (after any reply). */
		while (poll(&p, 1, 0) > 0 && recv(fds[i], b, sizeof(b), MSG_DONTWAIT) > 0)
			;
		if (poll(&p, 1, 0) == 0 || recv(fds[i], b, 1, MSG_DONTWAIT) < 0)
			open_n++;
		close(fds[i]);
	}
	printf("trickle: %d of %d still open\n", open_n, n);
	fflush(stdout);
	free(fds);
}

int main(int argc, char **argv)
{
	int fd, ok = 1;

	if (argc < 3) {
		fprintf(stderr, "usage: serve_tool PATH STEP...\n");
		return 2;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	fd = dial();
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "send:", 5)) {
			char *d = malloc(strlen(a) + 1);
			size_t n = 0;

			for (const char *p = a + 5; *p; p++) {
				if (p[0] == '\\' && p[1] == 'n') {
					d[n++] = '\n';
					p++;
				} else {
					d[n++] = *p;
				}
			}
			if (send(fd, d, n, MSG_NOSIGNAL) < 0)
				printf("send: %s\n", strerror(errno));
			free(d);
		} else if (!strncmp(a, "big:", 4)) {
			long n = atol(a + 4);
			char x[4096];

			memset(x, 'x', sizeof(x));
			while (n > 0) {
				ssize_t w = send(fd, x, n < 4096 ? (size_t)n : sizeof(x), MSG_NOSIGNAL);

				if (w <= 0)
					break;
				n -= w;
			}
		} else if (!strncmp(a, "flood:", 6)) {
			flood(fd, atol(a + 6));
		} else if (!strcmp(a, "shutwr")) {
			shutdown(fd, SHUT_WR);
		} else if (!strncmp(a, "read:", 5)) {
			for (int k = atoi(a + 5); k > 0; k--)
				if (get_line(fd, 10000) != 1) {
					printf("read: missing %d line(s)\n", k);
					ok = 0;
					break;
				}
		} else if (!strcmp(a, "eof")) {
			int r;

			while ((r = get_line(fd, 10000)) == 1)
				;
			if (r == 0) {
				puts("eof");
			} else {
				puts("eof: none within 10 s");
				ok = 0;
			}
		} else if (!strncmp(a, "sleep:", 6)) {
			usleep((useconds_t)atoi(a + 6) * 1000);
		} else if (!strncmp(a, "trickle:", 8)) {
			int n = atoi(a + 8);
			const char *c = strchr(a + 8, ':');

			trickle(n, c ? atoi(c + 1) : 5000);
		} else if (!strncmp(a, "connects:", 9)) {
			for (int k = atoi(a + 9); k > 0; k--)
				close(dial());
		} else {
			fprintf(stderr, "serve_tool: unknown step %s\n", a);
			return 2;
		}
		fflush(stdout);
	}
	close(fd);
	return ok ? 0 : 1;
}
