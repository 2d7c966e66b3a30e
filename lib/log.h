/*
 * log — one line per event, on stderr or to syslog:
 *   stderr:  2026-11-27T14:00:00Z login[4242] info req=ab12… message
 *   syslog:  ident = the program, LOG_PID, facility daemon, "info req=ab12… message"
 * Callers never pass tokens, passwords, codes, secrets or Cookie/Authorization
 * values; control characters in the message are escaped so one event is one line.
 *
 * Where the lines go and how many (LOG_TARGET, LOG_LEVEL) is chosen per way of
 * running by serve_main(); until log_configure() is called: stderr, every level.
 *
 * Owns no table.
 */
#ifndef FAROUT_LOG_H
#define FAROUT_LOG_H

#include <stdbool.h>

enum log_target { LOG_TO_DEFAULT = 0, LOG_TO_STDERR, LOG_TO_SYSLOG };
/* Each level includes the ones before it: warn = warn + error. */
enum log_level { LOG_AT_DEFAULT = 0, LOG_AT_ERROR, LOG_AT_WARN, LOG_AT_INFO };

void log_init(const char *program);
/* Where lines go from now on, and the least severe level written. DEFAULT values keep the current one. */
void log_configure(enum log_target, enum log_level);
/* "stderr"/"syslog", "error"/"warn"/"info" → the enum; -1 for anything else. */
int log_parse_target(const char *name);
int log_parse_level(const char *name);
/* True when fd 2 is closed or /dev/null (spawn-fcgi's children): lines written there are lost. */
bool log_stderr_is_lost(void);
/* The request id for the lines that follow; NULL clears it. Copied. */
void log_set_request(const char *request_id);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
