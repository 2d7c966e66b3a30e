/*
 * Discord's token answer (discord_parse_token): an access token comes out
 * only from a JSON object, and it is a non-empty string a header may carry
 * (no control characters, so "Authorization: Bearer <token>" stays one line).
 */
#include "fuzz.h"

#include "discord.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *token = NULL;

	if (discord_parse_token((const char *)data, size, &token) == 0) {
		FUZZ_ASSERT(token != NULL && token[0] != '\0');
		for (const char *c = token; *c != '\0'; c++)
			FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f);
		util_free_secret(token);
	} else {
		FUZZ_ASSERT(token == NULL);
	}
	return 0;
}
