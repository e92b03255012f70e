/* Test client of the public client library (agent/vfagent-client.h):
 *   watch_tool SOCK watch N [TIMEOUT_MS]   watch; print the snapshot and the
 *                                          next N events, one line each;
 *                                          exit 0 if all came
 *   watch_tool SOCK stall FILE             watch with a tiny receive buffer,
 *                                          read nothing until FILE exists,
 *                                          then print the last line before EOF
 *   watch_tool SOCK call JSON...           pipeline the requests, print the
 *                                          replies in order */
#include "agent/vfagent-client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put(json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
}

static int do_watch(struct vfa_client *c, int n, int tmo)
{
	json_object *ev;
	int r = vfa_client_watch(c, tmo, &ev);

	if (r) {
		fprintf(stderr, "watch: %s\n", vfa_client_error(c));
		return 1;
	}
	put(ev);
	json_object_put(ev);
	for (int i = 0; i < n; i++) {
		r = vfa_client_next_event(c, tmo, &ev);
		if (r) {
			fprintf(stderr, "event %d: %s\n", i + 1, vfa_client_error(c));
			return 1;
		}
		put(ev);
		json_object_put(ev);
	}
	return 0;
}

/* The daemon must drop a watcher that reads nothing: the last line it
 * gets is the overflow event, then EOF. */
static int do_stall(struct vfa_client *c, const char *file)
{
	json_object *req = json_object_new_object(), *ev, *last = NULL;
	int r;

	json_object_object_add(req, "op", json_object_new_string("watch"));
	r = vfa_client_send(c, req);
	json_object_put(req);
	if (r)
		return 1;
	while (access(file, F_OK))
		usleep(20000);
	while ((r = vfa_client_recv(c, 10000, &ev)) == 0) {
		json_object_put(last);
		last = ev;
	}
	if (r != -EPIPE || !last) {
		fprintf(stderr, "stall: %s\n", vfa_client_error(c));
		return 1;
	}
	put(last);
	json_object_put(last);
	return 0;
}

static int do_call(struct vfa_client *c, int argc, char **argv)
{
	json_object *rep;

	for (int i = 0; i < argc; i++) {
		json_object *req = json_tokener_parse(argv[i]);

		if (!req || vfa_client_send(c, req)) {
			fprintf(stderr, "request %d: %s\n", i + 1, req ? vfa_client_error(c) : "bad JSON");
			return 1;
		}
		json_object_put(req);
	}
	for (int i = 0; i < argc; i++) {
		if (vfa_client_recv(c, 30000, &rep)) {
			fprintf(stderr, "reply %d: %s\n", i + 1, vfa_client_error(c));
			return 1;
		}
		put(rep);
		json_object_put(rep);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vfa_client *c = NULL;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "usage: watch_tool SOCK (watch N [TIMEOUT_MS] | stall FILE | call JSON...)\n");
		return 2;
	}
	if (vfa_client_connect(argv[1], 10000, &c)) {
		fprintf(stderr, "connect: %s\n", vfa_client_error(c));
		vfa_client_close(c);
		return 1;
	}
	if (!strcmp(argv[2], "watch"))
		rc = do_watch(c, atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 20000);
	else if (!strcmp(argv[2], "stall"))
		rc = do_stall(c, argv[3]);
	else
		rc = do_call(c, argc - 3, argv + 3);
	vfa_client_close(c);
	return rc;
}
