/*
 * The Accept header (http_req_accepts: does the client ask for JSON?),
 * compared with a reference written the long way from RFC 9110 12.5.1:
 * entries split on ',', each trimmed; the media type before the first ';'
 * equal to the asked type (any case); its first "q=" parameter, if any, not
 * a zero quality ("0", "0.", "0.000"). Wildcards never name the type.
 */
#include "fuzz.h"

#include <strings.h>

#include "http.h"

static const char *const types[] = {"application/json", "text/html", "a/b"};

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static bool zero_quality(const char *v)
{
	if (*v++ != '0')
		return false;
	if (*v == '.')
		while (*++v == '0')
			;
	return *v == '\0';
}

static bool reference_accepts(const char *header, const char *type)
{
	char *copy = strdup(header), *entry, *next;
	bool found = false;

	if (copy == NULL)
		abort();
	for (entry = copy; entry != NULL && !found; entry = next) {
		char *param, *semi;

		next = strchr(entry, ',');
		if (next != NULL)
			*next++ = '\0';
		semi = strchr(entry, ';');
		if (semi != NULL)
			*semi++ = '\0';
		if (strcasecmp(trim(entry), type) != 0)
			continue;
		found = true;
		for (param = semi; param != NULL; param = semi) {
			semi = strchr(param, ';');
			if (semi != NULL)
				*semi++ = '\0';
			param = trim(param);
			if ((param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
				found = !zero_quality(param + 2);
				break;
			}
		}
	}
	free(copy);
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *env_accept = malloc(size + sizeof "HTTP_ACCEPT=");
	char *env[] = {env_accept, NULL};
	struct http_req req;

	if (env_accept == NULL)
		abort();
	memcpy(env_accept, "HTTP_ACCEPT=", 12);
	memcpy(env_accept + 12, data, size);
	env_accept[12 + size] = '\0';
	FUZZ_ASSERT(http_req_init(&req, env) == 0);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		FUZZ_ASSERT(http_req_accepts(&req, types[i]) == reference_accepts(env_accept + 12, types[i]));
	http_req_cleanup(&req);
	free(env_accept);
	return 0;
}
