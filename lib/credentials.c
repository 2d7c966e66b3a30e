#include "credentials.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

/* 0 when every field was copied out, else -1 with a 500 in resp. */
static int copied(bool ok, struct http_resp *resp)
{
	if (ok)
		return 0;
	http_resp_error(resp, 500, "internal_error", "Out of memory.");
	return -1;
}

void credentials_cleanup(struct credentials *c)
{
	util_free_secret(c->username);
	util_free_secret(c->password);
	memset(c, 0, sizeof *c);
}

static int credentials_from_json(const struct http_req *req, struct credentials *c,
                                 struct http_resp *resp)
{
	cJSON *body = http_req_json_object(req, resp);
	int rc = -1;

	if (body == NULL)
		return -1;
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, "username")) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, "password"))) {
		http_resp_error(resp, 400, "invalid_request", "username and password must be strings.");
		goto out;
	}
	c->username = json_take_string(body, "username");
	c->password = json_take_string(body, "password");
	rc = copied(c->username != NULL && c->password != NULL, resp);
out:
	cJSON_Delete(body);
	return rc;
}

static int credentials_from_form(const struct http_req *req, struct credentials *c,
                                 struct http_resp *resp)
{
	const char *form = req->body.data != NULL ? req->body.data : "";
	size_t len = req->body.len;

	if (http_form_count(form, len, "username") != 1 || http_form_count(form, len, "password") != 1) {
		http_resp_error(resp, 400, "invalid_request", "username and password are each required once.");
		return -1;
	}
	if (http_form_get(form, len, "username", &c->username) != 1 ||
	    http_form_get(form, len, "password", &c->password) != 1) {
		http_resp_error(resp, 400, "invalid_request", "The form body is malformed.");
		return -1;
	}
	/* The name goes to PostgreSQL as text; JSON bodies were checked by json_parse. */
	if (!util_is_utf8(c->username, strlen(c->username))) {
		http_resp_error(resp, 400, "invalid_request", "username is not valid UTF-8.");
		return -1;
	}
	return 0;
}

int credentials_read(const struct http_req *req, struct credentials *c,
                            struct http_resp *resp)
{
	memset(c, 0, sizeof *c);
	if (http_req_is_content_type(req, "application/json"))
		return credentials_from_json(req, c, resp);
	return credentials_from_form(req, c, resp);
}

void password_change_cleanup(struct password_change *p)
{
	util_free_secret(p->current);
	util_free_secret(p->next);
	memset(p, 0, sizeof *p);
}

int password_change_read(const struct http_req *req, bool has_password,
                                struct password_change *p, struct http_resp *resp)
{
	cJSON *body = http_req_json_object(req, resp), *current;
	int rc = -1;

	memset(p, 0, sizeof *p);
	if (body == NULL)
		return -1;
	current = cJSON_GetObjectItemCaseSensitive(body, "current_password");
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, "new_password"))) {
		http_resp_error(resp, 400, "invalid_request", "new_password must be a string.");
		goto out;
	}
	/* null is how a client says "I have no password yet". */
	if (current != NULL && !cJSON_IsString(current) && !cJSON_IsNull(current)) {
		http_resp_error(resp, 400, "invalid_request", "current_password must be a string.");
		goto out;
	}
	if (has_password && !cJSON_IsString(current)) {
		http_resp_error(resp, 400, "invalid_request", "current_password is required.");
		goto out;
	}
	p->next = json_take_string(body, "new_password");
	if (cJSON_IsString(current))
		p->current = json_take_string(body, "current_password");
	rc = copied(p->next != NULL && (!cJSON_IsString(current) || p->current != NULL), resp);
out:
	cJSON_Delete(body);
	return rc;
}
