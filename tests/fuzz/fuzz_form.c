/*
 * The application/x-www-form-urlencoded readers (form bodies and query
 * strings): http_form_get, http_form_count, http_form_has_unknown, and the
 * members directory's query parser. Properties: a found value is decoded
 * without a NUL inside; the count agrees with a reference split on '&'.
 */
#include "fuzz.h"

#include "http.h"
#include "members.h"

static int reference_count(const char *form, size_t len, const char *name)
{
	size_t n = strlen(name), start = 0;
	int count = 0;

	for (size_t i = 0; i < len || (i == len && start < len); i++)
		if (i == len || form[i] == '&') {
			size_t klen = strcspn(form + start, "=&");
			if (klen > i - start)
				klen = i - start;
			count += klen == n && strncmp(form + start, name, n) == 0;
			start = i + 1;
		}
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"username", "password", "next", "link", "q", ""};
	static const char *const allowed[] = {"username", "password", NULL};
	char *form = fuzz_cstr(data, size);
	size_t len = strlen(form); /* the CGI query string is a C string */
	struct members_query q;
	char detail[256];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *value = NULL;
		int r = http_form_get(form, len, names[i], &value);

		FUZZ_ASSERT(r >= -1 && r <= 1);
		FUZZ_ASSERT((r == 1) == (value != NULL));
		if (r == 0)
			FUZZ_ASSERT(reference_count(form, len, names[i]) == 0);
		free(value);
		FUZZ_ASSERT(http_form_count(form, len, names[i]) == reference_count(form, len, names[i]));
	}
	(void)http_form_has_unknown(form, len, allowed);
	/* A form body is bytes with a length: a NUL inside must not cut it short silently. */
	(void)http_form_has_unknown((const char *)data, size, allowed);
	{
		char *value = NULL;
		if (http_form_get((const char *)data, size, "password", &value) == 1)
			FUZZ_ASSERT(strlen(value) <= size);
		free(value);
	}
	if (members_query_parse(form, &q, detail, sizeof detail) == MEMBERS_CHECK_OK) {
		FUZZ_ASSERT(q.limit >= 1 && q.limit <= MEMBERS_LIMIT_MAX);
		FUZZ_ASSERT(q.offset >= 0);
		members_query_cleanup(&q);
	}
	free(form);
	return 0;
}
