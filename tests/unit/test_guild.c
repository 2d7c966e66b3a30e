/* guild and the member object of lib/discord: what a server member's roles
 * mean (first listed rank pair, officer granted and taken, admin untouched)
 * and which member answers are accepted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "discord.h"
#include "guild.h"
#include "util.h"

#define CAPTAIN "1310000000000000001"
#define PILOT "1310000000000000002"
#define OFFICER "1310000000000000003"
#define OTHER "1310000000000000009"

static struct config_rank_role rank_roles[] = {
	{(char *)CAPTAIN, (char *)"Captain"},
	{(char *)PILOT, (char *)"Pilot"},
};
static char *officer_roles[] = {(char *)OFFICER};

static struct config gated_config(void)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.discord_guild_id = (char *)"1300000000000000001";
	cfg.discord_rank_roles = rank_roles;
	cfg.discord_nrank_roles = UTIL_ARRAY_LEN(rank_roles);
	cfg.discord_officer_roles = officer_roles;
	cfg.discord_nofficer_roles = UTIL_ARRAY_LEN(officer_roles);
	return cfg;
}

static struct discord_member holding(char **roles, size_t n)
{
	struct discord_member m = {NULL, roles, n};
	return m;
}

static void test_gated_only_with_a_server(void **state)
{
	(void)state;
	struct config cfg = gated_config();

	assert_true(guild_is_gated(&cfg));
	cfg.discord_guild_id = NULL;
	assert_false(guild_is_gated(&cfg));
}

static void test_rank_is_the_first_listed_pair_held(void **state)
{
	(void)state;
	struct config cfg = gated_config();
	char *both[] = {(char *)OTHER, (char *)PILOT, (char *)CAPTAIN};
	char *pilot[] = {(char *)PILOT};
	char *none[] = {(char *)OTHER};
	struct discord_member m;

	m = holding(both, 3);
	assert_string_equal(guild_rank_for(&cfg, &m), "Captain");
	m = holding(pilot, 1);
	assert_string_equal(guild_rank_for(&cfg, &m), "Pilot");
	m = holding(none, 1);
	assert_null(guild_rank_for(&cfg, &m));
	m = holding(NULL, 0);
	assert_null(guild_rank_for(&cfg, &m));
	cfg.discord_nrank_roles = 0;
	m = holding(both, 3);
	assert_null(guild_rank_for(&cfg, &m));
}

static void test_role_follows_the_officer_roles(void **state)
{
	(void)state;
	struct config cfg = gated_config();
	char *officer[] = {(char *)OTHER, (char *)OFFICER};
	char *plain[] = {(char *)PILOT};
	struct discord_member with = holding(officer, 2), without = holding(plain, 1);

	assert_string_equal(guild_role_for(&cfg, &with, "member"), "officer");
	assert_string_equal(guild_role_for(&cfg, &with, "officer"), "officer");
	assert_string_equal(guild_role_for(&cfg, &without, "officer"), "member");
	assert_string_equal(guild_role_for(&cfg, &without, "member"), "member");
	/* admin, and roles this build does not know, are never Discord's to change. */
	assert_string_equal(guild_role_for(&cfg, &with, "admin"), "admin");
	assert_string_equal(guild_role_for(&cfg, &without, "admin"), "admin");
	assert_string_equal(guild_role_for(&cfg, &with, "auditor"), "auditor");
	/* No DISCORD_OFFICER_ROLES: roles stay the operators' business. */
	cfg.discord_nofficer_roles = 0;
	assert_string_equal(guild_role_for(&cfg, &without, "officer"), "officer");
	assert_string_equal(guild_role_for(&cfg, &with, "member"), "member");
}

static int parse(const char *json, struct discord_member *m)
{
	return discord_parse_member(json, strlen(json), m);
}

static void test_parse_member(void **state)
{
	(void)state;
	struct discord_member m;

	assert_int_equal(parse("{\"user\":{\"id\":\"80351110224678912\"},\"nick\":\"Nel\","
	                       "\"roles\":[\"" CAPTAIN "\",\"" OFFICER "\"],\"joined_at\":\"x\","
	                       "\"deaf\":false,\"mute\":false}",
	                       &m),
	                 0);
	assert_string_equal(m.nick, "Nel");
	assert_int_equal(m.nroles, 2);
	assert_true(discord_member_has_role(&m, OFFICER));
	assert_false(discord_member_has_role(&m, PILOT));
	discord_member_cleanup(&m);

	assert_int_equal(parse("{\"nick\":null,\"roles\":[]}", &m), 0);
	assert_null(m.nick);
	assert_int_equal(m.nroles, 0);
	discord_member_cleanup(&m);
}

static void test_parse_member_nick(void **state)
{
	(void)state;
	static const char *const unusable[] = {
		"{\"nick\":\"\",\"roles\":[]}",
		"{\"nick\":\"   \",\"roles\":[]}",
		"{\"nick\":\"a\\u0007b\",\"roles\":[]}",
		"{\"nick\":7,\"roles\":[]}",
	};
	struct discord_member m;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(unusable); i++) {
		assert_int_equal(parse(unusable[i], &m), 0);
		assert_null(m.nick);
		discord_member_cleanup(&m);
	}
	/* Invalid UTF-8 (a lone continuation byte) is no JSON at all: the answer is refused. */
	assert_int_equal(parse("{\"nick\":\"a\x80" "b\",\"roles\":[]}", &m), -1);
	assert_null(m.nick);
	/* Longer than Discord allows: cut at 32 code points. */
	assert_int_equal(parse("{\"nick\":\"ééééééééééééééééééééééééééééééééééé\",\"roles\":[]}", &m), 0);
	assert_int_equal(util_utf8_len(m.nick), DISCORD_NAME_MAX);
	discord_member_cleanup(&m);
}

static void test_parse_member_refusals(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"[]",
		"{\"nick\":\"Nel\"}",
		"{\"roles\":null}",
		"{\"roles\":\"" CAPTAIN "\"}",
		"{\"roles\":[1310000000000000001]}",
		"{\"roles\":[\"captain\"]}",
		"{\"roles\":[\"18446744073709551616\"]}",
		"{\"roles\":[\"" CAPTAIN "\",null]}",
		"{\"roles\":[\"" CAPTAIN "\"",
	};
	struct discord_member m;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		if (parse(bad[i], &m) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_null(m.roles);
		assert_int_equal(m.nroles, 0);
	}
}

static void test_parse_member_role_cap(void **state)
{
	(void)state;
	char json[16 * 1024];
	size_t n = 0;
	struct discord_member m;

	n += (size_t)snprintf(json + n, sizeof json - n, "{\"roles\":[");
	for (int i = 0; i <= DISCORD_MEMBER_ROLES_MAX; i++)
		n += (size_t)snprintf(json + n, sizeof json - n, "%s\"%d\"", i ? "," : "", 1000 + i);
	snprintf(json + n, sizeof json - n, "]}");
	assert_int_equal(parse(json, &m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gated_only_with_a_server),
		cmocka_unit_test(test_rank_is_the_first_listed_pair_held),
		cmocka_unit_test(test_role_follows_the_officer_roles),
		cmocka_unit_test(test_parse_member),
		cmocka_unit_test(test_parse_member_nick),
		cmocka_unit_test(test_parse_member_refusals),
		cmocka_unit_test(test_parse_member_role_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
