/*
 * The `next` sanitiser (oauth_next_path_new), checked against what a
 * browser would do with the Location PUBLIC_URL + next: the result is a
 * path on this site (one leading '/', never "//" or "/\"), holds no '\',
 * '#', control, space, double quote, backquote, angle bracket or non-ASCII byte, and is
 * stable (sanitising it again changes nothing, as long as the percent-encoded
 * result still fits OAUTH_NEXT_MAX).
 */
#include "fuzz.h"

#include "oauth.h"

static void check_path(const char *p)
{
	FUZZ_ASSERT(p[0] == '/');
	FUZZ_ASSERT(p[1] != '/' && p[1] != '\\');
	for (const char *c = p; *c != '\0'; c++) {
		unsigned char b = (unsigned char)*c;
		FUZZ_ASSERT(b > 0x20 && b < 0x7f);
		FUZZ_ASSERT(strchr("\\#\"<>`", b) == NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *next = fuzz_cstr(data, size);
	char *path = oauth_next_path_new(next), *again;

	FUZZ_ASSERT(path != NULL);
	check_path(path);
	again = oauth_next_path_new(path);
	FUZZ_ASSERT(again != NULL);
	if (strlen(path) <= OAUTH_NEXT_MAX)
		FUZZ_ASSERT(strcmp(again, path) == 0);
	free(again);
	free(path);
	free(next);
	return 0;
}
