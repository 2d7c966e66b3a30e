/*
 * The CSRF origin rule (auth_csrf_ok: the Origin header, else the Referer),
 * compared with a small reference written from RFC 6454 / the WHATWG URL
 * rules a browser follows when it serialises an origin:
 *   scheme "http" or "https" (any case), "://", then the authority: no
 *   userinfo; a host that is a bracketed IPv6 literal or holds no ':' at all;
 *   an optional ":" and one or more digits; the default port dropped, all
 *   lower case. An Origin is exactly that; a Referer may go on with / ? #.
 * The first input byte picks the site's PUBLIC_URL and which header carries
 * the rest; the target aborts when the two disagree on "same origin".
 */
#include "fuzz.h"

#include <ctype.h>
#include <strings.h>

#include "auth.h"

static const char *const publics[] = {
	"http://127.0.0.1:8080",
	"https://farout.example",
	"http://[::1]:8080",
	"https://Farout.Example:8443",
};

/* The reference serialisation into out (256 bytes), or false when the URL has no usable origin. */
static bool reference_origin(const char *url, bool whole_url, char *out)
{
	const char *a;
	char host[256], port[256] = "";
	size_t alen, hlen;
	bool https;

	if (strncasecmp(url, "http://", 7) == 0) {
		https = false;
		a = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		https = true;
		a = url + 8;
	} else {
		return false;
	}
	alen = strcspn(a, "/?#");
	if (!whole_url && a[alen] != '\0')
		return false;
	if (alen == 0 || alen > 200 || memchr(a, '@', alen) != NULL)
		return false;
	if (a[0] == '[') {
		const char *close = memchr(a, ']', alen);
		if (close == NULL)
			return false;
		hlen = (size_t)(close - a) + 1;
		if (memchr(a + 1, '[', hlen - 1) != NULL)
			return false;
	} else {
		hlen = strcspn(a, ":");
		if (hlen > alen)
			hlen = alen;
		if (memchr(a, '[', hlen) != NULL || memchr(a, ']', hlen) != NULL)
			return false;
	}
	if (hlen == 0 || (a[0] == '[' && hlen == 2))
		return false;
	if (hlen < alen) {
		size_t plen = alen - hlen - 1;
		if (a[hlen] != ':' || plen == 0 || strspn(a + hlen + 1, "0123456789") < plen)
			return false;
		memcpy(port, a + hlen + 1, plen);
		port[plen] = '\0';
		if (strcmp(port, https ? "443" : "80") == 0)
			port[0] = '\0';
	}
	memcpy(host, a, hlen);
	host[hlen] = '\0';
	snprintf(out, 256, "%s://%s%s%s", https ? "https" : "http", host, port[0] ? ":" : "", port);
	for (char *p = out; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	struct app app;
	struct http_req req;
	char *value, *env[2], want[256], got[256];
	const char *public_origin;
	bool referer, ok, ref;

	if (size == 0)
		return 0;
	public_origin = publics[data[0] % 4];
	referer = (data[0] / 4) % 2 == 1;
	value = fuzz_cstr(data + 1, size - 1);
	memset(&cfg, 0, sizeof cfg);
	cfg.public_origin = (char *)public_origin;
	memset(&app, 0, sizeof app);
	app.cfg = &cfg;
	env[0] = malloc(strlen(value) + 16);
	env[1] = NULL;
	sprintf(env[0], "%s=%s", referer ? "HTTP_REFERER" : "HTTP_ORIGIN", value);
	FUZZ_ASSERT(http_req_init(&req, env) == 0);
	ok = auth_csrf_ok(&app, &req);
	FUZZ_ASSERT(reference_origin(public_origin, false, want));
	ref = reference_origin(value, referer, got) && strcmp(got, want) == 0;
	if (ok != ref)
		fprintf(stderr, "site %s, %s \"%s\": parser %d, reference %d\n", public_origin,
		        referer ? "Referer" : "Origin", value, ok, ref);
	FUZZ_ASSERT(ok == ref);
	http_req_cleanup(&req);
	free(env[0]);
	free(value);
	return 0;
}
