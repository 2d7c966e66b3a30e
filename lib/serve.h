/*
 * serve — the three ways a program runs (API.md "Programs") and the request
 * dispatcher they share.
 *
 *   CGI                 fd 0 is not a socket: one request from the environment.
 *   inherited socket    fd 0 is a listening socket (spawn-fcgi, systemd): one
 *                       process, or with --workers N the parent below on fd 0.
 *   --listen ADDR       our own FastCGI server: a parent keeping --workers N
 *                       children; a dead worker is replaced (a failed fork()
 *                       is logged and retried with back-off, 1 s doubling
 *                       to 30 s); SIGTERM/SIGINT
 *                       let requests in flight finish, then the parent exits 0.
 *                       A unix socket is bound under a temporary name and
 *                       renamed into place; at exit it is removed only if the
 *                       path still holds it (a newer program may own it now).
 *
 * Configuration is read once, before any worker exists. Each worker keeps one
 * lazy connection per database (struct app) for its whole life.
 *
 * The dispatcher answers what every route has in common: 404 for unknown
 * paths, 405 with Allow, 413 over the body cap, 415 for a wrong content type,
 * GET /api/health, and 500 when a handler leaves no answer.
 *
 * Owns no table.
 */
#ifndef FAROUT_SERVE_H
#define FAROUT_SERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "config.h"
#include "http.h"

typedef void (*serve_handler)(struct app *, const struct http_req *, struct http_resp *);

enum {
	ROUTE_BODY_JSON = 1 << 0, /* the body is read; application/json accepted */
	ROUTE_BODY_FORM = 1 << 1, /* the body is read; x-www-form-urlencoded accepted */
};

struct route {
	const char *method;
	/* An exact path, or one ending in a "{name}" segment: any one non-empty segment, in req->param. */
	const char *pattern;
	serve_handler handler;
	unsigned flags;
	size_t body_max; /* 0: HTTP_BODY_MAX (64 KiB) */
};

struct program {
	const char *name;
	const struct route *routes;
	size_t nroutes;
	unsigned config_needs; /* CONFIG_NEED_* */
	/* Per process (per worker), after the fork; either may be NULL. */
	int (*init)(struct app *);
	void (*cleanup)(struct app *);
};

/* The whole main() of a program: parses argv, loads config, runs. Returns the exit status. */
int serve_main(const struct program *, int argc, char **argv);

/* True when path matches a route pattern; *param is its {name} segment or NULL. */
bool serve_path_matches(const char *pattern, const char *path, const char **param);

/* Dispatches one parsed request (the body not read yet is read through read_body). Exposed for tests. */
typedef int (*serve_body_reader)(void *ctx, char *dst, size_t n);
void serve_dispatch(const struct program *, struct app *, struct http_req *, struct http_resp *,
                    serve_body_reader read_body, void *ctx);

#endif
