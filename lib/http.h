/*
 * http — the request as the web server hands it over (CGI/FastCGI
 * environment + body), and the response, built in memory and sent once.
 *
 * A request owns copies of everything it points to; http_req_cleanup frees
 * them, so nothing outlives one pass of the accept loop. Handlers read the
 * request and fill the response; they never touch stdout or the environment.
 *
 * Owns no table.
 */
#ifndef FAROUT_HTTP_H
#define FAROUT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"

#define HTTP_BODY_MAX (64 * 1024)
#define HTTP_RESP_BODY_MAX (4 * 1024 * 1024) /* a larger answer is a 500 */

struct http_req {
	char **env;         /* "NAME=value" copies, NULL-terminated */
	const char *method; /* the strings below point into env; never NULL */
	const char *path;   /* without the query string */
	const char *query;
	const char *content_type;
	const char *remote_addr;
	const char *request_id;
	long content_length; /* -1 when the server sent none */
	struct buf body;
	const char *param; /* the {name} segment of the matched route, or NULL */
	char *path_owned; /* the path when it had to be cut from REQUEST_URI */
};

/* Copies envp. 0 on success, -1 when out of memory (the request is still safe to clean up). */
int http_req_init(struct http_req *, char *const *envp);
void http_req_cleanup(struct http_req *);

/* An environment value such as "REMOTE_ADDR", or NULL. */
const char *http_req_env(const struct http_req *, const char *name);
/* A request header by its HTTP name ("Origin" → HTTP_ORIGIN), or NULL. */
const char *http_req_header(const struct http_req *, const char *name);
/* The named cookie's value, newly allocated, or NULL when absent. */
char *http_req_cookie_dup(const struct http_req *, const char *name);

/*
 * Looks up name in an application/x-www-form-urlencoded string (a query
 * string or a form body) and percent-decodes it into *out (caller frees,
 * secrets with util_free_secret). Returns 1 when found, 0 when absent, -1
 * when the encoding is malformed or the value holds a NUL byte.
 */
int http_form_get(const char *form, size_t len, const char *name, char **out);
/* How many times name appears as a field of the form. */
int http_form_count(const char *form, size_t len, const char *name);
/* The same for the request's query string. */
int http_query_get(const struct http_req *, const char *name, char **out);
enum http_form_check {
	HTTP_FORM_OK,
	HTTP_FORM_UNKNOWN, /* a field not in the list (an empty name counts) */
	HTTP_FORM_TWICE,   /* a field of the list given twice */
};
/*
 * Walks the fields of a form or query against the NULL-terminated allowed
 * list (at most 32 names); empty fields ("a=1&&b=2") are skipped. On a
 * failure *key and *key_len point at the first offending name in form.
 */
enum http_form_check http_form_check(const char *form, size_t len, const char *const *allowed,
                                     const char **key, size_t *key_len);
/* True when the form or query holds any field not in the allowed list, or one twice. */
bool http_form_has_unknown(const char *form, size_t len, const char *const *allowed);

/* Percent-encodes s for a query string value; caller frees. */
char *http_urlencode_new(const char *s);

#define HTTP_ORIGIN_MAX 512
/*
 * The origin of an http(s) URL into out, normalised: lower case, no default
 * port. With whole_url false only "scheme://authority" may be given (an
 * Origin header); otherwise anything after the authority is ignored (a
 * Referer). False for anything else, or userinfo.
 */
bool http_origin_parse(const char *url, bool whole_url, char out[HTTP_ORIGIN_MAX]);
/* The request's Origin (or, without one, its Referer) is origin ("scheme://host[:port]"). */
bool http_req_from_origin(const struct http_req *, const char *origin);

/* True when the Accept header lists this media type by name (not through a wildcard), without q=0. */
bool http_req_accepts(const struct http_req *, const char *type);

/* True when the Content-Type is this media type (parameters ignored, case-insensitive). */
bool http_req_is_content_type(const struct http_req *, const char *type);

struct http_resp {
	int status; /* 0 until a handler answers */
	struct buf headers;
	struct buf body;
};

void http_resp_init(struct http_resp *);
void http_resp_cleanup(struct http_resp *);
/* Adds a header; refuses (-1) names or values with CR, LF or other controls. */
int http_resp_header(struct http_resp *, const char *name, const char *value);
/* Status + JSON body. */
int http_resp_json(struct http_resp *, int status, const cJSON *body);
/* The contract's error body {"error","detail"}; 401 also gets WWW-Authenticate. */
int http_resp_error(struct http_resp *, int status, const char *code, const char *detail);
/*
 * The request body parsed as a JSON object without repeated keys (caller
 * cJSON_Deletes), or NULL with a 400 invalid_request already in resp.
 */
cJSON *http_req_json_object(const struct http_req *, struct http_resp *);

/* The error body with "field" naming the field it is about (field NULL: the plain error body). */
void http_resp_field_error(struct http_resp *, int status, const char *code, const char *detail,
                           const char *field);
/* Status with an empty body (204, or a redirect after http_resp_header Location). */
void http_resp_empty(struct http_resp *, int status);
int http_resp_redirect(struct http_resp *, const char *location);
/* A redirect to base + path (base: PUBLIC_URL, without a trailing slash). */
int http_resp_redirect_to(struct http_resp *, const char *base, const char *path);

enum {
	HTTP_COOKIE_SECURE = 1 << 0,
};
/* Set-Cookie: name=value; Path=/; HttpOnly; SameSite=Lax; Max-Age=max_age[; Secure]. */
int http_resp_cookie(struct http_resp *, const char *name, const char *value, long max_age,
                     unsigned flags);

/* The CGI/FastCGI response text: Status line, headers, blank line, body. */
int http_resp_serialize(const struct http_resp *, struct buf *out);
const char *http_status_text(int status);

#endif
