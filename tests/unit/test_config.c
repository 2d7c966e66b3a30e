/* config: every variable of API.md "Configuration" — defaults, each bad value
 * named in the one error line, secrets never echoed and wiped from the
 * environment, database URL rewriting, PUBLIC_URL and Discord rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

#define APP_URL "postgresql:///farout?host=/tmp/sock&port=5432&user=farout"
#define AUTH_URL "postgresql:///farout_auth?host=/tmp/sock&port=5432&user=farout"
#define SECRET32 "0123456789abcdef0123456789abcdef"

static const char *const variables[] = {
	"DATABASE_URL", "AUTH_DATABASE_URL", "JWT_SECRET", "JWT_SECRET_PREVIOUS", "JWT_ALGORITHM",
	"JWT_EXPIRATION_DAYS", "JWT_ISSUER", "PUBLIC_URL", "DISCORD_CLIENT_ID",
	"DISCORD_CLIENT_SECRET", "DISCORD_REDIRECT_URI", "DISCORD_API_BASE",
	"DISCORD_AUTHORIZE_URL", "DISCORD_TIMEOUT_MS", "BCRYPT_COST", "LOGIN_MAX_FAILURES",
	"LOGIN_WINDOW_SECONDS", "LOG_TARGET", "LOG_LEVEL", "TOTP_KEY", "DISCORD_GUILD_ID",
	"DISCORD_RANK_ROLES", "DISCORD_OFFICER_ROLES", "DB_PREPARED_STATEMENTS",
};

/* config_load wipes the secret it read from the environment: put it back before each load. */
static void reset_secret(void)
{
	setenv("JWT_SECRET", SECRET32, 1);
}

/* Each test starts from a complete, valid environment and changes one thing. */
static int valid_environment(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof variables / sizeof variables[0]; i++)
		unsetenv(variables[i]);
	setenv("DATABASE_URL", APP_URL, 1);
	setenv("AUTH_DATABASE_URL", AUTH_URL, 1);
	reset_secret();
	return 0;
}

static void assert_loads(struct config *cfg, unsigned needs)
{
	char err[256] = "";

	if (config_load(cfg, needs, err, sizeof err) != 0)
		fail_msg("config_load refused a valid environment: %s", err);
}

/* Refused, with one line that names the variable and does not echo the value. */
static void assert_refused(unsigned needs, const char *variable, const char *secret)
{
	struct config cfg;
	char err[256] = "";

	assert_int_equal(config_load(&cfg, needs, err, sizeof err), -1);
	if (strstr(err, variable) == NULL)
		fail_msg("the error does not name %s: %s", variable, err);
	assert_null(strchr(err, '\n'));
	if (secret != NULL && *secret != '\0')
		assert_null(strstr(err, secret));
}

static void refused_with(const char *variable, const char *value)
{
	reset_secret();
	setenv(variable, value, 1);
	assert_refused(CONFIG_NEED_DB | CONFIG_NEED_JWT, variable, NULL);
	valid_environment(NULL);
}

static void test_prepared_statements_switch(void **state)
{
	static const struct {
		const char *value;
		bool on;
	} cases[] = {{"on", true}, {"off", false}, {"OFF", false}, {"true", true}, {"0", false}};
	struct config cfg;

	(void)state;
	assert_loads(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT);
	assert_true(cfg.db_prepared_statements); /* the default */
	config_cleanup(&cfg);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		reset_secret();
		setenv("DB_PREPARED_STATEMENTS", cases[i].value, 1);
		assert_loads(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT);
		assert_int_equal(cfg.db_prepared_statements, cases[i].on);
		config_cleanup(&cfg);
	}
	refused_with("DB_PREPARED_STATEMENTS", "sometimes");
	refused_with("DB_PREPARED_STATEMENTS", "onn");
}

static void test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	assert_loads(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT);
	assert_string_equal(cfg.database_url, APP_URL);
	assert_string_equal(cfg.auth_database_url, AUTH_URL);
	assert_int_equal(cfg.jwt_secret_len, 32);
	assert_memory_equal(cfg.jwt_secret, SECRET32, 32);
	assert_null(cfg.jwt_secret_previous);
	assert_int_equal(cfg.jwt_algorithm, JWT_HS256);
	assert_string_equal(cfg.jwt_algorithm_name, "HS256");
	assert_int_equal(cfg.jwt_expiration_days, 7);
	assert_int_equal(config_token_lifetime(&cfg), 7 * 86400);
	assert_string_equal(cfg.jwt_issuer, "farout");
	assert_string_equal(cfg.public_url, "http://localhost:8080");
	assert_string_equal(cfg.public_origin, "http://localhost:8080");
	assert_false(cfg.public_https);
	assert_false(cfg.discord_configured);
	assert_string_equal(cfg.discord_redirect_uri,
	                    "http://localhost:8080/api/auth/discord/callback");
	assert_string_equal(cfg.discord_api_base, "https://discord.com/api");
	assert_string_equal(cfg.discord_authorize_url, "https://discord.com/oauth2/authorize");
	assert_int_equal(cfg.discord_timeout_ms, 10000);
	assert_int_equal(cfg.bcrypt_cost, 12);
	assert_int_equal(cfg.login_max_failures, 5);
	assert_int_equal(cfg.login_window_seconds, 900);
	assert_int_equal(cfg.log_target, LOG_TO_DEFAULT);
	assert_int_equal(cfg.log_level, LOG_AT_DEFAULT);
	config_cleanup(&cfg);
}

static void test_every_value_set(void **state)
{
	struct config cfg;

	(void)state;
	setenv("JWT_SECRET_PREVIOUS", "previous-secret-previous-secret-!", 1);
	setenv("JWT_ALGORITHM", "HS512", 1);
	setenv("JWT_EXPIRATION_DAYS", "30", 1);
	setenv("JWT_ISSUER", "farout-test", 1);
	setenv("PUBLIC_URL", "https://farout.example", 1);
	setenv("DISCORD_CLIENT_ID", "123456789012345678", 1);
	setenv("DISCORD_CLIENT_SECRET", "discord-client-secret", 1);
	setenv("DISCORD_REDIRECT_URI", "https://farout.example/custom/callback", 1);
	setenv("DISCORD_API_BASE", "http://127.0.0.1:9999/api/", 1);
	setenv("DISCORD_AUTHORIZE_URL", "http://localhost:9999/oauth2/authorize", 1);
	setenv("DISCORD_TIMEOUT_MS", "2500", 1);
	setenv("BCRYPT_COST", "4", 1);
	setenv("LOGIN_MAX_FAILURES", "3", 1);
	setenv("LOGIN_WINDOW_SECONDS", "60", 1);
	setenv("LOG_TARGET", "syslog", 1);
	setenv("LOG_LEVEL", "warn", 1);
	assert_loads(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT);
	assert_int_equal(cfg.log_target, LOG_TO_SYSLOG);
	assert_int_equal(cfg.log_level, LOG_AT_WARN);
	assert_int_equal(cfg.jwt_secret_previous_len, 33);
	assert_int_equal(cfg.jwt_algorithm, JWT_HS512);
	assert_string_equal(cfg.jwt_algorithm_name, "HS512");
	assert_int_equal(config_token_lifetime(&cfg), 30 * 86400);
	assert_string_equal(cfg.jwt_issuer, "farout-test");
	assert_true(cfg.public_https);
	assert_true(cfg.discord_configured);
	assert_string_equal(cfg.discord_client_id, "123456789012345678");
	assert_string_equal(cfg.discord_client_secret, "discord-client-secret");
	assert_string_equal(cfg.discord_redirect_uri, "https://farout.example/custom/callback");
	assert_string_equal(cfg.discord_api_base, "http://127.0.0.1:9999/api"); /* no trailing / */
	assert_string_equal(cfg.discord_authorize_url, "http://localhost:9999/oauth2/authorize");
	assert_int_equal(cfg.discord_timeout_ms, 2500);
	assert_int_equal(cfg.bcrypt_cost, 4);
	assert_int_equal(cfg.login_max_failures, 3);
	assert_int_equal(cfg.login_window_seconds, 60);
	config_cleanup(&cfg);
}

static void test_bad_numbers_name_their_variable(void **state)
{
	(void)state;
	refused_with("BCRYPT_COST", "3");
	refused_with("BCRYPT_COST", "32");
	refused_with("BCRYPT_COST", "twelve");
	refused_with("BCRYPT_COST", "12 ");
	refused_with("BCRYPT_COST", "+12");
	refused_with("BCRYPT_COST", "0x0c");
	refused_with("LOGIN_MAX_FAILURES", "0");
	refused_with("LOGIN_MAX_FAILURES", "-5");
	refused_with("LOGIN_WINDOW_SECONDS", "0");
	refused_with("LOGIN_WINDOW_SECONDS", "99999999999999999999");
	refused_with("JWT_EXPIRATION_DAYS", "0");
	refused_with("JWT_EXPIRATION_DAYS", "7d");
	refused_with("DISCORD_TIMEOUT_MS", "50");
	refused_with("DISCORD_TIMEOUT_MS", "1.5");
}

static void test_bad_values_name_their_variable(void **state)
{
	(void)state;
	refused_with("LOG_TARGET", "file");
	refused_with("LOG_TARGET", "Syslog");
	refused_with("LOG_LEVEL", "debug");
	refused_with("LOG_LEVEL", "warning");
	refused_with("JWT_ALGORITHM", "none");
	refused_with("JWT_ALGORITHM", "RS256");
	refused_with("JWT_ALGORITHM", "hs256");
	refused_with("JWT_ISSUER", "far\"out");
	refused_with("JWT_ISSUER", "far\nout");
	refused_with("DATABASE_URL", "mysql://farout@db/farout");
	refused_with("DATABASE_URL", "farout");
	refused_with("AUTH_DATABASE_URL", "postgresqlx://x/y");
	refused_with("AUTH_DATABASE_URL", "postgresql://host/db?nosuchoption=1");
	refused_with("DISCORD_API_BASE", "http://discord.example/api");
	refused_with("DISCORD_API_BASE", "ftp://discord.com/api");
	/* Plain http only to loopback, and a loopback-looking prefix is not loopback. */
	refused_with("DISCORD_API_BASE", "http://localhost.evil.example/api");
	refused_with("DISCORD_API_BASE", "http://127.0.0.1.evil.example/api");
	refused_with("DISCORD_API_BASE", "http://localhost@evil.example/api");
	refused_with("DISCORD_API_BASE", "http://[::1].evil.example/api");
	refused_with("DISCORD_AUTHORIZE_URL", "http://evil.example/authorize");
	refused_with("DISCORD_REDIRECT_URI", "javascript:alert(1)");
	refused_with("DISCORD_REDIRECT_URI", "https://farout.example/a b");
}

static void test_database_urls_required(void **state)
{
	struct config cfg;

	(void)state;
	unsetenv("AUTH_DATABASE_URL");
	assert_refused(CONFIG_NEED_DB, "AUTH_DATABASE_URL", NULL);
	setenv("AUTH_DATABASE_URL", "", 1); /* empty counts as unset */
	assert_refused(CONFIG_NEED_DB, "AUTH_DATABASE_URL", NULL);
	unsetenv("DATABASE_URL");
	setenv("AUTH_DATABASE_URL", AUTH_URL, 1);
	assert_refused(CONFIG_NEED_DB, "DATABASE_URL", NULL);
	/* A program that needs no database starts without them. */
	reset_secret();
	assert_loads(&cfg, CONFIG_NEED_JWT);
	assert_null(cfg.database_url);
	config_cleanup(&cfg);
}

static void test_asyncpg_url_rewritten(void **state)
{
	struct config cfg;

	(void)state;
	setenv("DATABASE_URL", "postgresql+asyncpg://farout:pw@db:5432/farout", 1);
	setenv("AUTH_DATABASE_URL", "postgres://farout:pw@db:5432/farout_auth", 1);
	assert_loads(&cfg, CONFIG_NEED_DB);
	assert_string_equal(cfg.database_url, "postgresql://farout:pw@db:5432/farout");
	assert_string_equal(cfg.auth_database_url, "postgresql://farout:pw@db:5432/farout_auth");
	config_cleanup(&cfg);
}

static void test_database_url_error_hides_password(void **state)
{
	(void)state;
	setenv("DATABASE_URL", "mysql://farout:hunter2secret@db/farout", 1);
	assert_refused(CONFIG_NEED_DB, "DATABASE_URL", "hunter2secret");
}

static void test_secret_length(void **state)
{
	struct config cfg;
	static const char short31[] = "0123456789abcdef0123456789abcde";

	(void)state;
	setenv("JWT_SECRET", short31, 1);
	assert_refused(CONFIG_NEED_JWT, "JWT_SECRET", short31);
	setenv("JWT_SECRET", SECRET32, 1);
	assert_loads(&cfg, CONFIG_NEED_JWT);
	assert_int_equal(cfg.jwt_secret_len, 32);
	config_cleanup(&cfg);
	reset_secret();
	setenv("JWT_SECRET_PREVIOUS", short31, 1);
	assert_refused(CONFIG_NEED_JWT, "JWT_SECRET_PREVIOUS", short31);
}

/* TOTP_KEY: unset is fine (TOTP off); set, it must be 32 bytes of base64, either alphabet. */
static void test_totp_key(void **state)
{
	/* 32 bytes 0x00..0x1f in standard base64, and the same in base64url without padding. */
	static const char std[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
	static const char url[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
	static const char *const bad[] = {
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxw=",     /* 29 bytes */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==", /* 34 bytes */
		"not base64 at all, but long enough to be 32 bytes",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", /* non-zero unused bits */
	};
	unsigned char expect[32];
	struct config cfg;

	(void)state;
	for (int i = 0; i < 32; i++)
		expect[i] = (unsigned char)i;
	assert_loads(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT);
	assert_null(cfg.totp_key);
	config_cleanup(&cfg);
	for (int v = 0; v < 2; v++) {
		reset_secret();
		setenv("TOTP_KEY", v == 0 ? std : url, 1);
		assert_loads(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT);
		assert_non_null(cfg.totp_key);
		assert_memory_equal(cfg.totp_key, expect, 32);
		/* Wiped from the environment once read. */
		assert_true(getenv("TOTP_KEY") == NULL || strcmp(getenv("TOTP_KEY"), std) != 0);
		config_cleanup(&cfg);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		reset_secret();
		setenv("TOTP_KEY", bad[i], 1);
		assert_refused(CONFIG_NEED_DB | CONFIG_NEED_JWT, "TOTP_KEY", bad[i]);
	}
}

static void test_placeholder_secret_refused(void **state)
{
	(void)state;
	setenv("JWT_SECRET", CONFIG_SECRET_PLACEHOLDER, 1);
	assert_true(strlen(CONFIG_SECRET_PLACEHOLDER) >= 32); /* refused for what it is, not its length */
	assert_refused(CONFIG_NEED_JWT, "JWT_SECRET", CONFIG_SECRET_PLACEHOLDER);
}

static void test_secret_required_only_when_needed(void **state)
{
	struct config cfg;

	(void)state;
	unsetenv("JWT_SECRET");
	assert_refused(CONFIG_NEED_DB | CONFIG_NEED_JWT, "JWT_SECRET", NULL);
	assert_loads(&cfg, CONFIG_NEED_DB); /* farout-admin */
	assert_null(cfg.jwt_secret);
	config_cleanup(&cfg);
}

/* Nothing secret stays readable in /proc/PID/environ or reaches a child. */
static void test_secrets_wiped_from_environment(void **state)
{
	struct config cfg;
	const char *v;

	(void)state;
	setenv("JWT_SECRET_PREVIOUS", "previous-secret-previous-secret-!", 1);
	setenv("DISCORD_CLIENT_ID", "1234", 1);
	setenv("DISCORD_CLIENT_SECRET", "discord-client-secret", 1);
	assert_loads(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT);
	assert_memory_equal(cfg.jwt_secret, SECRET32, 32); /* the copy survives */
	v = getenv("JWT_SECRET");
	assert_true(v == NULL || strstr(v, SECRET32) == NULL);
	v = getenv("JWT_SECRET_PREVIOUS");
	assert_true(v == NULL || strstr(v, "previous-secret") == NULL);
	v = getenv("DISCORD_CLIENT_SECRET");
	assert_true(v == NULL || strstr(v, "discord-client-secret") == NULL);
	config_cleanup(&cfg);
}

static void test_discord_pairs(void **state)
{
	(void)state;
	setenv("DISCORD_CLIENT_ID", "123456789012345678", 1);
	assert_refused(CONFIG_NEED_DB | CONFIG_NEED_JWT, "DISCORD_CLIENT_SECRET", NULL);
	reset_secret();
	unsetenv("DISCORD_CLIENT_ID");
	setenv("DISCORD_CLIENT_SECRET", "discord-client-secret", 1);
	assert_refused(CONFIG_NEED_DB | CONFIG_NEED_JWT, "DISCORD_CLIENT_ID", "discord-client-secret");
	reset_secret();
	setenv("DISCORD_CLIENT_ID", "my-app", 1);
	setenv("DISCORD_CLIENT_SECRET", "discord-client-secret", 1);
	assert_refused(CONFIG_NEED_DB | CONFIG_NEED_JWT, "DISCORD_CLIENT_ID", "discord-client-secret");
}

static void test_redirect_uri_from_public_url(void **state)
{
	struct config cfg;

	(void)state;
	setenv("PUBLIC_URL", "https://farout.example/", 1);
	assert_loads(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT);
	assert_string_equal(cfg.public_url, "https://farout.example"); /* trailing / dropped */
	assert_string_equal(cfg.public_origin, "https://farout.example");
	assert_true(cfg.public_https);
	assert_string_equal(cfg.discord_redirect_uri,
	                    "https://farout.example/api/auth/discord/callback");
	config_cleanup(&cfg);

	reset_secret();
	setenv("PUBLIC_URL", "http://127.0.0.1:8080", 1);
	assert_loads(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT);
	assert_false(cfg.public_https);
	assert_string_equal(cfg.discord_redirect_uri, "http://127.0.0.1:8080/api/auth/discord/callback");
	config_cleanup(&cfg);
}

static void test_public_url_shape(void **state)
{
	(void)state;
	refused_with("PUBLIC_URL", "https://farout.example/app");
	refused_with("PUBLIC_URL", "https://farout.example/app/");
	refused_with("PUBLIC_URL", "https://farout.example//");
	refused_with("PUBLIC_URL", "https://farout.example?x=1");
	refused_with("PUBLIC_URL", "https://farout.example#top");
	refused_with("PUBLIC_URL", "https://user@farout.example");
	refused_with("PUBLIC_URL", "https://");
	refused_with("PUBLIC_URL", "https:///path");
	refused_with("PUBLIC_URL", "ftp://farout.example");
	refused_with("PUBLIC_URL", "farout.example");
	refused_with("PUBLIC_URL", "https://farout example");
	refused_with("PUBLIC_URL", "https://farout.example\r\nX: y");
}

#define GUILD "1300000000000000001"
#define ROLE_A "1310000000000000001"
#define ROLE_B "1310000000000000002"

static void test_no_server_gate_by_default(void **state)
{
	struct config cfg;

	(void)state;
	assert_loads(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT);
	assert_null(cfg.discord_guild_id);
	assert_int_equal(cfg.discord_nrank_roles, 0);
	assert_int_equal(cfg.discord_nofficer_roles, 0);
	config_cleanup(&cfg);
}

static void test_server_gate_lists(void **state)
{
	struct config cfg;

	(void)state;
	setenv("DISCORD_GUILD_ID", GUILD, 1);
	setenv("DISCORD_RANK_ROLES", " " ROLE_B "=Wing Commander , " ROLE_A " = Pilot", 1);
	setenv("DISCORD_OFFICER_ROLES", ROLE_A "," ROLE_B, 1);
	assert_loads(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT);
	assert_string_equal(cfg.discord_guild_id, GUILD);
	assert_int_equal(cfg.discord_nrank_roles, 2);
	assert_string_equal(cfg.discord_rank_roles[0].role_id, ROLE_B);
	assert_string_equal(cfg.discord_rank_roles[0].rank, "Wing Commander");
	assert_string_equal(cfg.discord_rank_roles[1].role_id, ROLE_A);
	assert_string_equal(cfg.discord_rank_roles[1].rank, "Pilot");
	assert_int_equal(cfg.discord_nofficer_roles, 2);
	assert_string_equal(cfg.discord_officer_roles[0], ROLE_A);
	assert_string_equal(cfg.discord_officer_roles[1], ROLE_B);
	config_cleanup(&cfg);

	/* A role may both give a rank and make an officer; a 32-character rank fits. */
	setenv("DISCORD_RANK_ROLES", ROLE_A "=" "abcdefghijklmnopqrstuvwxyzABCDEF", 1);
	setenv("DISCORD_OFFICER_ROLES", ROLE_A, 1);
	reset_secret();
	assert_loads(&cfg, CONFIG_NEED_DB | CONFIG_NEED_JWT);
	assert_int_equal(cfg.discord_nrank_roles, 1);
	config_cleanup(&cfg);
}

static void test_server_gate_errors_name_their_variable(void **state)
{
	static const struct {
		const char *variable, *value;
	} bad[] = {
		{"DISCORD_GUILD_ID", "farout"},
		{"DISCORD_GUILD_ID", "-1300000000000000001"},
		{"DISCORD_GUILD_ID", "123456789012345678901"},
		{"DISCORD_GUILD_ID", "18446744073709551616"},
		{"DISCORD_RANK_ROLES", "captain=Captain"},
		{"DISCORD_RANK_ROLES", ROLE_A "Captain"},
		{"DISCORD_RANK_ROLES", ROLE_A "="},
		{"DISCORD_RANK_ROLES", ROLE_A "=   "},
		{"DISCORD_RANK_ROLES", ROLE_A "=abcdefghijklmnopqrstuvwxyzABCDEFG"}, /* 33 */
		{"DISCORD_RANK_ROLES", ROLE_A "=Cap\ttain"},
		{"DISCORD_RANK_ROLES", ROLE_A "=A," ROLE_A "=B"},
		{"DISCORD_RANK_ROLES", ROLE_A "=A,," ROLE_B "=B"},
		{"DISCORD_RANK_ROLES", ROLE_A "=A " ROLE_B "=B"},
		{"DISCORD_RANK_ROLES", ","},
		{"DISCORD_RANK_ROLES", "=Captain"},
		{"DISCORD_OFFICER_ROLES", "officers"},
		{"DISCORD_OFFICER_ROLES", ROLE_A "," ROLE_A},
		{"DISCORD_OFFICER_ROLES", ROLE_A ","},
		{"DISCORD_OFFICER_ROLES", ROLE_A ";" ROLE_B},
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("DISCORD_GUILD_ID", GUILD, 1);
		refused_with(bad[i].variable, bad[i].value);
	}
	/* The role lists mean nothing without the server. */
	refused_with("DISCORD_RANK_ROLES", ROLE_A "=Captain");
	refused_with("DISCORD_OFFICER_ROLES", ROLE_A);
}

static void test_server_gate_list_length(void **state)
{
	char list[CONFIG_ROLES_MAX * 25 + 64];
	size_t n = 0;

	(void)state;
	for (int i = 0; i <= CONFIG_ROLES_MAX; i++)
		n += (size_t)snprintf(list + n, sizeof list - n, "%s%d", i ? "," : "", 1000 + i);
	setenv("DISCORD_GUILD_ID", GUILD, 1);
	refused_with("DISCORD_OFFICER_ROLES", list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, valid_environment),
		cmocka_unit_test_setup(test_prepared_statements_switch, valid_environment),
		cmocka_unit_test_setup(test_every_value_set, valid_environment),
		cmocka_unit_test_setup(test_bad_numbers_name_their_variable, valid_environment),
		cmocka_unit_test_setup(test_bad_values_name_their_variable, valid_environment),
		cmocka_unit_test_setup(test_database_urls_required, valid_environment),
		cmocka_unit_test_setup(test_asyncpg_url_rewritten, valid_environment),
		cmocka_unit_test_setup(test_database_url_error_hides_password, valid_environment),
		cmocka_unit_test_setup(test_secret_length, valid_environment),
		cmocka_unit_test_setup(test_placeholder_secret_refused, valid_environment),
		cmocka_unit_test_setup(test_secret_required_only_when_needed, valid_environment),
		cmocka_unit_test_setup(test_secrets_wiped_from_environment, valid_environment),
		cmocka_unit_test_setup(test_discord_pairs, valid_environment),
		cmocka_unit_test_setup(test_redirect_uri_from_public_url, valid_environment),
		cmocka_unit_test_setup(test_public_url_shape, valid_environment),
		cmocka_unit_test_setup(test_totp_key, valid_environment),
		cmocka_unit_test_setup(test_no_server_gate_by_default, valid_environment),
		cmocka_unit_test_setup(test_server_gate_lists, valid_environment),
		cmocka_unit_test_setup(test_server_gate_errors_name_their_variable, valid_environment),
		cmocka_unit_test_setup(test_server_gate_list_length, valid_environment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
