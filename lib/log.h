/*
 * log — one line per event on stderr:
 *   2026-11-27T14:00:00Z login[4242] info req=ab12… message
 * Callers never pass tokens, passwords, codes, secrets or Cookie/Authorization
 * values; control characters in the message are escaped so one event is one line.
 *
 * Owns no table.
 */
#ifndef FAROUT_LOG_H
#define FAROUT_LOG_H

void log_init(const char *program);
/* The request id for the lines that follow; NULL clears it. Copied. */
void log_set_request(const char *request_id);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
