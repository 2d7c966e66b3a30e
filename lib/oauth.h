/*
 * oauth — the Discord sign-in flow around the HTTP calls of lib/discord:
 * state, PKCE, the `next` rules, and what a sign-in writes (the user in
 * farout_auth, the member in farout). API.md "GET /api/auth/discord/login"
 * and ".../callback" are the contract.
 *
 * A flow is a row of farout_auth.oauth_states, keyed by the SHA-256 of the
 * state and bound to the browser by the SHA-256 of a random value kept in
 * the short-lived farout_oauth cookie. The state also carries an HMAC
 * (a key derived from JWT_SECRET), so a forged one is refused before any
 * query. The callback deletes the row as it reads it: a state works once,
 * on whichever host sees it first. The PKCE verifier lives only in that row
 * and in the token exchange.
 *
 * Where API.md leaves room, this module decides:
 * - usernames and emails are compared without case when deciding whether a
 *   Discord user may take them ("Admin" is taken when "admin" exists);
 * - the email rule (verified and unused) is the same for sign-in, refresh
 *   and linking; an account with a password keeps its email (a sign-in
 *   name), which Discord fills only while it is empty;
 * - a new user's name is never any user's email (nor holds '@': lib/names);
 * - linking needs a user who may use the site (active, no pending password
 *   change: 403 password_change_required, API.md's gate); a user already
 *   linked to another Discord account gets 409 discord_already_linked too,
 *   with its own detail, rather than having the link silently replaced.
 *
 * Owns the oauth_states table; the users and members rows a sign-in
 * writes go through users.c and oauth_member_upsert.
 *
 * Strings returned by *_new functions are the caller's to free; structs are
 * released by their _cleanup, which wipes what is secret.
 */
#ifndef FAROUT_OAUTH_H
#define FAROUT_OAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "db.h"
#include "discord.h"
#include "http.h"
#include "users.h"

#define OAUTH_STATE_TTL 600 /* seconds a flow may take, cookie and row alike */
#define OAUTH_COOKIE "farout_oauth"
#define OAUTH_COOKIE_PATH "/api/auth/discord"
#define OAUTH_NEXT_MAX 1024 /* longer `next` values fall back to "/" */
#define OAUTH_CODE_MAX 512  /* Discord's codes are 30 characters */
#define OAUTH_FLOWS_PER_ADDR 20 /* live flows one client address may hold (10 minutes each) */

enum oauth_result {
	OAUTH_OK,
	OAUTH_INVALID_REQUEST,
	OAUTH_INVALID_STATE,
	OAUTH_ACCESS_DENIED,
	OAUTH_INVALID_GRANT,
	OAUTH_NOT_AUTHENTICATED,
	OAUTH_ACCOUNT_DISABLED,
	OAUTH_PASSWORD_CHANGE_REQUIRED,
	OAUTH_ALREADY_LINKED,   /* the Discord account belongs to another user */
	OAUTH_HAS_OTHER_DISCORD, /* the user to link already has another Discord account */
	OAUTH_TOO_MANY_FLOWS,   /* this address already holds OAUTH_FLOWS_PER_ADDR live flows */
	OAUTH_DISCORD_UNAVAILABLE,
	OAUTH_NOT_GUILD_MEMBER, /* DISCORD_GUILD_ID is set and the user is not in that server */
	OAUTH_UNAVAILABLE,
	OAUTH_ERROR,
	OAUTH__MAX,
};

/* The answer for a result: HTTP status, API.md error code and a sentence. */
struct oauth_answer {
	int status;
	const char *code;
	const char *detail;
};
const struct oauth_answer *oauth_answer(enum oauth_result);
/* A call to Discord's outcome: OK, INVALID_GRANT, or DISCORD_UNAVAILABLE for anything else. */
enum oauth_result oauth_result_of_discord(enum discord_result);

/* ---- keys and state ------------------------------------------------------ */

#define OAUTH_KEY_LEN 32

struct oauth_keys {
	unsigned char current[OAUTH_KEY_LEN];  /* HMAC(JWT_SECRET, "farout oauth state v1") */
	unsigned char previous[OAUTH_KEY_LEN]; /* the same from JWT_SECRET_PREVIOUS */
	bool has_previous;
};

/* Derives the state keys from the configured secrets. 0 or -1. */
int oauth_keys_init(struct oauth_keys *, const struct config *);
void oauth_keys_cleanup(struct oauth_keys *);

/* "<43 random base64url>.<43 base64url HMAC>", newly allocated, or NULL. */
char *oauth_state_new(const struct oauth_keys *);
/* True when state has that shape and its MAC is right under either key. */
bool oauth_state_is_authentic(const struct oauth_keys *, const char *state);

/* ---- PKCE (RFC 7636, S256) ------------------------------------------------ */

/* 32 random bytes as base64url: 43 characters of the unreserved set. */
char *oauth_pkce_verifier_new(void);
/* base64url(SHA-256(verifier)), 43 characters. */
char *oauth_pkce_challenge_new(const char *verifier);

/* ---- next ----------------------------------------------------------------- */

/*
 * The decoded `next` parameter (NULL when absent) as a path on this site:
 * one leading "/", not "//" or "/\", no "\" or control character anywhere,
 * at most OAUTH_NEXT_MAX bytes; the fragment is dropped, the query kept, and
 * spaces, quotes, angle brackets and non-ASCII bytes are percent-encoded.
 * Anything else becomes "/". NULL only when out of memory.
 */
char *oauth_next_path_new(const char *next);

/* ---- the flow --------------------------------------------------------------- */

struct oauth_flow {
	char *state;     /* goes to Discord and comes back */
	char *binding;   /* the farout_oauth cookie's value (a secret) */
	char *challenge; /* PKCE challenge for the authorize URL */
};

/* Who starts a flow: the client address, and for link=1 the session (else both NULL). */
struct oauth_starter {
	const char *addr;         /* REMOTE_ADDR */
	const char *link_user_id; /* the signed-in user, when linking */
	const char *link_jti;     /* that user's session: the flow lives only as long as it */
};

/*
 * Starts a flow: new state, binding and verifier, stored with next_path
 * (already safe) and who started it. Also removes expired flows. OAUTH_OK;
 * OAUTH_TOO_MANY_FLOWS with *retry_after (seconds, >= 1) when the address
 * already holds OAUTH_FLOWS_PER_ADDR live flows; OAUTH_UNAVAILABLE or
 * OAUTH_ERROR.
 */
enum oauth_result oauth_flow_begin(struct db *auth_db, const struct oauth_keys *,
                                   const char *next_path, const struct oauth_starter *,
                                   struct oauth_flow *, long *retry_after);
void oauth_flow_cleanup(struct oauth_flow *);

/*
 * The authorize URL with every parameter of API.md, newly allocated; the
 * scope adds guilds.members.read when DISCORD_GUILD_ID is set.
 */
char *oauth_authorize_url_new(const struct config *, const char *state, const char *challenge);

struct oauth_pending {
	char *code_verifier; /* a secret */
	char *next_path;
	char *link_user_id; /* NULL for a sign-in */
	char *link_jti;     /* the session that started a link (NULL for a sign-in) */
};

/*
 * Consumes the flow that state names, if binding (the cookie; NULL when
 * absent) is the one it was started with and it has not expired.
 * OAUTH_INVALID_STATE for any failure of the state (logged with the reason),
 * OAUTH_UNAVAILABLE / OAUTH_ERROR for the database.
 */
enum oauth_result oauth_flow_consume(struct db *auth_db, const struct oauth_keys *,
                                     const char *state, const char *binding,
                                     struct oauth_pending *);
void oauth_pending_cleanup(struct oauth_pending *);

/*
 * Deletes flows expired for over a day (farout-admin prune; a new flow
 * already removes the expired ones): at most batch rows, all when NULL.
 */
enum db_status oauth_states_prune(struct db *auth_db, const char *batch, long *deleted);

/* Set-Cookie for the flow's binding, or (value NULL) the one that clears it. */
int oauth_cookie_set(struct http_resp *, const struct config *, const char *value);

/* ---- what a sign-in writes --------------------------------------------------- */

/*
 * Sign-in as the Discord user (API.md step 4): the user with this
 * discord_id, refreshed, or a new member-role user with an unused name.
 * Never an existing account found by name or email. On OAUTH_OK *u is the
 * row as stored. OAUTH_ACCOUNT_DISABLED, OAUTH_UNAVAILABLE, OAUTH_ERROR.
 */
enum oauth_result oauth_user_sign_in(struct db *auth_db, const struct discord_user *,
                                     struct user *u);

/*
 * link=1: gives user_id the Discord account, provided the session jti that
 * started the flow is still live (checked in the same UPDATE).
 * OAUTH_ALREADY_LINKED when another user has it, OAUTH_HAS_OTHER_DISCORD
 * when user_id has another one, OAUTH_NOT_AUTHENTICATED when the user is
 * gone or that session was revoked or expired, OAUTH_ACCOUNT_DISABLED,
 * OAUTH_PASSWORD_CHANGE_REQUIRED, OAUTH_UNAVAILABLE, OAUTH_ERROR. Runs in
 * the caller's open transaction (a savepoint lets it retry a lost race).
 */
enum oauth_result oauth_user_link(struct db *auth_db, const char *user_id, const char *jti,
                                  const struct discord_user *, struct user *u);

/*
 * Username candidates for a new Discord user, in the order they are tried:
 * attempt 0 is the name itself, then name_<last 4 digits of the id>, _<last
 * 6>, … _<the whole id>, then name_<id>_2, _3, …; NULL past the last one.
 */
char *oauth_username_candidate_new(const char *name, const char *discord_id, unsigned attempt);

/* API.md step 5's avatar_url for the user. */
char *oauth_avatar_url_new(const struct discord_user *);

/*
 * The member row (API.md step 5). nick (the server nickname, NULL when none
 * or no server gate) is the display_name of a new row when it is a valid one.
 * 0, or -1 after logging why; a failure never stops a sign-in.
 */
int oauth_member_upsert(struct db *app_db, const struct discord_user *, const char *nick);

#endif
