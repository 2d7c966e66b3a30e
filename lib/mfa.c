#include "mfa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "totp_store.h"
#include "util.h"

enum db_status mfa_begin(struct app *app, const struct user *u, const char *method, char **token)
{
	bool on = false;
	enum db_status st;

	*token = NULL;
	st = totp_store_is_enabled(&app->auth_db, u->id, &on);
	if (st != DB_OK || !on)
		return st;
	if (app->cfg->totp_key == NULL) {
		log_error("sign-in refused: user %s has two-factor sign-in on but TOTP_KEY is not set",
		          u->id);
		return DB_UNAVAILABLE;
	}
	return totp_store_mfa_begin(&app->auth_db, u->id, method, token);
}

int mfa_answer_json(struct http_resp *resp, const char *token)
{
	cJSON *body = cJSON_CreateObject(), *t;
	int rc = -1;

	if (body != NULL && cJSON_AddBoolToObject(body, "mfa_required", true) != NULL &&
	    cJSON_AddStringToObject(body, "mfa_token", token) != NULL &&
	    http_resp_json(resp, 200, body) == 0)
		rc = 0;
	else
		http_resp_error(resp, 500, "internal_error", "The answer could not be built.");
	/* The body holds the token; cJSON frees without wiping. */
	t = cJSON_GetObjectItemCaseSensitive(body, "mfa_token");
	if (cJSON_IsString(t))
		util_wipe(t->valuestring, strlen(t->valuestring));
	cJSON_Delete(body);
	return rc;
}

int mfa_answer_redirect(struct http_resp *resp, const char *public_url, const char *token,
                        const char *next)
{
	char *enc = http_urlencode_new(next), *path = NULL;
	int rc = -1;

	if (enc != NULL && asprintf(&path, "/login#mfa_token=%s&next=%s", token, enc) >= 0) {
		rc = http_resp_redirect_to(resp, public_url, path);
		util_free_secret(path);
	}
	free(enc);
	return rc;
}
