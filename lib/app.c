#include "app.h"

void app_answer_db_error(struct http_resp *resp, enum db_status st)
{
	if (st == DB_UNAVAILABLE)
		http_resp_error(resp, 503, "unavailable",
		                "A database is unavailable right now; try again shortly.");
	else
		http_resp_error(resp, 500, "internal_error", "The request could not be completed.");
}
