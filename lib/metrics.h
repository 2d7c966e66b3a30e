/*
 * metrics — Prometheus counters of one program in --listen mode (API.md
 * "Metrics"), served at GET /metrics/<program> in text format 0.0.4.
 *
 * The counters live in one anonymous MAP_SHARED mapping that the parent
 * makes before it forks its workers, so every worker adds to the same
 * numbers, a worker that dies loses nothing already counted, and its
 * replacement goes on counting in the same place. Counting is a relaxed
 * atomic add: no system call and no lock per request. Without
 * metrics_init (CGI and fd-0 modes) every call is a no-op and there is no
 * endpoint. The mapping is never freed: it lives as long as the program.
 * Owns no table.
 */
#ifndef FAROUT_METRICS_H
#define FAROUT_METRICS_H

#include <stdbool.h>

#include "http.h"

struct program;

/* In the --listen parent, before the first fork. 0, or -1 (logged) with metrics off. */
int metrics_init(const struct program *);
bool metrics_enabled(void);

/* "/metrics/<program>" of this program (only once metrics_init succeeded). */
bool metrics_is_path(const char *path);
/* The exposition (GET), or 405 for another method. */
void metrics_answer(const struct http_req *, struct http_resp *);

/* One finished request: its route (found from method and path), status and duration. */
void metrics_observe(const struct http_req *, int status, double seconds);
/* A database found unreachable; db is "auth" or "app". */
void metrics_db_unavailable(const char *db);
/* A sign-in's end: method "password" or "discord", outcome "ok" or the error code. */
void metrics_login(const char *method, const char *outcome);
/* The parent's view of its workers. */
void metrics_set_workers(int n);
void metrics_worker_restarted(void);

#endif
