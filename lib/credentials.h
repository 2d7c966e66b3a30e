/*
 * credentials — the request bodies that carry passwords (API.md "POST
 * /api/auth/login" and "/password"), read into structs that own wiped-on-
 * cleanup copies. Fields other than the ones named are ignored; a named field
 * given twice is refused. A NUL byte in a name or password (JSON \u0000,
 * form %00) is refused as malformed (400), so it can never cut a password
 * short. Owns no table.
 */
#ifndef FAROUT_CREDENTIALS_H
#define FAROUT_CREDENTIALS_H

#include <stdbool.h>

#include "http.h"

struct credentials {
	char *username;
	char *password;
};

/*
 * The login body, JSON or x-www-form-urlencoded: 0, or -1 with a 400 (500)
 * in resp. c needs credentials_cleanup either way.
 */
int credentials_read(const struct http_req *, struct credentials *c, struct http_resp *);
void credentials_cleanup(struct credentials *);

struct password_change {
	char *current; /* NULL when not given */
	char *next;
};

/*
 * The password-change JSON body; current_password is required when
 * has_password. 0, or -1 with a 400 (500) in resp; p needs
 * password_change_cleanup either way.
 */
int password_change_read(const struct http_req *, bool has_password, struct password_change *p,
                         struct http_resp *);
void password_change_cleanup(struct password_change *);

#endif
