#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "buf.h"
#include "log.h"
#include "serve.h"

/* Route slots: the program's routes, then health, the metrics endpoint and anything else. */
#define ROUTES_MAX 64
#define STATUS_MIN 100
#define STATUS_SLOTS 500 /* 100..599 */

static const double bucket_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                   0.1,    0.25,  0.5,    1.0,   2.5,  5.0};
#define NBUCKETS (sizeof bucket_le / sizeof bucket_le[0])

static const char *const login_methods[] = {"password", "discord"};
#define NMETHODS (sizeof login_methods / sizeof login_methods[0])
/* The outcomes API.md's sign-in routes can end with; anything else counts as "other". */
static const char *const login_outcomes[] = {
	"ok",           "invalid_credentials", "account_disabled",   "too_many_attempts",
	"invalid_code", "invalid_request",     "invalid_state",      "access_denied",
	"invalid_grant", "not_authenticated",  "password_change_required",
	"discord_already_linked", "discord_unavailable", "not_guild_member", "unavailable",
	"internal_error", "other"};
#define NOUTCOMES (sizeof login_outcomes / sizeof login_outcomes[0])

static const char *const db_names[] = {"auth", "app"};
#define NDBS (sizeof db_names / sizeof db_names[0])

struct shared {
	uint64_t requests[ROUTES_MAX][STATUS_SLOTS];
	uint64_t buckets[ROUTES_MAX][NBUCKETS + 1]; /* per bucket, not cumulative; last is +Inf */
	uint64_t duration_ns[ROUTES_MAX];
	uint64_t db_unavailable[NDBS];
	uint64_t logins[NMETHODS][NOUTCOMES];
	uint64_t workers;
	uint64_t worker_restarts;
};

static struct shared *shm;
static const struct program *prog;
static size_t nroutes; /* the program's routes that fit */
static char metrics_path[96];

static void add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

int metrics_init(const struct program *p)
{
	void *m = mmap(NULL, sizeof *shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED) {
		log_error("metrics: no shared memory; /metrics is off");
		return -1;
	}
	shm = m; /* zero-filled by the kernel */
	prog = p;
	nroutes = p->nroutes < ROUTES_MAX - 3 ? p->nroutes : ROUTES_MAX - 3;
	snprintf(metrics_path, sizeof metrics_path, "/metrics/%s", p->name);
	return 0;
}

bool metrics_enabled(void)
{
	return shm != NULL;
}

bool metrics_is_path(const char *path)
{
	return shm != NULL && path != NULL && strcmp(path, metrics_path) == 0;
}

/* The slot of a request: its route, or health / metrics / other after the routes. */
static size_t route_slot(const struct http_req *req)
{
	const char *param;

	if (req->path == NULL || req->method == NULL)
		return nroutes + 2;
	if (strcmp(req->path, "/api/health") == 0)
		return nroutes;
	if (strcmp(req->path, metrics_path) == 0)
		return nroutes + 1;
	for (size_t i = 0; i < nroutes; i++)
		if (strcmp(prog->routes[i].method, req->method) == 0 &&
		    serve_path_matches(prog->routes[i].pattern, req->path, &param))
			return i;
	return nroutes + 2;
}

void metrics_observe(const struct http_req *req, int status, double seconds)
{
	size_t slot, b;

	if (shm == NULL)
		return;
	slot = route_slot(req);
	if (status < STATUS_MIN || status >= STATUS_MIN + STATUS_SLOTS)
		status = 500;
	add(&shm->requests[slot][status - STATUS_MIN], 1);
	for (b = 0; b < NBUCKETS && seconds > bucket_le[b]; b++)
		;
	add(&shm->buckets[slot][b], 1);
	add(&shm->duration_ns[slot], seconds > 0 ? (uint64_t)(seconds * 1e9) : 0);
}

void metrics_db_unavailable(const char *db)
{
	if (shm == NULL || db == NULL)
		return;
	for (size_t i = 0; i < NDBS; i++)
		if (strcmp(db, db_names[i]) == 0)
			add(&shm->db_unavailable[i], 1);
}

void metrics_login(const char *method, const char *outcome)
{
	size_t m, o;

	if (shm == NULL || method == NULL)
		return;
	for (m = 0; m < NMETHODS && strcmp(method, login_methods[m]) != 0; m++)
		;
	if (m == NMETHODS)
		return;
	for (o = 0; o < NOUTCOMES - 1 && (outcome == NULL || strcmp(outcome, login_outcomes[o]) != 0);
	     o++)
		;
	add(&shm->logins[m][o], 1);
}

void metrics_set_workers(int n)
{
	if (shm != NULL)
		__atomic_store_n(&shm->workers, (uint64_t)(n > 0 ? n : 0), __ATOMIC_RELAXED);
}

void metrics_worker_restarted(void)
{
	if (shm != NULL)
		add(&shm->worker_restarts, 1);
}

/* ---- the exposition --------------------------------------------------------------- */

/* The label value of a slot: "METHOD pattern" (patterns hold no '"' or '\\'). */
static void route_label(size_t slot, char *out, size_t n)
{
	if (slot < nroutes)
		snprintf(out, n, "%s %s", prog->routes[slot].method, prog->routes[slot].pattern);
	else if (slot == nroutes)
		snprintf(out, n, "GET /api/health");
	else if (slot == nroutes + 1)
		snprintf(out, n, "GET /metrics");
	else
		snprintf(out, n, "other");
}

static int emit(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int emit(struct buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line)
		return -1;
	return buf_append(b, line, (size_t)n);
}

static int render(struct buf *b)
{
	char route[160];
	int rc = 0;

	rc |= emit(b, "# HELP farout_requests_total Requests answered, by route and status.\n"
	              "# TYPE farout_requests_total counter\n");
	for (size_t r = 0; r < nroutes + 3; r++) {
		route_label(r, route, sizeof route);
		for (int s = 0; s < STATUS_SLOTS; s++) {
			uint64_t v = get(&shm->requests[r][s]);
			if (v != 0)
				rc |= emit(b, "farout_requests_total{route=\"%s\",status=\"%d\"} %" PRIu64 "\n",
				           route, s + STATUS_MIN, v);
		}
	}
	rc |= emit(b, "# HELP farout_request_duration_seconds Time from request to answer, by route.\n"
	              "# TYPE farout_request_duration_seconds histogram\n");
	for (size_t r = 0; r < nroutes + 3; r++) {
		uint64_t cumulative = 0;

		route_label(r, route, sizeof route);
		for (size_t i = 0; i <= NBUCKETS; i++)
			cumulative += get(&shm->buckets[r][i]);
		if (cumulative == 0)
			continue;
		cumulative = 0;
		for (size_t i = 0; i < NBUCKETS; i++) {
			cumulative += get(&shm->buckets[r][i]);
			rc |= emit(b, "farout_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %" PRIu64
			              "\n", route, bucket_le[i], cumulative);
		}
		cumulative += get(&shm->buckets[r][NBUCKETS]);
		rc |= emit(b, "farout_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %" PRIu64
		              "\n", route, cumulative);
		rc |= emit(b, "farout_request_duration_seconds_sum{route=\"%s\"} %.9f\n", route,
		           (double)get(&shm->duration_ns[r]) / 1e9);
		rc |= emit(b, "farout_request_duration_seconds_count{route=\"%s\"} %" PRIu64 "\n", route,
		           cumulative);
	}
	rc |= emit(b, "# HELP farout_db_unavailable_total Database operations that found the database unreachable.\n"
	              "# TYPE farout_db_unavailable_total counter\n");
	for (size_t i = 0; i < NDBS; i++)
		rc |= emit(b, "farout_db_unavailable_total{db=\"%s\"} %" PRIu64 "\n", db_names[i],
		           get(&shm->db_unavailable[i]));
	rc |= emit(b, "# HELP farout_workers Worker processes the parent keeps.\n"
	              "# TYPE farout_workers gauge\n"
	              "farout_workers %" PRIu64 "\n", get(&shm->workers));
	rc |= emit(b, "# HELP farout_worker_restarts_total Workers that died and were replaced.\n"
	              "# TYPE farout_worker_restarts_total counter\n"
	              "farout_worker_restarts_total %" PRIu64 "\n", get(&shm->worker_restarts));
	if (strcmp(prog->name, "login") == 0 || strcmp(prog->name, "oauth-callback") == 0) {
		size_t m = strcmp(prog->name, "login") == 0 ? 0 : 1;

		rc |= emit(b, "# HELP farout_logins_total Sign-ins by method and outcome.\n"
		              "# TYPE farout_logins_total counter\n");
		for (size_t o = 0; o < NOUTCOMES; o++) {
			uint64_t v = get(&shm->logins[m][o]);
			if (v != 0 || o == 0)
				rc |= emit(b, "farout_logins_total{method=\"%s\",outcome=\"%s\"} %" PRIu64 "\n",
				           login_methods[m], login_outcomes[o], v);
		}
	}
	return rc == 0 ? 0 : -1;
}

void metrics_answer(const struct http_req *req, struct http_resp *resp)
{
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_resp_error(resp, 405, "method_not_allowed", "This path accepts GET only.");
		http_resp_header(resp, "Allow", "GET");
		return;
	}
	buf_reset(&resp->body);
	if (render(&resp->body) == -1) {
		buf_reset(&resp->body);
		http_resp_error(resp, 500, "internal_error", "The metrics could not be written.");
		return;
	}
	resp->status = 200;
	http_resp_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
}
