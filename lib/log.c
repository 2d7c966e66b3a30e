#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "util.h"

static char program_name[32] = "farout";
static char request_id[65];
static enum log_target target = LOG_TO_STDERR;
static enum log_level threshold = LOG_AT_INFO;

void log_init(const char *program)
{
	snprintf(program_name, sizeof program_name, "%s", program);
}

void log_configure(enum log_target t, enum log_level level)
{
	if (level != LOG_AT_DEFAULT)
		threshold = level;
	if (t == LOG_TO_DEFAULT || t == target)
		return;
	if (target == LOG_TO_SYSLOG)
		closelog();
	target = t;
	/* program_name outlives every call: openlog keeps the pointer. */
	if (target == LOG_TO_SYSLOG)
		openlog(program_name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int log_parse_target(const char *name)
{
	if (strcmp(name, "stderr") == 0)
		return LOG_TO_STDERR;
	if (strcmp(name, "syslog") == 0)
		return LOG_TO_SYSLOG;
	return -1;
}

int log_parse_level(const char *name)
{
	if (strcmp(name, "error") == 0)
		return LOG_AT_ERROR;
	if (strcmp(name, "warn") == 0)
		return LOG_AT_WARN;
	if (strcmp(name, "info") == 0)
		return LOG_AT_INFO;
	return -1;
}

bool log_stderr_is_lost(void)
{
	struct stat err, null;

	if (fcntl(STDERR_FILENO, F_GETFD) == -1)
		return true;
	if (fstat(STDERR_FILENO, &err) == -1 || stat("/dev/null", &null) == -1)
		return false;
	return S_ISCHR(err.st_mode) && err.st_rdev == null.st_rdev;
}

void log_set_request(const char *id)
{
	size_t n = 0;

	/* The id comes from nginx, but keep it printable and short regardless. */
	if (id != NULL)
		for (; id[n] != '\0' && n < sizeof request_id - 1; n++)
			request_id[n] = (id[n] > ' ' && id[n] < 0x7f) ? id[n] : '?';
	request_id[n] = '\0';
}

/* A va_list printf: the attribute lets the compiler check the callers' formats instead. */
__attribute__((format(printf, 2, 0)))
static void emit(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = {"", "error", "warn", "info"};
	static const int priorities[] = {LOG_INFO, LOG_ERR, LOG_WARNING, LOG_INFO};
	char msg[1024], line[1200], when[21];
	size_t o = 0, start;
	int n;

	if (level > threshold)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* libpq and others end their messages with a newline of their own. */
	for (size_t k = strlen(msg); k > 0 && (msg[k - 1] == '\n' || msg[k - 1] == ' '); k--)
		msg[k - 1] = '\0';
	util_format_time(util_now(), when);
	n = snprintf(line, sizeof line, "%s %s[%ld] ", when, program_name, (long)getpid());
	if (n < 0)
		return;
	/* syslog adds time, program and pid itself: its line starts at the level. */
	start = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	n = snprintf(line + start, sizeof line - start, "%s%s%s ", names[level],
	             request_id[0] ? " req=" : "", request_id);
	if (n < 0)
		return;
	o = start + (size_t)n < sizeof line ? start + (size_t)n : sizeof line - 1;
	for (const char *p = msg; *p != '\0' && o < sizeof line - 6; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\n' || c == '\t')
			line[o++] = ' ';
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(line + o, sizeof line - o, "\\x%02x", c);
		else
			line[o++] = (char)c;
	}
	if (target == LOG_TO_SYSLOG) {
		line[o] = '\0';
		syslog(priorities[level], "%s", line + start);
		return;
	}
	line[o++] = '\n';
	/* One write per line keeps lines whole when workers share stderr. */
	if (write(STDERR_FILENO, line, o) < 0)
		return;
}

#define LOG_FN(name, level)                  \
	void name(const char *fmt, ...)      \
	{                                    \
		va_list ap;                  \
		va_start(ap, fmt);           \
		emit(level, fmt, ap);        \
		va_end(ap);                  \
	}

LOG_FN(log_info, LOG_AT_INFO)
LOG_FN(log_warn, LOG_AT_WARN)
LOG_FN(log_error, LOG_AT_ERROR)
