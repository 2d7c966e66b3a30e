#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

void audit_from_req(struct audit_event *ev, const struct http_req *req)
{
	/* An empty value means the server sent none: stored as NULL. */
	ev->ip = req->remote_addr != NULL && req->remote_addr[0] != '\0' ? req->remote_addr : NULL;
	ev->request_id =
	    req->request_id != NULL && req->request_id[0] != '\0' ? req->request_id : NULL;
}

const char *audit_clip(const char *s, char *out, size_t max)
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = strnlen(s, max + 1);
	if (n > max) {
		n = max;
		/* Back off continuation bytes so a multi-byte character is dropped whole. */
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

enum db_status audit_record(struct db *auth_db, const struct audit_event *ev)
{
	char target[AUDIT_TARGET_MAX + 1], ip[AUDIT_ADDR_MAX + 1], request_id[AUDIT_ADDR_MAX + 1];
	char *detail = NULL;
	const char *params[7];
	enum db_status st = DB_ERROR;

	if (ev->event == NULL || ev->outcome == NULL)
		goto out;
	if (ev->detail != NULL && (detail = cJSON_PrintUnformatted(ev->detail)) == NULL)
		goto out;
	params[0] = ev->event;
	params[1] = ev->outcome;
	params[2] = ev->actor_user_id;
	params[3] = audit_clip(ev->target, target, AUDIT_TARGET_MAX);
	params[4] = audit_clip(ev->ip, ip, AUDIT_ADDR_MAX);
	params[5] = audit_clip(ev->request_id, request_id, AUDIT_ADDR_MAX);
	params[6] = detail != NULL ? detail : "{}";
	st = db_run(auth_db,
	            "INSERT INTO audit_events"
	            " (event, outcome, actor_user_id, target, ip, request_id, detail)"
	            " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
	            7, params);
out:
	if (st != DB_OK)
		log_error("audit event %s could not be recorded", ev->event ? ev->event : "?");
	cJSON_free(detail);
	return st;
}
