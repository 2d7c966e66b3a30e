/*
 * The Cookie header parser (http_req_cookie_dup), compared with a reference:
 * the value of the first "name=value" pair, pairs split on ';' with leading
 * spaces dropped.
 */
#include "fuzz.h"

#include "auth.h"
#include "http.h"
#include "oauth.h"

static char *reference_cookie(const char *h, const char *name)
{
	size_t n = strlen(name);

	while (*h != '\0') {
		while (*h == ' ' || *h == ';')
			h++;
		size_t len = strcspn(h, ";");
		if (len > n && strncmp(h, name, n) == 0 && h[n] == '=')
			return strndup(h + n + 1, len - n - 1);
		h += len;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {AUTH_COOKIE, OAUTH_COOKIE, "a"};
	char *env_cookie = malloc(size + sizeof "HTTP_COOKIE=");
	char *env[] = {env_cookie, NULL};
	struct http_req req;

	if (env_cookie == NULL)
		abort();
	memcpy(env_cookie, "HTTP_COOKIE=", 12);
	memcpy(env_cookie + 12, data, size);
	env_cookie[12 + size] = '\0';
	FUZZ_ASSERT(http_req_init(&req, env) == 0);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *got = http_req_cookie_dup(&req, names[i]);
		char *want = reference_cookie(env_cookie + 12, names[i]);

		FUZZ_ASSERT((got == NULL) == (want == NULL));
		if (got != NULL)
			FUZZ_ASSERT(strcmp(got, want) == 0);
		free(got);
		free(want);
	}
	http_req_cleanup(&req);
	free(env_cookie);
	return 0;
}
