/* metrics: counts made in a forked child (a worker) reach the parent's
 * exposition through the shared mapping; routes, statuses, buckets and the
 * sign-in table as the exposition names them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"
#include "serve.h"

static void noop(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	(void)app;
	(void)req;
	(void)resp;
}

static const struct route routes[] = {
	{"POST", "/api/auth/login", noop, 0, 0},
	{"DELETE", "/api/auth/sessions/{id}", noop, 0, 0},
};
static const struct program prog = {.name = "login", .routes = routes, .nroutes = 2};

static void request(const char *method, const char *path, int status, double seconds)
{
	char m[64], p[256];
	const char *env[] = {m, p, NULL};
	struct http_req req;

	snprintf(m, sizeof m, "REQUEST_METHOD=%s", method);
	snprintf(p, sizeof p, "DOCUMENT_URI=%s", path);
	assert_int_equal(http_req_init(&req, (char *const *)env), 0);
	metrics_observe(&req, status, seconds);
	http_req_cleanup(&req);
}

static char *exposition(void)
{
	const char *env[] = {"REQUEST_METHOD=GET", "DOCUMENT_URI=/metrics/login", NULL};
	struct http_req req;
	struct http_resp resp;
	char *text;

	assert_int_equal(http_req_init(&req, (char *const *)env), 0);
	http_resp_init(&resp);
	assert_true(metrics_is_path(req.path));
	metrics_answer(&req, &resp);
	assert_int_equal(resp.status, 200);
	assert_non_null(strstr(resp.headers.data, "text/plain; version=0.0.4"));
	text = strdup(resp.body.data);
	http_resp_cleanup(&resp);
	http_req_cleanup(&req);
	return text;
}

static void test_off_until_init(void **state)
{
	(void)state;
	assert_false(metrics_enabled());
	assert_false(metrics_is_path("/metrics/login"));
	request("POST", "/api/auth/login", 200, 0.001); /* a no-op, not a crash */
}

static void test_counts_from_a_child_reach_the_parent(void **state)
{
	pid_t pid;
	int status;
	char *text;

	(void)state;
	assert_int_equal(metrics_init(&prog), 0);
	metrics_set_workers(2);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < 5; i++)
			request("POST", "/api/auth/login", 401, 0.0003);
		request("DELETE", "/api/auth/sessions/abc", 204, 0.02);
		request("GET", "/nowhere", 404, 7.0);
		metrics_login("password", "invalid_credentials");
		metrics_login("password", "something_new");
		metrics_db_unavailable("app");
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	metrics_worker_restarted();
	request("POST", "/api/auth/login", 200, 0.003);

	text = exposition();
	assert_non_null(strstr(text, "farout_requests_total{route=\"POST /api/auth/login\",status=\"401\"} 5\n"));
	assert_non_null(strstr(text, "farout_requests_total{route=\"POST /api/auth/login\",status=\"200\"} 1\n"));
	assert_non_null(strstr(text, "farout_requests_total{route=\"DELETE /api/auth/sessions/{id}\",status=\"204\"} 1\n"));
	assert_non_null(strstr(text, "farout_requests_total{route=\"other\",status=\"404\"} 1\n"));
	assert_non_null(strstr(text, "farout_request_duration_seconds_bucket{route=\"POST /api/auth/login\",le=\"0.0005\"} 5\n"));
	assert_non_null(strstr(text, "farout_request_duration_seconds_bucket{route=\"POST /api/auth/login\",le=\"0.005\"} 6\n"));
	assert_non_null(strstr(text, "farout_request_duration_seconds_bucket{route=\"other\",le=\"5\"} 0\n"));
	assert_non_null(strstr(text, "farout_request_duration_seconds_bucket{route=\"other\",le=\"+Inf\"} 1\n"));
	assert_non_null(strstr(text, "farout_request_duration_seconds_count{route=\"POST /api/auth/login\"} 6\n"));
	assert_non_null(strstr(text, "farout_logins_total{method=\"password\",outcome=\"invalid_credentials\"} 1\n"));
	assert_non_null(strstr(text, "farout_logins_total{method=\"password\",outcome=\"other\"} 1\n"));
	assert_non_null(strstr(text, "farout_db_unavailable_total{db=\"app\"} 1\n"));
	assert_non_null(strstr(text, "farout_db_unavailable_total{db=\"auth\"} 0\n"));
	assert_non_null(strstr(text, "farout_workers 2\n"));
	assert_non_null(strstr(text, "farout_worker_restarts_total 1\n"));
	assert_null(strstr(text, "method=\"discord\""));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_until_init),
		cmocka_unit_test(test_counts_from_a_child_reach_the_parent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
