/* log: the level threshold, the parsers of LOG_TARGET / LOG_LEVEL, one line
 * per event with control characters escaped, and telling a lost stderr
 * (/dev/null, closed) from a kept one. Lines are read back from a file
 * standing in for fd 2. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static int saved_stderr = -1;
static char path[] = "/tmp/farout-test-log-XXXXXX";

/* fd 2 becomes an empty temporary file for the test. */
static int capture(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	if (fd < 0)
		return -1;
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	log_init("logtest");
	log_configure(LOG_TO_STDERR, LOG_AT_INFO);
	return 0;
}

static int restore(void **state)
{
	(void)state;
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	unlink(path);
	snprintf(path, sizeof path, "%s", "/tmp/farout-test-log-XXXXXX");
	return 0;
}

static char *captured(void)
{
	static char text[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void test_parsers(void **state)
{
	(void)state;
	assert_int_equal(log_parse_target("stderr"), LOG_TO_STDERR);
	assert_int_equal(log_parse_target("syslog"), LOG_TO_SYSLOG);
	assert_int_equal(log_parse_target("journal"), -1);
	assert_int_equal(log_parse_target(""), -1);
	assert_int_equal(log_parse_level("error"), LOG_AT_ERROR);
	assert_int_equal(log_parse_level("warn"), LOG_AT_WARN);
	assert_int_equal(log_parse_level("info"), LOG_AT_INFO);
	assert_int_equal(log_parse_level("INFO"), -1);
	assert_int_equal(log_parse_level("debug"), -1);
}

static void test_threshold(void **state)
{
	(void)state;
	log_configure(LOG_TO_DEFAULT, LOG_AT_WARN);
	log_info("quiet %d", 1);
	log_warn("loud %d", 2);
	log_error("louder %d", 3);
	log_configure(LOG_TO_DEFAULT, LOG_AT_DEFAULT); /* keeps warn */
	log_info("still quiet");
	log_configure(LOG_TO_DEFAULT, LOG_AT_ERROR);
	log_warn("now quiet");
	log_error("errors pass");
	const char *text = captured();
	assert_null(strstr(text, "quiet"));
	assert_non_null(strstr(text, " logtest["));
	assert_non_null(strstr(text, "] warn loud 2\n"));
	assert_non_null(strstr(text, "] error louder 3\n"));
	assert_non_null(strstr(text, "] error errors pass\n"));
	assert_int_equal(count_lines(text), 3);
}

static void test_one_line_per_event_with_request_id(void **state)
{
	(void)state;
	log_set_request("ab12\n34");
	log_info("two\nlines\x01 here");
	log_set_request(NULL);
	log_info("no id");
	const char *text = captured();
	assert_int_equal(count_lines(text), 2);
	assert_non_null(strstr(text, "info req=ab12?34 two lines\\x01 here\n"));
	assert_non_null(strstr(text, "] info no id\n"));
}

static void test_stderr_lost_or_kept(void **state)
{
	int devnull = open("/dev/null", O_WRONLY);

	(void)state;
	assert_false(log_stderr_is_lost()); /* a file */
	dup2(devnull, STDERR_FILENO);
	assert_true(log_stderr_is_lost());
	close(STDERR_FILENO);
	assert_true(log_stderr_is_lost());
	close(devnull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parsers),
		cmocka_unit_test_setup_teardown(test_threshold, capture, restore),
		cmocka_unit_test_setup_teardown(test_one_line_per_event_with_request_id, capture, restore),
		cmocka_unit_test_setup_teardown(test_stderr_lost_or_kept, capture, restore),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
