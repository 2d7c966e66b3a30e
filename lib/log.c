#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static char program_name[32] = "farout";
static char request_id[65];

void log_init(const char *program)
{
	snprintf(program_name, sizeof program_name, "%s", program);
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

static void emit(const char *level, const char *fmt, va_list ap)
{
	char msg[1024], line[1200], when[21];
	size_t o = 0;
	int n;

	vsnprintf(msg, sizeof msg, fmt, ap);
	/* libpq and others end their messages with a newline of their own. */
	for (size_t k = strlen(msg); k > 0 && (msg[k - 1] == '\n' || msg[k - 1] == ' '); k--)
		msg[k - 1] = '\0';
	util_format_time(util_now(), when);
	n = snprintf(line, sizeof line, "%s %s[%ld] %s%s%s ", when, program_name,
	             (long)getpid(), level, request_id[0] ? " req=" : "", request_id);
	if (n < 0)
		return;
	o = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	for (const char *p = msg; *p != '\0' && o < sizeof line - 6; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\n' || c == '\t')
			line[o++] = ' ';
		else if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(line + o, sizeof line - o, "\\x%02x", c);
		else
			line[o++] = (char)c;
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

LOG_FN(log_info, "info")
LOG_FN(log_warn, "warn")
LOG_FN(log_error, "error")
