/*
 * discord_sign_in — the two halves of a Discord callback once its state was
 * checked (API.md "GET /api/auth/discord/callback"): who the Discord user
 * is (and, with a server gate, their membership), and what that changes in
 * our accounts (the user signed in or linked, their role, the session or a
 * second step, the members row). Owns no table: it orders lib/discord,
 * lib/guild, lib/oauth, lib/mfa and lib/auth_events.
 */
#ifndef FAROUT_DISCORD_SIGN_IN_H
#define FAROUT_DISCORD_SIGN_IN_H

#include <stdbool.h>

#include "app.h"
#include "discord.h"
#include "http.h"
#include "oauth.h"
#include "users.h"

/*
 * Exchanges code (with its PKCE code_verifier) for an access token, reads
 * the user into *du and, with a server gate, their membership into *member
 * (caller cleans both up). The token is used and wiped, kept nowhere.
 */
enum oauth_result discord_sign_in_identify(struct discord_client *, const struct config *,
                                           const char *code, const char *code_verifier,
                                           struct discord_user *du,
                                           struct discord_member *member);

/*
 * A sign-in (pending->link_user_id NULL) or a link of du: the user row into
 * *u, the role from member, then either a second step (*mfa, TOTP on, no
 * session) or the session (*session) committed with its audit row; then the
 * members row (derived data: a failure there is only logged). *session and
 * *mfa: caller frees with util_free_secret. OAUTH_OK or why not (nothing
 * written then, the transaction rolled back).
 */
enum oauth_result discord_sign_in_accounts(struct app *, const struct http_req *,
                                           const struct oauth_pending *pending,
                                           const struct discord_user *du,
                                           const struct discord_member *member, struct user *u,
                                           char **session, char **mfa);

/*
 * A callback that failed with r: the error body for a JSON caller (json),
 * else a redirect to PUBLIC_URL/login?error=CODE.
 */
void discord_sign_in_answer_failure(struct http_resp *, const struct config *, bool json,
                                    enum oauth_result r);

#endif
