#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "log.h"
#include "metrics.h"
#include "util.h"

extern char **environ;

#define MAX_WORKERS 256
#define STOP_GRACE_SECONDS 30
#define SLOW_REQUEST_MS 1000.0

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* ---- dispatch ------------------------------------------------------------ */

bool serve_path_matches(const char *pattern, const char *path, const char **param)
{
	const char *slash = strrchr(pattern, '/');
	size_t prefix;

	*param = NULL;
	if (slash == NULL || slash[1] != '{')
		return strcmp(pattern, path) == 0;
	prefix = (size_t)(slash - pattern) + 1;
	if (strncmp(pattern, path, prefix) != 0 || path[prefix] == '\0' ||
	    strchr(path + prefix, '/') != NULL)
		return false;
	*param = path + prefix;
	return true;
}

static void answer_health(struct app *app, struct http_resp *resp)
{
	bool auth_ok = db_ping(&app->auth_db), app_ok = db_ping(&app->app_db);
	cJSON *body = cJSON_CreateObject();

	if (auth_ok && app_ok) {
		cJSON_AddStringToObject(body, "status", "ok");
	} else {
		cJSON_AddStringToObject(body, "error", "unavailable");
		cJSON_AddStringToObject(body, "detail", "A database is unreachable.");
		cJSON_AddStringToObject(body, "status", "down");
	}
	cJSON_AddStringToObject(body, "auth_db", auth_ok ? "ok" : "down");
	cJSON_AddStringToObject(body, "app_db", app_ok ? "ok" : "down");
	if (http_resp_json(resp, auth_ok && app_ok ? 200 : 503, body) == -1)
		http_resp_error(resp, 500, "internal_error", "The response could not be built.");
	cJSON_Delete(body);
}

static int read_body(struct http_req *req, size_t max, serve_body_reader reader, void *ctx)
{
	char chunk[8192];
	int n;

	req->body.max = max;
	if (req->content_length >= 0 && (size_t)req->content_length > max)
		return 413;
	/* Without a length (CGI servers that stream), read to EOF, one byte past the cap at most. */
	for (;;) {
		size_t want = sizeof chunk;
		if (req->content_length >= 0) {
			size_t left = (size_t)req->content_length - req->body.len;
			if (left == 0)
				break;
			if (left < want)
				want = left;
		}
		n = reader(ctx, chunk, want);
		if (n <= 0)
			break;
		if (buf_append(&req->body, chunk, (size_t)n) == -1) {
			util_wipe(chunk, sizeof chunk);
			return 413;
		}
	}
	util_wipe(chunk, sizeof chunk);
	if (req->content_length >= 0 && req->body.len != (size_t)req->content_length)
		return 400;
	return 0;
}

void serve_dispatch(const struct program *prog, struct app *app, struct http_req *req,
                    struct http_resp *resp, serve_body_reader reader, void *ctx)
{
	const struct route *route = NULL;
	char allow[128] = "";
	const char *param = NULL;
	bool path_known = false;
	int rc;

	if (strcmp(req->path, "/api/health") == 0) {
		if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
			answer_health(app, resp);
		else {
			http_resp_error(resp, 405, "method_not_allowed", "This path accepts GET only.");
			http_resp_header(resp, "Allow", "GET");
		}
		return;
	}
	for (size_t i = 0; i < prog->nroutes; i++) {
		const struct route *r = &prog->routes[i];
		const char *p;

		if (!serve_path_matches(r->pattern, req->path, &p))
			continue;
		path_known = true;
		if (strstr(allow, r->method) == NULL) {
			size_t used = strlen(allow);
			snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "", r->method);
		}
		if (strcmp(r->method, req->method) == 0 && route == NULL) {
			route = r;
			param = p;
		}
	}
	if (!path_known) {
		http_resp_error(resp, 404, "not_found", "No such resource.");
		return;
	}
	if (route == NULL) {
		http_resp_error(resp, 405, "method_not_allowed", "This method is not allowed here.");
		http_resp_header(resp, "Allow", allow);
		return;
	}
	req->param = param;

	if (route->flags & (ROUTE_BODY_JSON | ROUTE_BODY_FORM)) {
		bool json_ok = (route->flags & ROUTE_BODY_JSON) &&
		               http_req_is_content_type(req, "application/json");
		bool form_ok = (route->flags & ROUTE_BODY_FORM) &&
		               http_req_is_content_type(req, "application/x-www-form-urlencoded");
		size_t max = route->body_max ? route->body_max : HTTP_BODY_MAX;

		if (req->content_length >= 0 && (size_t)req->content_length > max) {
			http_resp_error(resp, 413, "payload_too_large", "The request body is too large.");
			return;
		}
		if (!json_ok && !form_ok) {
			http_resp_error(resp, 415, "unsupported_media_type",
			                (route->flags & ROUTE_BODY_FORM)
			                        ? "Send application/json or application/x-www-form-urlencoded."
			                        : "Send application/json.");
			return;
		}
		rc = read_body(req, max, reader, ctx);
		if (rc == 413) {
			http_resp_error(resp, 413, "payload_too_large", "The request body is too large.");
			return;
		}
		if (rc == 400) {
			http_resp_error(resp, 400, "invalid_request", "The request body was cut short.");
			return;
		}
	}
	route->handler(app, req, resp);
	if (resp->status == 0) {
		log_error("%s %s: handler gave no answer", req->method, req->path);
		http_resp_error(resp, 500, "internal_error", "The server could not answer.");
	}
}

/* ---- one request, whatever the transport -------------------------------- */

struct io {
	FCGX_Request *fcgi; /* NULL in CGI mode */
};

static int io_read(void *ctx, char *dst, size_t n)
{
	struct io *io = ctx;

	if (io->fcgi != NULL)
		return FCGX_GetStr(dst, (int)n, io->fcgi->in);
	return (int)fread(dst, 1, n, stdin);
}

static void serve_one(const struct program *prog, struct app *app, char **envp, struct io *io)
{
	struct http_req req;
	struct http_resp resp;
	struct buf out;
	struct timespec t0, t1;
	double elapsed_ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	http_resp_init(&resp);
	buf_init(&out, 8 * 1024 * 1024);
	if (http_req_init(&req, envp) == -1)
		http_resp_error(&resp, 500, "internal_error", "Out of memory.");
	else {
		log_set_request(req.request_id);
		if (metrics_is_path(req.path))
			metrics_answer(&req, &resp);
		else
			serve_dispatch(prog, app, &req, &resp, io_read, io);
	}
	if (http_resp_serialize(&resp, &out) == 0) {
		if (io->fcgi != NULL)
			FCGX_PutStr(out.data, (int)out.len, io->fcgi->out);
		else {
			fwrite(out.data, 1, out.len, stdout);
			fflush(stdout);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	metrics_observe(&req, resp.status,
	                (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	/*
	 * nginx's access log has every request; here only the slow ones, which
	 * nginx cannot explain. The path only: query strings can carry OAuth
	 * codes and state.
	 */
	elapsed_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (elapsed_ms >= SLOW_REQUEST_MS)
		log_warn("slow request: %s %s %d %.1fms", req.method ? req.method : "?",
		         req.path ? req.path : "?", resp.status, elapsed_ms);
	log_set_request(NULL);
	buf_wipe_cleanup(&out);
	http_resp_cleanup(&resp);
	http_req_cleanup(&req);
}

/* ---- process set-up ----------------------------------------------------- */

static int app_open(const struct program *prog, struct app *app, const struct config *cfg)
{
	memset(app, 0, sizeof *app);
	app->cfg = cfg;
	db_init(&app->auth_db, cfg->auth_database_url, "auth");
	db_init(&app->app_db, cfg->database_url, "app");
	app->auth_db.prepared = app->app_db.prepared = cfg->db_prepared_statements;
	if (prog->init != NULL && prog->init(app) == -1) {
		log_error("could not initialise the worker");
		return -1;
	}
	return 0;
}

static void app_close(const struct program *prog, struct app *app)
{
	if (prog->cleanup != NULL)
		prog->cleanup(app);
	db_cleanup(&app->auth_db);
	db_cleanup(&app->app_db);
}

static void set_signal(int sig, void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: epoll_pwait must see the signal */
	sigaction(sig, &sa, NULL);
}

/*
 * The accept loop of one FastCGI process. Stop signals are blocked except
 * inside epoll_pwait, so a request is never interrupted half way; the
 * listening socket is non-blocking, so a worker that loses the race for a
 * connection goes back to waiting instead of sleeping in accept() through a
 * SIGTERM. EPOLLEXCLUSIVE wakes one idle worker per new connection, not all
 * of them (a thundering herd that grew with --workers).
 */
static int fcgi_loop(const struct program *prog, const struct config *cfg, int listen_fd)
{
	struct app app;
	FCGX_Request fcgi;
	sigset_t stop_set, wait_mask;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
	int rc = 0, ep;

	if (app_open(prog, &app, cfg) == -1)
		return 1;
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fcgi, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_error("FastCGI initialisation failed");
		app_close(prog, &app);
		return 1;
	}
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
		log_error("epoll on the listening socket failed: %s", strerror(errno));
		if (ep >= 0)
			close(ep);
		FCGX_Free(&fcgi, 1);
		app_close(prog, &app);
		return 1;
	}

	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGTERM);
	sigaddset(&stop_set, SIGINT);
	sigprocmask(SIG_BLOCK, &stop_set, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	set_signal(SIGTERM, on_stop);
	set_signal(SIGINT, on_stop);
	signal(SIGPIPE, SIG_IGN);

	while (!stopping) {
		char rest[1024];
		int n = epoll_pwait(ep, &ev, 1, -1, &wait_mask);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("waiting on the listening socket failed: %s", strerror(errno));
			rc = 1;
			break;
		}
		n = FCGX_Accept_r(&fcgi);
		if (n < 0) {
			if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR || n == -ECONNABORTED)
				continue;
			log_error("accept failed: %s", strerror(-n));
			rc = 1;
			break;
		}
		struct io io = {.fcgi = &fcgi};
		serve_one(prog, &app, fcgi.envp, &io);
		/*
		 * libfcgi's close waits for nginx to hang up first (shutdown, poll,
		 * read), so that unread request bytes cannot turn into a reset. Once
		 * stdin has ended nginx sends nothing more: read to that end
		 * (usually already buffered) and close at once.
		 */
		while (FCGX_GetStr(rest, sizeof rest, fcgi.in) > 0)
			;
		util_wipe(rest, sizeof rest);
		if (FCGX_HasSeenEOF(fcgi.in) == EOF)
			FCGX_Detach(&fcgi);
		FCGX_Finish_r(&fcgi);
	}
	close(ep);
	FCGX_Free(&fcgi, 1);
	app_close(prog, &app);
	return rc;
}

static int cgi_once(const struct program *prog, const struct config *cfg)
{
	struct app app;
	struct io io = {.fcgi = NULL};

	if (app_open(prog, &app, cfg) == -1)
		return 1;
	serve_one(prog, &app, environ, &io);
	app_close(prog, &app);
	return 0;
}

/* ---- --listen: the parent and its workers ------------------------------- */

/*
 * A unix socket is bound under a temporary name beside its path and renamed
 * into place: a program started while an older one still runs takes the path
 * over at once, and the older one, seeing another inode there at its exit,
 * leaves it alone (issue 11: the restart race).
 */
static int open_unix_listener(const char *path, struct stat *bound)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	char tmp[sizeof sa.sun_path];
	int fd, n;

	if (path[0] != '/') {
		log_error("--listen unix: needs an absolute path");
		return -1;
	}
	n = snprintf(tmp, sizeof tmp, "%s.%ld.new", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof tmp) {
		log_error("--listen unix: path too long for a unix socket: %s", path);
		return -1;
	}
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		log_error("--listen unix: %s exists and is not a socket", path);
		return -1;
	}
	memcpy(sa.sun_path, tmp, (size_t)n + 1);
	unlink(tmp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
	    /* nginx's workers may run as another user; the socket's folder decides who gets in. */
	    chmod(tmp, 0666) == -1 || listen(fd, 128) == -1 || lstat(tmp, bound) == -1 ||
	    rename(tmp, path) == -1) {
		log_error("cannot listen on unix:%s: %s", path, strerror(errno));
		unlink(tmp);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Removes the socket file at exit only while it is still the one we bound. */
static void remove_unix_listener(const char *path, const struct stat *bound)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_dev == bound->st_dev && st.st_ino == bound->st_ino)
		unlink(path);
}

static int open_listener(const char *addr, struct stat *bound)
{
	int fd;

	if (strncmp(addr, "unix:", 5) == 0)
		return open_unix_listener(addr + 5, bound);
	if (strchr(addr, ':') == NULL) {
		log_error("--listen takes unix:/path.sock or HOST:PORT");
		return -1;
	}
	fd = FCGX_OpenSocket(addr, 128);
	if (fd < 0) {
		log_error("cannot listen on %s", addr);
		return -1;
	}
	return fd;
}

/*
 * The workers of --listen (or of --workers on an inherited socket): one
 * slot each, a worker that dies is replaced in its slot.
 *
 * With --pin-workers, slot i's worker runs only on the i-th CPU, round
 * robin, of those the program was started with. Measured on 2 cores
 * (README "Performance"): verify and me gained about 15% and their
 * p99 ÷ p50 narrowed. A worker that stays on one CPU mostly keeps its
 * PostgreSQL backend there too (the kernel wakes a task near its waker),
 * so the query's round trip stays on one CPU instead of waking the other,
 * which on a virtual machine is an interrupt through the hypervisor. It is
 * an option because on a machine shared with other busy services a pinned
 * worker cannot move off a CPU they crowd.
 */
struct pool {
	const struct program *prog;
	const struct config *cfg;
	int listen_fd;
	const sigset_t *worker_mask; /* the signal mask workers run with */
	int nworkers;
	pid_t pid[MAX_WORKERS]; /* per slot: the worker, or -1 when empty */
	int cpu[MAX_WORKERS];   /* per slot: the CPU it runs on, or -1 for any */
	time_t next_fork;       /* no fork before this, after a failed one */
	long fork_delay;        /* seconds to wait after the next failure */
};

/* A failed fork() is retried after 1 s, then 2, 4, … up to this; a success starts again at 1. */
#define FORK_RETRY_MAX_SECONDS 30

static void plan_cpus(struct pool *pool, bool pin)
{
	cpu_set_t allowed;
	int cpus[CPU_SETSIZE], ncpus = 0;

	for (int i = 0; i < pool->nworkers; i++)
		pool->cpu[i] = -1;
	if (!pin)
		return;
	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) == 0) {
		log_warn("--pin-workers: cannot read the CPUs this program may use (%s); not pinning",
		         strerror(errno));
		return;
	}
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[ncpus++] = c;
	for (int i = 0; i < pool->nworkers; i++)
		pool->cpu[i] = cpus[i % ncpus];
	log_info("workers pinned round robin to the %d CPUs this program may use", ncpus);
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t one;

	if (cpu < 0)
		return;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	/* Unpinned is slower, not wrong: serve anyway. */
	if (sched_setaffinity(0, sizeof one, &one) != 0)
		log_warn("cannot pin worker %ld to CPU %d: %s", (long)getpid(), cpu, strerror(errno));
}

static pid_t spawn_worker(const struct pool *pool, int slot)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* A worker must not outlive its parent (a SIGKILLed parent included). */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, pool->worker_mask, NULL);
	pin_to_cpu(pool->cpu[slot]);
	_exit(fcgi_loop(pool->prog, pool->cfg, pool->listen_fd));
}

/*
 * Starts a worker in every empty slot, unless stopping or a failed fork()
 * is still backing off. Returns the number of empty slots left, so the
 * caller wakes up again to retry them.
 */
static int fill_slots(struct pool *pool)
{
	int empty = 0;

	for (int i = 0; i < pool->nworkers && !stopping; i++) {
		if (pool->pid[i] > 0)
			continue;
		if (time(NULL) >= pool->next_fork) {
			pool->pid[i] = spawn_worker(pool, i);
			if (pool->pid[i] > 0) {
				pool->fork_delay = 1;
				continue;
			}
			log_error("could not start a worker (fork: %s); retrying in %lds", strerror(errno),
			          pool->fork_delay);
			pool->next_fork = time(NULL) + pool->fork_delay;
			pool->fork_delay = pool->fork_delay * 2 > FORK_RETRY_MAX_SECONDS
			                       ? FORK_RETRY_MAX_SECONDS
			                       : pool->fork_delay * 2;
		}
		empty++;
	}
	return empty;
}

static void reap_and_replace(struct pool *pool)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < pool->nworkers; i++) {
			if (pool->pid[i] != pid)
				continue;
			pool->pid[i] = -1;
			if (stopping)
				continue;
			if (WIFSIGNALED(status))
				log_warn("worker %ld killed by signal %d; starting another", (long)pid,
				         WTERMSIG(status));
			else
				log_warn("worker %ld exited with %d; starting another", (long)pid,
				         WEXITSTATUS(status));
			/* A worker that dies at once would otherwise spin the parent. */
			if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
				sleep(1);
			metrics_worker_restarted();
		}
	}
	fill_slots(pool);
}

static int run_listener(const struct program *prog, const struct config *cfg, const char *addr,
                        int nworkers, bool pin)
{
	struct pool pool = {.prog = prog, .cfg = cfg, .nworkers = nworkers, .fork_delay = 1};
	sigset_t set, orig;
	int sig, alive, empty;
	struct timespec grace = {.tv_sec = 1};
	struct stat bound;
	time_t deadline;

	/* addr NULL: the listening socket is fd 0, opened (and kept) by whoever started us. */
	pool.listen_fd = addr != NULL ? open_listener(addr, &bound) : 0;
	if (pool.listen_fd < 0)
		return 1;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &orig);
	pool.worker_mask = &orig;
	/* SIGCHLD must not be ignored, or waitpid() would find nothing. */
	signal(SIGCHLD, SIG_DFL);

	/* Before the first fork: the workers inherit the shared counters. */
	metrics_init(prog);
	metrics_set_workers(nworkers);
	for (int i = 0; i < nworkers; i++)
		pool.pid[i] = -1;
	plan_cpus(&pool, pin);
	empty = fill_slots(&pool);
	log_info("listening on %s with %d workers", addr != NULL ? addr : "the inherited socket",
	         nworkers);

	while (!stopping) {
		/* With a slot empty after a failed fork(), wake up each second to retry it. */
		sig = empty > 0 ? sigtimedwait(&set, NULL, &grace) : sigwaitinfo(&set, NULL);
		if (sig == SIGTERM || sig == SIGINT)
			stopping = 1;
		else if (sig == SIGCHLD)
			reap_and_replace(&pool);
		empty = fill_slots(&pool);
	}

	log_info("stopping: letting requests in flight finish");
	for (int i = 0; i < nworkers; i++)
		if (pool.pid[i] > 0)
			kill(pool.pid[i], SIGTERM);
	deadline = time(NULL) + STOP_GRACE_SECONDS;
	for (;;) {
		reap_and_replace(&pool);
		alive = 0;
		for (int i = 0; i < nworkers; i++)
			alive += pool.pid[i] > 0;
		if (alive == 0)
			break;
		if (time(NULL) >= deadline) {
			log_warn("%d workers still busy after %ds; killing them", alive, STOP_GRACE_SECONDS);
			for (int i = 0; i < nworkers; i++)
				if (pool.pid[i] > 0)
					kill(pool.pid[i], SIGKILL);
		}
		sigtimedwait(&set, NULL, &grace);
	}
	if (addr != NULL && strncmp(addr, "unix:", 5) == 0)
		remove_unix_listener(addr + 5, &bound);
	if (addr != NULL)
		close(pool.listen_fd);
	log_info("stopped");
	return 0;
}

/* ---- main --------------------------------------------------------------- */

static void usage(const char *name)
{
	fprintf(stderr,
	        "usage: %s [--workers N [--pin-workers]]  (CGI, or FastCGI on an inherited socket, fd 0)\n"
	        "       %s --listen unix:/path.sock|HOST:PORT [--workers N] [--pin-workers]\n"
	        "--pin-workers: each worker stays on one CPU, round robin over those allowed.\n"
	        "Configuration comes from the environment; see .env.example.\n",
	        name, name);
}

int serve_main(const struct program *prog, int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"workers", required_argument, NULL, 'w'},
		{"pin-workers", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct config cfg;
	char err[512];
	const char *listen_addr = NULL;
	long workers = 2;
	bool workers_given = false, pin = false;
	int c, rc;

	log_init(prog->name);
	while ((c = getopt_long(argc, argv, "l:w:ph", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_addr = optarg;
			break;
		case 'w':
			if (util_parse_long(optarg, 1, MAX_WORKERS, &workers) == -1) {
				fprintf(stderr, "%s: --workers must be a number from 1 to %d\n", prog->name,
				        MAX_WORKERS);
				return 2;
			}
			workers_given = true;
			break;
		case 'p':
			pin = true;
			break;
		case 'h':
			usage(prog->name);
			return 0;
		default:
			usage(prog->name);
			return 2;
		}
	}
	if (optind != argc) {
		usage(prog->name);
		return 2;
	}
	/*
	 * Where logs go unless LOG_TARGET/LOG_LEVEL say otherwise: stderr where
	 * it is kept (--listen, systemd, docker); syslog on an inherited socket
	 * whose stderr is /dev/null (spawn-fcgi); warnings and errors only in CGI
	 * mode, where each request is a process and fcgiwrap -f would turn every
	 * info line into an nginx error-log entry.
	 */
	if (listen_addr == NULL && FCGX_IsCGI())
		log_configure(LOG_TO_STDERR, LOG_AT_WARN);
	else if (listen_addr == NULL && log_stderr_is_lost())
		log_configure(LOG_TO_SYSLOG, LOG_AT_INFO);
	if (config_load(&cfg, prog->config_needs, err, sizeof err) == -1) {
		if (log_stderr_is_lost()) {
			log_configure(LOG_TO_SYSLOG, LOG_AT_DEFAULT);
			log_error("%s", err);
		} else {
			fprintf(stderr, "%s: %s\n", prog->name, err);
		}
		return 1;
	}
	log_configure(cfg.log_target, cfg.log_level);
	if (pin && listen_addr == NULL && (FCGX_IsCGI() || !workers_given))
		log_warn("--pin-workers applies to a pool of workers (--listen, or --workers on an "
		         "inherited socket); ignored");
	if (listen_addr != NULL)
		rc = run_listener(prog, &cfg, listen_addr, (int)workers, pin);
	else if (!FCGX_IsCGI() && workers_given)
		rc = run_listener(prog, &cfg, NULL, (int)workers, pin);
	else if (!FCGX_IsCGI())
		rc = fcgi_loop(prog, &cfg, 0);
	else
		rc = cgi_once(prog, &cfg);
	config_cleanup(&cfg);
	return rc;
}
