/*
 * app — what one worker process holds for its whole life (the configuration
 * and one lazy connection per database), and the one answer every handler
 * gives when a database call fails. Owns no table.
 */
#ifndef FAROUT_APP_H
#define FAROUT_APP_H

#include "config.h"
#include "db.h"
#include "http.h"

struct app {
	const struct config *cfg;
	struct db auth_db; /* farout_auth */
	struct db app_db;  /* farout */
	void *program;     /* whatever a program's init() keeps per worker */
};

/*
 * The answer to a failed database call: DB_UNAVAILABLE is 503 unavailable
 * (the client may retry), anything else 500 internal_error. One wording
 * for every program.
 */
void app_answer_db_error(struct http_resp *, enum db_status);

#endif
