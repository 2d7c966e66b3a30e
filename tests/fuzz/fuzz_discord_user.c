/*
 * Discord's users/@me answer (discord_parse_user) and what a sign-in derives
 * from it without a database: the username candidates and the avatar URL.
 * Properties: id is a snowflake; username is 1 to DISCORD_NAME_MAX bytes of
 * letters, digits, '_', '.' and '-' with at least one letter or digit (so
 * no look-alike, invisible character or '@'), and every candidate derived
 * from it keeps that shape; a global name is valid UTF-8 with no invisible
 * character and something visible; the avatar URL is Discord's CDN.
 */
#include "fuzz.h"

#include "discord.h"
#include "names.h"
#include "oauth.h"
#include "util.h"

static void check_username(const char *s, size_t max)
{
	size_t n = strlen(s);

	FUZZ_ASSERT(n > 0 && n <= max);
	FUZZ_ASSERT(strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n);
	FUZZ_ASSERT(strcspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") < n);
}

static void check_display(const char *s)
{
	size_t n = strlen(s);
	bool visible = false;

	FUZZ_ASSERT(n > 0 && util_is_utf8(s, n));
	FUZZ_ASSERT(util_utf8_len(s) <= DISCORD_NAME_MAX);
	for (size_t i = 0; i < n;) {
		const unsigned char *u = (const unsigned char *)s + i;
		unsigned long c;
		size_t len = u[0] < 0x80 ? 1 : u[0] < 0xE0 ? 2 : u[0] < 0xF0 ? 3 : 4;

		c = len == 1 ? u[0]
		    : len == 2 ? ((u[0] & 0x1Fu) << 6) | (u[1] & 0x3Fu)
		    : len == 3 ? ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) | (u[2] & 0x3Fu)
		               : ((u[0] & 0x07ul) << 18) | ((u[1] & 0x3Ful) << 12) |
		                     ((u[2] & 0x3Fu) << 6) | (u[3] & 0x3Fu);
		FUZZ_ASSERT(c >= 0x20 && c != 0x7f && !names_is_invisible(c));
		visible |= c != ' ';
		i += len;
	}
	FUZZ_ASSERT(visible);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct discord_user u;

	if (discord_parse_user((const char *)data, size, &u) == 0) {
		char *url;

		FUZZ_ASSERT(u.id != NULL && util_is_snowflake(u.id));
		FUZZ_ASSERT(u.username != NULL);
		check_username(u.username, DISCORD_NAME_MAX);
		if (u.global_name != NULL)
			check_display(u.global_name);
		for (unsigned i = 0; i < 4; i++) {
			char *cand = oauth_username_candidate_new(u.username, u.id, i);
			if (cand == NULL)
				break;
			check_username(cand, strlen(u.username) + 32);
			free(cand);
		}
		url = oauth_avatar_url_new(&u);
		FUZZ_ASSERT(url != NULL && strncmp(url, "https://cdn.discordapp.com/", 27) == 0);
		free(url);
		discord_user_cleanup(&u);
	}
	return 0;
}
