/*
 * login_totp — two-factor sign-in for password accounts (API.md "Two-factor
 * sign-in"), the second file of the login program: setup, enable, disable,
 * its state for the website, the second step of a sign-in, and the hooks
 * login.c calls after a right password.
 *
 * A "code" is either a TOTP code (6 digits) or a recovery code
 * ("abcd-efgh-ijkl", case, dashes and spaces ignored); either is used up by
 * the request that accepts it. Wrong codes count towards the account's
 * login throttle like wrong passwords. Each change commits with its audit
 * row (API.md "Audit log"): totp_enable, totp_disable, the sign-in it
 * finishes (login or discord_login), and every refused code (outcome
 * invalid_code), never the code itself. Without TOTP_KEY every route here
 * answers 503, and a user who has TOTP on cannot sign in by password.
 */
#include "auth.h"
#include "log.h"
#include "login.h"
#include "totp.h"
#include "totp_flow.h"

static bool totp_available(const struct app *app, struct http_resp *resp)
{
	if (app->cfg->totp_key != NULL)
		return true;
	http_resp_error(resp, 503, "unavailable",
	                "Two-factor sign-in is not configured on this server (TOTP_KEY).");
	return false;
}

int login_totp_init(struct app *app)
{
	(void)app;
	if (totp_init() == -1) {
		log_error("liboath could not be initialised");
		return -1;
	}
	return 0;
}

void handle_totp_status(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;

	if (!totp_available(app, resp) || !auth_require(app, req, resp, ROLE_MEMBER, 0, &ctx))
		return;
	totp_flow_status(app, &ctx.user, resp);
	auth_ctx_cleanup(&ctx);
}

void handle_totp_setup(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;

	if (!totp_available(app, resp) || !auth_require(app, req, resp, ROLE_MEMBER, 0, &ctx))
		return;
	totp_flow_setup(app, &ctx.user, resp);
	auth_ctx_cleanup(&ctx);
}

void handle_totp_enable(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;

	if (!totp_available(app, resp) || !auth_require(app, req, resp, ROLE_MEMBER, 0, &ctx))
		return;
	totp_flow_enable(app, req, &ctx.user, resp);
	auth_ctx_cleanup(&ctx);
}

void handle_totp_disable(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	struct auth_ctx ctx;

	if (!totp_available(app, resp) || !auth_require(app, req, resp, ROLE_MEMBER, 0, &ctx))
		return;
	totp_flow_disable(app, req, &ctx.user, resp);
	auth_ctx_cleanup(&ctx);
}

void handle_login_totp(struct app *app, const struct http_req *req, struct http_resp *resp)
{
	if (totp_available(app, resp))
		totp_flow_login(app, req, resp);
}
