/*
 * The members write path without a database: json_parse, then
 * members_change_parse for PATCH and for POST, the permission rules for
 * every role, and the UPDATE the change would run. Properties: a change
 * that parses holds only values its validators accept, and the statement
 * built from it carries no byte of the request (values travel as $n): it is
 * the statement of a change naming the same fields with other values.
 */
#include "fuzz.h"

#include "json.h"
#include "members.h"
#include "util.h"

static void check_change(const struct members_change *c)
{
	static const char *const ids[] = {"1", "80351110224678912"};
	struct buf sql;
	const char *values[MEMBERS_FIELD__MAX + 1];
	const char *field;
	int n = 0;

	FUZZ_ASSERT(c->nset >= 1 && c->nset <= MEMBERS_FIELD__MAX);
	if (c->set[MEMBERS_DISPLAY_NAME])
		FUZZ_ASSERT(members_is_display_name(c->value[MEMBERS_DISPLAY_NAME]));
	if (c->set[MEMBERS_RANK])
		FUZZ_ASSERT(members_is_rank(c->value[MEMBERS_RANK]));
	if (c->set[MEMBERS_BIO] && c->value[MEMBERS_BIO] != NULL)
		FUZZ_ASSERT(members_is_bio(c->value[MEMBERS_BIO]));
	if (c->set[MEMBERS_AVATAR_URL] && c->value[MEMBERS_AVATAR_URL] != NULL)
		FUZZ_ASSERT(members_is_avatar_url(c->value[MEMBERS_AVATAR_URL]));
	for (int f = 0; f < MEMBERS_FIELD__MAX; f++)
		if (c->value[f] != NULL)
			FUZZ_ASSERT(util_is_utf8(c->value[f], strlen(c->value[f])));
	for (int r = 0; r < ROLE__MAX; r++)
		for (int self = 0; self < 2; self++) {
			enum members_permission p = members_change_allowed(c, (enum role)r, self, &field);
			if (r == ROLE_ADMIN)
				FUZZ_ASSERT(p == MEMBERS_ALLOWED);
			if (p == MEMBERS_FORBIDDEN_FIELD)
				FUZZ_ASSERT(field != NULL);
		}
	{
		/* The same fields with other values must give the very same statement. */
		struct members_change dummy;
		struct buf same;
		const char *dummy_values[MEMBERS_FIELD__MAX + 1];
		int m = 0;

		memset(&dummy, 0, sizeof dummy);
		memcpy(dummy.set, c->set, sizeof dummy.set);
		FUZZ_ASSERT(members_update_sql(c, ids[c->nset % 2], &sql, values, &n) == 0);
		FUZZ_ASSERT(members_update_sql(&dummy, "1", &same, dummy_values, &m) == 0);
		FUZZ_ASSERT(n == (int)c->nset + 1 && m == n);
		FUZZ_ASSERT(sql.len == same.len && memcmp(sql.data, same.data, sql.len) == 0);
		buf_cleanup(&sql);
		buf_cleanup(&same);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum json_error err;
	cJSON *body = json_parse((const char *)data, size, &err);
	char detail[256];

	if (body == NULL)
		return 0;
	for (int mode = 0; mode < 2; mode++) {
		struct members_change c;
		const char *field = NULL;
		enum members_check r = members_change_parse(
			body, mode == 0 ? MEMBERS_FOR_PATCH : MEMBERS_FOR_CREATE, &c, &field, detail,
			sizeof detail);

		FUZZ_ASSERT(util_is_utf8(detail, strlen(detail)) || r == MEMBERS_CHECK_OK);
		if (r == MEMBERS_CHECK_OK) {
			check_change(&c);
			if (mode == 1)
				FUZZ_ASSERT(c.discord_id != NULL && util_is_snowflake(c.discord_id));
		} else {
			FUZZ_ASSERT(c.nset == 0 && c.discord_id == NULL);
		}
		members_change_cleanup(&c);
	}
	cJSON_Delete(body);
	return 0;
}
