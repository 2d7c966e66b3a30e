/*
 * strength: API.md's new-password rule with Debian's libzxcvbn — the figures
 * issue 10 measured, the user's own words, and a detail per failed rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "strength.h"

static const char *check(const char *pw, const char *username, const char *email)
{
	return strength_check(pw, strlen(pw), username, email, NULL);
}

/* Issue 10: "abcdefghij" was accepted as the admin's new password. */
static void guessable_passwords_refused(void **state)
{
	static const char *const weak[] = {"abcdefghij", "Password123!", "summer2024summer",
	                                   "New-Password-22", "aaaaaaaaaaaa", "qwertyuiop12",
	                                   "1234567890"};

	(void)state;
	for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++) {
		const char *why = check(weak[i], "admin", "admin@farout.local");
		assert_non_null(why);
		assert_non_null(strstr(why, "too easy to guess"));
		assert_null(strstr(why, weak[i]));
	}
	assert_true(strength_bits("abcdefghij", "admin", NULL) < 5.0);
	assert_true(strength_bits("New-Password-22", "admin", NULL) < STRENGTH_MIN_BITS);
}

static void strong_passwords_accepted(void **state)
{
	(void)state;
	assert_null(check("Changed-Pass-22", "admin", "admin@farout.local"));
	assert_null(check("Tr0ub4dor&3", "admin", "admin@farout.local"));
	assert_null(check("Correct-Horse-9-Battery", "nelly", NULL));
	assert_true(strength_bits("Changed-Pass-22", "admin", NULL) >= STRENGTH_MIN_BITS);
}

/* The username, the email's local part and "farout" count as words an attacker knows. */
static void own_words_count(void **state)
{
	const char *pw = "Zephyrine-Farout";

	(void)state;
	assert_true(strength_bits("Quorvalith-2031", NULL, NULL) >=
	            strength_bits("Quorvalith-2031", NULL, "quorvalith@example.com") + 5.0);
	assert_true(strength_bits("Quorvalith-2031", "bob", NULL) >=
	            strength_bits("Quorvalith-2031", "quorvalith", NULL) + 5.0);
	/* "farout" is always a user word, even with neither username nor email. */
	assert_true(strength_bits(pw, NULL, NULL) < strength_bits("Zephyrine-Qlxmbt", NULL, NULL));
}

/* The older rules still come first, each with its own detail. */
static void each_rule_named(void **state)
{
	(void)state;
	assert_non_null(strstr(check("short", "admin", NULL), "10 to 72 bytes"));
	assert_non_null(strstr(check("xx-Admin-Quorvalith-77", "admin", NULL), "username"));
	assert_non_null(strstr(strength_check("Quorvalith-2031-x", 17, "bob", NULL,
	                                      "Quorvalith-2031-x"),
	                       "differ"));
	assert_non_null(strstr(strength_check("Quorvalith\0-2031-x", 18, "bob", NULL, NULL), "NUL"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guessable_passwords_refused),
		cmocka_unit_test(strong_passwords_accepted),
		cmocka_unit_test(own_words_count),
		cmocka_unit_test(each_rule_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
