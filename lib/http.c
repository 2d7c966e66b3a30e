#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "util.h"

static const char *env_in(char *const *env, const char *name)
{
	size_t n = strlen(name);

	for (; env != NULL && *env != NULL; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

static const char *or_empty(const char *s)
{
	return s != NULL ? s : "";
}

int http_req_init(struct http_req *req, char *const *envp)
{
	size_t n = 0;
	const char *path, *len;
	long cl;

	memset(req, 0, sizeof *req);
	buf_init(&req->body, HTTP_BODY_MAX);
	req->content_length = -1;
	while (envp != NULL && envp[n] != NULL)
		n++;
	req->env = calloc(n + 1, sizeof *req->env);
	if (req->env == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if ((req->env[i] = strdup(envp[i])) == NULL)
			goto fail;

	req->method = or_empty(http_req_env(req, "REQUEST_METHOD"));
	req->query = or_empty(http_req_env(req, "QUERY_STRING"));
	req->content_type = or_empty(http_req_env(req, "CONTENT_TYPE"));
	req->remote_addr = or_empty(http_req_env(req, "REMOTE_ADDR"));
	req->request_id = or_empty(http_req_env(req, "REQUEST_ID"));

	/* nginx's DOCUMENT_URI is decoded and normalised; other servers give the raw URI. */
	path = http_req_env(req, "DOCUMENT_URI");
	if (path == NULL) {
		const char *uri = http_req_env(req, "REQUEST_URI");
		if (uri != NULL) {
			req->path_owned = strndup(uri, strcspn(uri, "?"));
			path = req->path_owned;
		}
	}
	if (path == NULL)
		path = http_req_env(req, "PATH_INFO");
	req->path = or_empty(path);

	len = http_req_env(req, "CONTENT_LENGTH");
	if (len != NULL && *len != '\0') {
		/* An unparsable length is treated as too large: it is refused either way. */
		if (util_parse_long(len, 0, 1L << 40, &cl) == 0)
			req->content_length = cl;
		else
			req->content_length = 1L << 40;
	}
	return 0;
fail:
	req->method = req->path = req->query = req->content_type = "";
	req->remote_addr = req->request_id = "";
	return -1;
}

void http_req_cleanup(struct http_req *req)
{
	for (size_t i = 0; req->env != NULL && req->env[i] != NULL; i++) {
		/* The environment carries Authorization and Cookie values. */
		util_wipe(req->env[i], strlen(req->env[i]));
		free(req->env[i]);
	}
	free(req->env);
	free(req->path_owned);
	buf_wipe_cleanup(&req->body);
	memset(req, 0, sizeof *req);
}

const char *http_req_env(const struct http_req *req, const char *name)
{
	return env_in(req->env, name);
}

const char *http_req_header(const struct http_req *req, const char *name)
{
	char key[128] = "HTTP_";
	size_t o = 5;

	for (; *name != '\0' && o < sizeof key - 1; name++)
		key[o++] = *name == '-' ? '_' : (char)toupper((unsigned char)*name);
	key[o] = '\0';
	return http_req_env(req, key);
}

char *http_req_cookie_dup(const struct http_req *req, const char *name)
{
	const char *p = http_req_header(req, "Cookie");
	size_t n = strlen(name);

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ';')
			p++;
		size_t len = strcspn(p, ";");
		if (len > n && strncmp(p, name, n) == 0 && p[n] == '=')
			return strndup(p + n + 1, len - n - 1);
		p += len;
	}
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) ('+' is a space); -1 on a bad escape or a NUL byte. */
static int form_decode(const char *s, size_t n, char **out)
{
	char *d = malloc(n + 1);
	size_t o = 0;

	if (d == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				util_wipe(d, n + 1);
				free(d);
				return -1;
			}
			d[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '\0') {
			util_wipe(d, n + 1);
			free(d);
			return -1;
		} else {
			d[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	d[o] = '\0';
	*out = d;
	return 0;
}

/* The next "key=value" field of a form from *p: false at the end. */
struct form_field {
	const char *key, *value;
	size_t key_len, value_len;
};

static bool next_field(const char **p, const char *end, struct form_field *f)
{
	const char *amp, *field_end, *eq;

	if (*p >= end)
		return false;
	amp = memchr(*p, '&', (size_t)(end - *p));
	field_end = amp != NULL ? amp : end;
	eq = memchr(*p, '=', (size_t)(field_end - *p));
	f->key = *p;
	f->key_len = (size_t)((eq != NULL ? eq : field_end) - *p);
	f->value = eq != NULL ? eq + 1 : field_end;
	f->value_len = (size_t)(field_end - f->value);
	*p = field_end + 1;
	return true;
}

static bool is_key(const struct form_field *f, const char *name)
{
	return strlen(name) == f->key_len && strncmp(f->key, name, f->key_len) == 0;
}

int http_form_get(const char *form, size_t len, const char *name, char **out)
{
	const char *p = form;
	struct form_field f;

	*out = NULL;
	while (next_field(&p, form + len, &f))
		if (is_key(&f, name))
			return form_decode(f.value, f.value_len, out) == 0 ? 1 : -1;
	return 0;
}

int http_form_count(const char *form, size_t len, const char *name)
{
	const char *p = form;
	struct form_field f;
	int count = 0;

	while (next_field(&p, form + len, &f))
		count += is_key(&f, name);
	return count;
}

int http_query_get(const struct http_req *req, const char *name, char **out)
{
	return http_form_get(req->query, strlen(req->query), name, out);
}

enum http_form_check http_form_check(const char *form, size_t len, const char *const *allowed,
                                     const char **key, size_t *key_len)
{
	const char *p = form;
	struct form_field f;
	unsigned seen = 0;

	while (next_field(&p, form + len, &f)) {
		int known = -1;

		if (f.key_len == 0 && f.key == f.value + f.value_len) /* "a=1&&b=2" or a trailing '&' */
			continue;
		*key = f.key;
		*key_len = f.key_len;
		for (unsigned i = 0; allowed[i] != NULL && i < 32; i++)
			if (is_key(&f, allowed[i]))
				known = (int)i;
		if (known < 0)
			return HTTP_FORM_UNKNOWN;
		if (seen & (1u << known))
			return HTTP_FORM_TWICE;
		seen |= 1u << known;
	}
	return HTTP_FORM_OK;
}

bool http_form_has_unknown(const char *form, size_t len, const char *const *allowed)
{
	const char *key;
	size_t key_len;

	return http_form_check(form, len, allowed, &key, &key_len) != HTTP_FORM_OK;
}

char *http_urlencode_new(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

bool http_req_is_content_type(const struct http_req *req, const char *type)
{
	size_t n = strlen(type);
	const char *ct = req->content_type;

	if (strncasecmp(ct, type, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

void http_resp_init(struct http_resp *resp)
{
	resp->status = 0;
	buf_init(&resp->headers, 16 * 1024);
	buf_init(&resp->body, HTTP_RESP_BODY_MAX);
}

void http_resp_cleanup(struct http_resp *resp)
{
	buf_wipe_cleanup(&resp->headers);
	buf_wipe_cleanup(&resp->body);
}

static bool is_header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int http_resp_header(struct http_resp *resp, const char *name, const char *value)
{
	if (!is_header_safe(name) || !is_header_safe(value) || strchr(name, ':') != NULL)
		return -1;
	return buf_printf(&resp->headers, "%s: %s\r\n", name, value);
}

int http_resp_json(struct http_resp *resp, int status, const cJSON *body)
{
	char *text = cJSON_PrintUnformatted(body);
	int rc = -1;

	buf_reset(&resp->body);
	if (text != NULL && buf_puts(&resp->body, text) == 0) {
		resp->status = status;
		rc = 0;
	}
	cJSON_free(text);
	return rc;
}

int http_resp_error(struct http_resp *resp, int status, const char *code, const char *detail)
{
	cJSON *body = cJSON_CreateObject();
	int rc = -1;

	if (body != NULL && cJSON_AddStringToObject(body, "error", code) != NULL &&
	    cJSON_AddStringToObject(body, "detail", detail) != NULL)
		rc = http_resp_json(resp, status, body);
	cJSON_Delete(body);
	if (status == 401)
		http_resp_header(resp, "WWW-Authenticate", "Bearer");
	if (rc == -1)
		resp->status = status;
	return rc;
}

void http_resp_empty(struct http_resp *resp, int status)
{
	buf_reset(&resp->body);
	resp->status = status;
}

int http_resp_redirect(struct http_resp *resp, const char *location)
{
	http_resp_empty(resp, 302);
	return http_resp_header(resp, "Location", location);
}

int http_resp_cookie(struct http_resp *resp, const char *name, const char *value, long max_age,
                     unsigned flags)
{
	char line[8192];
	int n;

	n = snprintf(line, sizeof line, "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%ld%s", name,
	             value, max_age, (flags & HTTP_COOKIE_SECURE) ? "; Secure" : "");
	if (n < 0 || (size_t)n >= sizeof line)
		return -1;
	n = http_resp_header(resp, "Set-Cookie", line);
	util_wipe(line, sizeof line);
	return n;
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

/* True when a handler set the named header itself (names compared without case). */
static bool resp_has_header(const struct http_resp *resp, const char *name)
{
	size_t n = strlen(name);

	for (const char *line = resp->headers.data; line != NULL && *line != '\0';) {
		if (strncasecmp(line, name, n) == 0 && line[n] == ':')
			return true;
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return false;
}

int http_resp_serialize(const struct http_resp *resp, struct buf *out)
{
	int rc = 0;

	rc |= buf_printf(out, "Status: %d %s\r\n", resp->status, http_status_text(resp->status));
	/* Every route here is auth-related: nothing may be cached anywhere. */
	rc |= buf_puts(out, "Cache-Control: no-store\r\n");
	/* JSON unless the handler said otherwise (the metrics text). */
	if (resp->body.len > 0 && !resp_has_header(resp, "Content-Type"))
		rc |= buf_puts(out, "Content-Type: application/json; charset=utf-8\r\n");
	if (resp->headers.len > 0)
		rc |= buf_append(out, resp->headers.data, resp->headers.len);
	rc |= buf_puts(out, "\r\n");
	if (resp->body.len > 0)
		rc |= buf_append(out, resp->body.data, resp->body.len);
	return rc == 0 ? 0 : -1;
}

/* ---- origins ---------------------------------------------------------------- */

/*
 * A host as a browser serialises it: a bracketed IPv6 literal, or a name or
 * address with no ':', '[' or ']' (so "127.0.0.1:8080:80" is no host with
 * port 80, it is no origin at all).
 */
static bool is_plain_host(const char *host, size_t n)
{
	if (host[0] == '[')
		return n > 2 && host[n - 1] == ']' && memchr(host + 1, '[', n - 1) == NULL &&
		       memchr(host, ']', n - 1) == NULL;
	for (size_t i = 0; i < n; i++)
		if (host[i] == ':' || host[i] == '[' || host[i] == ']')
			return false;
	return true;
}

bool http_origin_parse(const char *url, bool whole_url, char out[HTTP_ORIGIN_MAX])
{
	const char *host, *port = NULL;
	size_t alen, hlen;
	bool https;
	int n;

	if (strncasecmp(url, "https://", 8) == 0) {
		https = true;
		host = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		https = false;
		host = url + 7;
	} else {
		return false;
	}
	alen = strcspn(host, "/?#");
	if (alen == 0 || alen >= HTTP_ORIGIN_MAX - 16 || (!whole_url && host[alen] != '\0') ||
	    memchr(host, '@', alen) != NULL)
		return false;
	hlen = alen;
	/* The port follows the last ':' that is not inside an IPv6 literal. */
	for (size_t i = alen; i > 0; i--) {
		if (host[i - 1] == ']')
			break;
		if (host[i - 1] == ':') {
			hlen = i - 1;
			port = host + i;
			break;
		}
	}
	if (port != NULL) {
		size_t plen = alen - hlen - 1;
		if (plen == 0 || strspn(port, "0123456789") < plen)
			return false;
		if ((https && plen == 3 && strncmp(port, "443", 3) == 0) ||
		    (!https && plen == 2 && strncmp(port, "80", 2) == 0))
			port = NULL;
	}
	if (hlen == 0 || !is_plain_host(host, hlen))
		return false;
	n = snprintf(out, HTTP_ORIGIN_MAX, "%s://%.*s%s%.*s", https ? "https" : "http", (int)hlen, host,
	             port ? ":" : "", port ? (int)(alen - hlen - 1) : 0, port ? port : "");
	if (n < 0 || n >= HTTP_ORIGIN_MAX)
		return false;
	for (char *p = out; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return true;
}

bool http_req_from_origin(const struct http_req *req, const char *origin)
{
	const char *o = http_req_header(req, "Origin");
	const char *referer = http_req_header(req, "Referer");
	char want[HTTP_ORIGIN_MAX], got[HTTP_ORIGIN_MAX];

	if (!http_origin_parse(origin, false, want))
		return false;
	/* An Origin that is present decides, even "null": the Referer is only a fallback. */
	if (o != NULL)
		return http_origin_parse(o, false, got) && strcmp(got, want) == 0;
	if (referer != NULL)
		return http_origin_parse(referer, true, got) && strcmp(got, want) == 0;
	return false;
}

/* ---- JSON bodies and errors ---------------------------------------------------------------- */

cJSON *http_req_json_object(const struct http_req *req, struct http_resp *resp)
{
	enum json_error err;
	cJSON *body = json_parse(req->body.data, req->body.len, &err);

	if (body == NULL) {
		http_resp_error(resp, 400, "invalid_request", json_error_detail(err));
		return NULL;
	}
	if (!cJSON_IsObject(body) || json_has_duplicate_keys(body)) {
		http_resp_error(resp, 400, "invalid_request",
		                "The body must be a JSON object without repeated keys.");
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

void http_resp_field_error(struct http_resp *resp, int status, const char *code,
                           const char *detail, const char *field)
{
	cJSON *body = cJSON_CreateObject();

	if (field == NULL || body == NULL || cJSON_AddStringToObject(body, "error", code) == NULL ||
	    cJSON_AddStringToObject(body, "detail", detail) == NULL ||
	    cJSON_AddStringToObject(body, "field", field) == NULL)
		http_resp_error(resp, status, code, detail);
	else if (http_resp_json(resp, status, body) == -1)
		http_resp_error(resp, 500, "internal_error", "The response could not be built.");
	cJSON_Delete(body);
}

/* True when the parameters from p to end say q=0: "not acceptable" (RFC 9110, 12.4.2). */
static bool quality_is_zero(const char *p, const char *end)
{
	while (p < end && (p = memchr(p, ';', (size_t)(end - p))) != NULL) {
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || (*p != 'q' && *p != 'Q') || p[1] != '=')
			continue;
		p += 2;
		if (p >= end || *p++ != '0')
			return false;
		if (p < end && *p == '.')
			while (++p < end && *p == '0')
				;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		return p == end || *p == ';';
	}
	return false;
}

/*
 * The type itself must be listed, case-insensitively, and not with q=0:
 * "application/json-patch+json" is another type, and the wildcards browsers
 * send accept anything without asking for this one.
 */
bool http_req_accepts(const struct http_req *req, const char *type)
{
	const char *p = http_req_header(req, "Accept");
	size_t n = strlen(type);

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ',');
		const char *rest;

		if (end == NULL)
			end = p + strlen(p);
		while (*p == ' ' || *p == '\t')
			p++;
		if ((size_t)(end - p) >= n && strncasecmp(p, type, n) == 0) {
			rest = p + n;
			while (*rest == ' ' || *rest == '\t')
				rest++;
			if ((rest == end || *rest == ';') && !quality_is_zero(rest, end))
				return true;
		}
		p = *end == ',' ? end + 1 : end;
	}
	return false;
}

int http_resp_redirect_to(struct http_resp *resp, const char *base, const char *path)
{
	char *location = NULL;
	int rc = -1;

	if (asprintf(&location, "%s%s", base, path) >= 0) {
		rc = http_resp_redirect(resp, location);
		free(location);
	}
	return rc;
}
