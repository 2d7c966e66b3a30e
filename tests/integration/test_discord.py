"""Discord sign-in through nginx: GET /api/auth/discord/login and
/api/auth/discord/callback (program oauth-callback) against the fake Discord.

A "browser" is a requests.Session (it keeps the farout_oauth cookie); every
request is made with allow_redirects=False so each hop is checked. The
authorize hop goes to the fake, which answers at once as if the user had
clicked Authorize.
"""

import base64
import functools
import hashlib
import threading
import time
import urllib.parse

import jwt
import pytest
import requests

import helpers
from harness import ADMIN_PASSWORD, ADMIN_USERNAME
from helpers import SIGN_IN_KEYS

TIMEOUT = 15
NEW_PASSWORD = "Farout-Operator-Passphrase-77"
NELLY_ID = "80351110224678912"  # the fake's default user (Discord's documentation example)
NELLY_AVATAR = "8342729096ea3675442027381ff50dfe"
CDN = "https://cdn.discordapp.com"
JSON = {"Accept": "application/json"}


# ---- helpers -------------------------------------------------------------------


# Every error of the Discord routes is exactly {"error", "detail"}, never cached.
assert_error = functools.partial(helpers.assert_error, exact=True, no_store=True)


def set_cookies(r):
    """The Set-Cookie lines of one response, raw."""
    return r.raw.headers.getlist("Set-Cookie")


def cookie_line(r, name):
    lines = [c for c in set_cookies(r) if c.startswith(name + "=")]
    assert len(lines) == 1, set_cookies(r)
    return lines[0]


def cookie_attrs(line):
    parts = [p.strip() for p in line.split(";")]
    attrs = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.lower()] = v
    return parts[0].split("=", 1)[1], attrs


def assert_oauth_cookie_cleared(r):
    value, attrs = cookie_attrs(cookie_line(r, "farout_oauth"))
    assert value == ""
    assert attrs["max-age"] == "0"
    assert attrs["path"] == "/api/auth/discord"


def query_of(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))


def s256(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def begin(stack, browser, next=None, link=None, headers=None, raw_query=None):
    """GET /api/auth/discord/login; returns the response."""
    url = stack.url("/api/auth/discord/login")
    if raw_query is not None:
        url += "?" + raw_query
        params = None
    else:
        params = {}
        if next is not None:
            params["next"] = next
        if link is not None:
            params["link"] = link
    return browser.get(url, params=params, headers=headers, allow_redirects=False, timeout=TIMEOUT)


def authorize(login_response):
    """Follows the 302 to the fake's authorize page; returns the callback URL it sends back."""
    assert login_response.status_code == 302, login_response.text
    r = requests.get(login_response.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302, r.text
    return r.headers["Location"]


def finish(browser, callback_url, json=True):
    return browser.get(callback_url, headers=JSON if json else None, allow_redirects=False,
                       timeout=TIMEOUT)


def sign_in(stack, browser=None, json=True, next=None, user=None):
    """The whole flow for the fake's current user (or `user`, merged over its default)."""
    if user is not None:
        stack.fake.set_user(user)
    browser = browser or requests.Session()
    return finish(browser, authorize(begin(stack, browser, next=next)), json)


def user_row(stack, where, *params):
    rows = stack.sql("auth", "SELECT row_to_json(u) FROM users u WHERE " + where, params)
    return rows[0][0] if rows else None


def member_row(stack, discord_id):
    rows = stack.sql("app", "SELECT row_to_json(m) FROM members m WHERE discord_id = %s",
                     (discord_id,))
    return rows[0][0] if rows else None


def admin_ready(stack):
    """The seeded admin after its forced password change (POST /api/auth/password, as the
    website does it); returns a browser holding the new session cookie."""
    browser = requests.Session()
    r = browser.post(stack.url("/api/auth/login"),
                     json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    r = browser.post(stack.url("/api/auth/password"),
                     json={"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD},
                     headers={"Origin": stack.public_url}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json()["must_change_password"] is False
    assert browser.cookies.get("farout_session") == r.json()["access_token"]
    return browser


def expect_failure(stack, callback_url, browser, status, code):
    """The same failure in JSON mode and (with a fresh flow where needed) redirect mode."""
    r = finish(browser, callback_url, json=True)
    assert_error(r, status, code)
    assert_oauth_cookie_cleared(r)
    return r


# ---- the login route ------------------------------------------------------------------


def test_login_redirects_to_discord_with_state_and_pkce(clean):
    stack = clean
    browser = requests.Session()
    r = begin(stack, browser, next="/members?tab=1")
    assert r.status_code == 302
    assert r.headers["Cache-Control"] == "no-store"
    assert r.content == b""
    location = r.headers["Location"]
    assert location.startswith(stack.fake.authorize_url + "?")
    q = query_of(location)
    assert set(q) == {"response_type", "client_id", "scope", "redirect_uri", "state",
                      "code_challenge", "code_challenge_method"}
    assert q["response_type"] == "code"
    assert q["client_id"] == stack.fake.client_id
    assert q["scope"] == "identify email"
    assert q["redirect_uri"] == stack.public_url + "/api/auth/discord/callback"
    assert q["code_challenge_method"] == "S256"
    assert len(q["code_challenge"]) == 43
    assert len(q["state"]) >= 43  # ≥ 128 random bits, base64url

    value, attrs = cookie_attrs(cookie_line(r, "farout_oauth"))
    assert len(value) >= 43
    assert attrs["path"] == "/api/auth/discord"
    assert attrs["max-age"] == "600"
    assert attrs["samesite"] == "Lax"
    assert "httponly" in attrs
    assert "secure" not in attrs  # PUBLIC_URL is http here

    # Stored as hashes only: the row holds neither the state nor the cookie value.
    rows = stack.sql("auth", "SELECT state_hash, browser_hash, code_verifier, next_path, "
                             "link_user_id, expires_at - created_at FROM oauth_states")
    assert len(rows) == 1
    state_hash, browser_hash, verifier, next_path, link_user_id, ttl = rows[0]
    assert state_hash == hashlib.sha256(q["state"].encode()).hexdigest()
    assert browser_hash == hashlib.sha256(value.encode()).hexdigest()
    assert q["state"] not in str(rows) and value not in str(rows)
    assert 43 <= len(verifier) <= 128
    assert s256(verifier) == q["code_challenge"]
    assert verifier not in location and verifier not in str(r.headers)
    assert next_path == "/members?tab=1"
    assert link_user_id is None
    assert ttl.total_seconds() == 600


def test_each_login_gets_fresh_state_and_verifier(clean):
    a = begin(clean, requests.Session())
    b = begin(clean, requests.Session())
    qa, qb = query_of(a.headers["Location"]), query_of(b.headers["Location"])
    assert qa["state"] != qb["state"]
    assert qa["code_challenge"] != qb["code_challenge"]
    assert a.cookies["farout_oauth"] != b.cookies["farout_oauth"]


def test_login_rejects_a_bad_link_value(clean):
    assert_error(begin(clean, requests.Session(), link="yes"), 400, "invalid_request")


def test_unconfigured_discord_is_503(stack):
    stack.restart_program("oauth-callback",
                          extra_env={"DISCORD_CLIENT_ID": None, "DISCORD_CLIENT_SECRET": None})
    try:
        browser = requests.Session()
        assert_error(begin(stack, browser), 503, "unavailable")
        r = browser.get(stack.url("/api/auth/discord/callback?code=x&state=y"), headers=JSON,
                        allow_redirects=False, timeout=TIMEOUT)
        assert_error(r, 503, "unavailable")
    finally:
        stack.restart_program("oauth-callback")


# ---- sign-in ------------------------------------------------------------------------------


def test_new_user_json_mode(clean):
    stack = clean
    before = time.time()
    r = sign_in(stack)
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert set(body) == SIGN_IN_KEYS
    assert body["token_type"] == "bearer"
    assert body["must_change_password"] is False
    user = body["user"]
    assert user["username"] == "nelly"
    assert user["discord_id"] == NELLY_ID
    assert user["discriminator"] == "0"
    assert user["avatar"] == NELLY_AVATAR
    assert user["email"] == "nelly@example.com"
    assert user["role"] == "member"
    assert user["must_change_password"] is False
    assert user["is_active"] is True
    assert user["last_login"] is not None
    assert "hashed_password" not in user

    claims = jwt.decode(body["access_token"], stack.env["JWT_SECRET"], algorithms=["HS256"],
                        issuer="farout")
    assert claims["sub"] == str(user["id"])
    assert claims["username"] == "nelly"
    assert claims["role"] == "member"
    assert claims["iat"] >= int(before) - 1

    session, attrs = cookie_attrs(cookie_line(r, "farout_session"))
    assert session == body["access_token"]
    assert attrs["path"] == "/"
    assert_oauth_cookie_cleared(r)

    row = user_row(stack, "discord_id = %s", NELLY_ID)
    assert row["hashed_password"] is None
    assert row["role"] == "member"
    assert row["must_change_password"] is False

    member = member_row(stack, NELLY_ID)
    assert member["display_name"] == "Nelly"  # global_name
    assert member["avatar_url"] == f"{CDN}/avatars/{NELLY_ID}/{NELLY_AVATAR}.png"
    assert member["rank"] == "member"
    assert stack.sql("auth", "SELECT count(*) FROM oauth_states") == [(0,)]


def test_without_a_server_gate_no_member_lookup_is_made(clean):
    # DISCORD_GUILD_ID is unset in the default stack: the three calls of the plain flow only.
    stack = clean
    assert sign_in(stack).status_code == 200
    assert [r["endpoint"] for r in stack.fake.requests()] == ["authorize", "token", "me"]
    assert stack.fake.requests("authorize")[0]["query"]["scope"] == "identify email"


def test_new_user_redirect_mode_goes_to_next(clean):
    stack = clean
    browser = requests.Session()
    r = sign_in(stack, browser, json=False, next="/members/me?tab=stats#top")
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == stack.public_url + "/members/me?tab=stats"
    assert b"access_token" not in r.content
    token, _ = cookie_attrs(cookie_line(r, "farout_session"))
    claims = jwt.decode(token, stack.env["JWT_SECRET"], algorithms=["HS256"], issuer="farout")
    assert claims["username"] == "nelly"
    assert_oauth_cookie_cleared(r)
    assert "farout_oauth" not in browser.cookies


def test_display_name_falls_back_to_username(clean):
    r = sign_in(clean, user={"id": "222222222222222222", "username": "plainname", "global_name": None})
    assert r.status_code == 200, r.text
    assert member_row(clean, "222222222222222222")["display_name"] == "plainname"


def test_returning_user_is_refreshed_but_keeps_name_and_role(clean):
    stack = clean
    first = sign_in(stack).json()["user"]
    stack.sql("auth", "UPDATE users SET role = 'officer' WHERE id = %s", (first["id"],))
    stack.sql("app", "UPDATE members SET display_name = 'Captain Nelly' WHERE discord_id = %s",
              (NELLY_ID,))
    stack.sql("auth", "UPDATE users SET last_login = now() - interval '1 day' WHERE id = %s",
              (first["id"],))
    old_login = user_row(stack, "id = %s", first["id"])["last_login"]

    r = sign_in(stack, user={"username": "nelly_renamed", "global_name": "Renamed",
                             "avatar": "a_0123456789abcdef0123456789abcdef",
                             "discriminator": "1234", "email": "new@example.com"})
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert user["id"] == first["id"]
    assert user["username"] == "nelly"
    assert user["role"] == "officer"
    assert user["discriminator"] == "1234"
    assert user["avatar"] == "a_0123456789abcdef0123456789abcdef"
    assert user["email"] == "new@example.com"
    row = user_row(stack, "id = %s", first["id"])
    assert row["last_login"] > old_login
    assert stack.sql("auth", "SELECT count(*) FROM users WHERE discord_id = %s", (NELLY_ID,)) == [(1,)]

    member = member_row(stack, NELLY_ID)
    assert member["display_name"] == "Captain Nelly"  # the member's own edit stays
    assert member["avatar_url"] == f"{CDN}/avatars/{NELLY_ID}/a_0123456789abcdef0123456789abcdef.gif"
    assert stack.sql("app", "SELECT count(*) FROM members") == [(1,)]


def test_member_row_is_repaired_at_next_login(clean):
    stack = clean
    assert sign_in(stack).status_code == 200
    stack.sql("app", "DELETE FROM members")
    assert sign_in(stack).status_code == 200
    assert member_row(stack, NELLY_ID)["display_name"] == "Nelly"


@pytest.mark.parametrize("avatar, discriminator, expected", [
    (NELLY_AVATAR, "0", f"{CDN}/avatars/{NELLY_ID}/{NELLY_AVATAR}.png"),
    ("a_" + NELLY_AVATAR, "0", f"{CDN}/avatars/{NELLY_ID}/a_{NELLY_AVATAR}.gif"),
    # No avatar, new-style user: (id >> 22) % 6.
    (None, "0", f"{CDN}/embed/avatars/{(int(NELLY_ID) >> 22) % 6}.png"),
    (None, None, f"{CDN}/embed/avatars/{(int(NELLY_ID) >> 22) % 6}.png"),
    # No avatar, legacy tag: discriminator % 5.
    (None, "1337", f"{CDN}/embed/avatars/{1337 % 5}.png"),
    (None, "0004", f"{CDN}/embed/avatars/4.png"),
])
def test_avatar_url(clean, avatar, discriminator, expected):
    r = sign_in(clean, user={"avatar": avatar, "discriminator": discriminator})
    assert r.status_code == 200, r.text
    assert member_row(clean, NELLY_ID)["avatar_url"] == expected
    assert r.json()["user"]["avatar"] == avatar
    assert r.json()["user"]["discriminator"] == discriminator


def test_username_taken_by_local_admin_gets_a_variant(clean):
    stack = clean
    admin_before = user_row(stack, "username = 'admin'")
    discord_id = "123456789012345678"
    r = sign_in(stack, user={"id": discord_id, "username": "admin", "global_name": "Not Admin",
                             "email": "admin@farout.local", "verified": True})
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert user["username"] == "admin_5678"
    assert user["role"] == "member"
    assert user["id"] != admin_before["id"]
    assert user["email"] is None  # the admin's address is taken
    assert user_row(stack, "username = 'admin'") == admin_before
    claims = jwt.decode(r.json()["access_token"], stack.env["JWT_SECRET"], algorithms=["HS256"],
                        issuer="farout")
    assert claims["sub"] != str(admin_before["id"])


def test_username_collision_ignores_case(clean):
    stack = clean
    r = sign_in(stack, user={"id": "123456789012345678", "username": "ADMIN"})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["username"] == "ADMIN_5678"


def test_username_taken_by_another_discord_user_and_its_variants(clean):
    stack = clean
    assert sign_in(stack).json()["user"]["username"] == "nelly"
    second = "999999999999654321"
    stack.add_user("nelly_4321", "Some-Long-Password-1")
    r = sign_in(stack, user={"id": second, "username": "nelly", "email": "other@example.com"})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["username"] == "nelly_654321"
    assert r.json()["user"]["discord_id"] == second
    # Each Discord user keeps its own account afterwards.
    again = sign_in(stack, user={"id": second, "username": "nelly"}).json()["user"]
    assert again["username"] == "nelly_654321"
    first = sign_in(stack, user={}).json()["user"]
    assert first["username"] == "nelly" and first["discord_id"] == NELLY_ID


def test_unverified_email_is_not_stored(clean):
    r = sign_in(clean, user={"verified": False})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["email"] is None
    assert user_row(clean, "discord_id = %s", NELLY_ID)["email"] is None


def test_email_used_by_another_user_is_not_stored(clean):
    stack = clean
    stack.add_user("someone", "Some-Long-Password-1", email="Nelly@Example.com")
    r = sign_in(stack)
    assert r.status_code == 200, r.text
    assert r.json()["user"]["email"] is None
    assert user_row(stack, "username = 'someone'")["email"] == "Nelly@Example.com"


def test_returning_user_keeps_email_when_discord_gives_no_usable_one(clean):
    stack = clean
    assert sign_in(stack).json()["user"]["email"] == "nelly@example.com"
    r = sign_in(stack, user={"email": "changed@example.com", "verified": False})
    assert r.json()["user"]["email"] == "nelly@example.com"
    r = sign_in(stack, user={"email": None})
    assert r.json()["user"]["email"] == "nelly@example.com"


def test_disabled_user_is_refused(clean):
    stack = clean
    assert sign_in(stack).status_code == 200
    stack.sql("auth", "UPDATE users SET is_active = false WHERE discord_id = %s", (NELLY_ID,))
    r = sign_in(stack)
    assert_error(r, 403, "account_disabled")
    assert "farout_session" not in r.headers.get("Set-Cookie", "")
    r = sign_in(stack, json=False)
    assert r.status_code == 302
    assert r.headers["Location"] == stack.public_url + "/login?error=account_disabled"
    assert_oauth_cookie_cleared(r)


def test_local_account_is_never_signed_into_by_email(clean):
    """A Discord user whose verified email is a local user's gets an account of its own."""
    stack = clean
    stack.add_user("localbob", "Some-Long-Password-1", email="bob@example.com")
    local = user_row(stack, "username = 'localbob'")
    r = sign_in(stack, user={"id": "333333333333333333", "username": "bob",
                             "email": "bob@example.com"})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] != local["id"]
    assert r.json()["user"]["username"] == "bob"
    assert user_row(stack, "username = 'localbob'") == local


# ---- bad states -------------------------------------------------------------------------------


def started(stack):
    """A browser with a flow started and the callback URL Discord sent back."""
    browser = requests.Session()
    return browser, authorize(begin(stack, browser))


def with_query(url, **changes):
    parts = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(parts.query))
    for k, v in changes.items():
        if v is None:
            q.pop(k, None)
        else:
            q[k] = v
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(q)))


def restore(browser, cookie):
    """Puts a flow cookie back (a refused callback clears it)."""
    browser.cookies.set("farout_oauth", cookie, path="/api/auth/discord")


def assert_not_exchanged(stack):
    assert stack.fake.requests("token") == []


def test_missing_state(clean):
    browser, cb = started(clean)
    cookie = browser.cookies["farout_oauth"]
    expect_failure(clean, with_query(cb, state=None), browser, 400, "invalid_state")
    restore(browser, cookie)
    expect_failure(clean, with_query(cb, state=""), browser, 400, "invalid_state")
    assert_not_exchanged(clean)


def test_missing_state_redirect_mode(clean):
    browser, cb = started(clean)
    r = finish(browser, with_query(cb, state=None), json=False)
    assert r.status_code == 302
    assert r.headers["Location"] == clean.public_url + "/login?error=invalid_state"
    assert r.content == b""
    assert_oauth_cookie_cleared(r)


def test_tampered_state(clean):
    stack = clean
    browser, cb = started(stack)
    cookie = browser.cookies["farout_oauth"]
    state = query_of(cb)["state"]
    nonce, _, mac = state.partition(".")
    forgeries = [state[:i] + ("A" if state[i] != "A" else "B") + state[i + 1:]
                 for i in (0, len(nonce) // 2, len(state) - 1)]
    forgeries += [state + "x", nonce, nonce + "." + nonce, mac + "." + nonce, "x" * len(state)]
    for forged in forgeries:
        restore(browser, cookie)
        expect_failure(stack, with_query(cb, state=forged), browser, 400, "invalid_state")
    assert_not_exchanged(stack)
    # Forgeries never reach the flow's row: the real state still works.
    restore(browser, cookie)
    r = finish(browser, cb)
    assert r.status_code == 200, r.text


def test_expired_state(clean):
    stack = clean
    browser, cb = started(stack)
    stack.sql("auth", "UPDATE oauth_states SET expires_at = now() - interval '1 second'")
    expect_failure(stack, cb, browser, 400, "invalid_state")
    assert_not_exchanged(stack)


def test_wrong_cookie(clean):
    stack = clean
    browser, cb = started(stack)
    real = browser.cookies["farout_oauth"]
    browser.cookies.clear()
    browser.cookies.set("farout_oauth", real[:-1] + ("A" if real[-1] != "A" else "B"),
                        path="/api/auth/discord")
    expect_failure(stack, cb, browser, 400, "invalid_state")
    assert_not_exchanged(stack)


def test_no_cookie(clean):
    stack = clean
    _, cb = started(stack)
    expect_failure(stack, cb, requests.Session(), 400, "invalid_state")
    assert_not_exchanged(stack)


def test_replayed_state(clean):
    stack = clean
    browser, cb = started(stack)
    cookie = browser.cookies["farout_oauth"]
    assert finish(browser, cb).status_code == 200
    # Even with the original cookie put back, the state was used.
    restore(browser, cookie)
    expect_failure(stack, cb, browser, 400, "invalid_state")
    assert len(stack.fake.requests("token")) == 1


def test_replay_race_only_one_wins(clean):
    stack = clean
    browser, cb = started(stack)
    cookie = browser.cookies["farout_oauth"]
    results = []

    def go():
        b = requests.Session()
        b.cookies.set("farout_oauth", cookie, path="/api/auth/discord")
        results.append(finish(b, cb))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [200, 400]
    assert len(stack.fake.requests("token")) == 1


def test_another_browsers_state(clean):
    stack = clean
    alice, alice_cb = started(stack)
    mallory = requests.Session()
    begin(stack, mallory)  # mallory has a farout_oauth cookie of her own
    assert mallory.cookies["farout_oauth"] != alice.cookies["farout_oauth"]
    expect_failure(stack, alice_cb, mallory, 400, "invalid_state")
    assert_not_exchanged(stack)
    # Refusing mallory did not use up alice's flow.
    r = finish(alice, alice_cb)
    assert r.status_code == 200, r.text


# ---- Discord's answers ---------------------------------------------------------------------------


def test_access_denied(clean):
    stack = clean
    stack.fake.deny(True)
    browser, cb = started(stack)
    assert query_of(cb)["error"] == "access_denied"
    expect_failure(stack, cb, browser, 400, "access_denied")
    assert_not_exchanged(stack)

    browser, cb = started(stack)
    r = finish(browser, cb, json=False)
    assert r.status_code == 302
    assert r.headers["Location"] == stack.public_url + "/login?error=access_denied"


def test_other_discord_error_is_invalid_request_and_not_reflected(clean):
    stack = clean
    browser, cb = started(stack)
    weird = "<script>alert(1)</script>"
    cb = with_query(cb, code=None, error=weird, error_description="something odd")
    r = expect_failure(stack, cb, browser, 400, "invalid_request")
    assert "script" not in r.text and "odd" not in r.text
    browser, cb = started(stack)
    r = finish(browser, with_query(cb, code=None, error=weird), json=False)
    assert r.headers["Location"] == stack.public_url + "/login?error=invalid_request"
    assert_not_exchanged(stack)


def test_missing_code_is_invalid_request(clean):
    browser, cb = started(clean)
    expect_failure(clean, with_query(cb, code=None), browser, 400, "invalid_request")
    assert_not_exchanged(clean)


def test_invalid_code_is_invalid_grant(clean):
    stack = clean
    browser, cb = started(stack)
    expect_failure(stack, with_query(cb, code="not-a-real-code"), browser, 400, "invalid_grant")
    browser, cb = started(stack)
    stack.fake.expire_codes()
    r = finish(browser, cb, json=False)
    assert r.headers["Location"] == stack.public_url + "/login?error=invalid_grant"


def test_token_exchange_sends_pkce_verifier_and_basic_auth(clean):
    stack = clean
    browser = requests.Session()
    login = begin(stack, browser)
    challenge = query_of(login.headers["Location"])["code_challenge"]
    cb = authorize(login)
    r = finish(browser, cb)
    assert r.status_code == 200, r.text
    (token_req,) = stack.fake.requests("token")
    form = token_req["form"]
    assert form["grant_type"] == "authorization_code"
    assert form["code"] == query_of(cb)["code"]
    assert form["redirect_uri"] == stack.public_url + "/api/auth/discord/callback"
    verifier = form["code_verifier"]
    assert 43 <= len(verifier) <= 128
    assert s256(verifier) == challenge
    assert "client_secret" not in form
    scheme, _, creds = token_req["headers"]["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(creds).decode() == f"{stack.fake.client_id}:{stack.fake.client_secret}"
    # The verifier reached Discord only: never the browser.
    for resp in (login, r):
        assert verifier not in resp.text and verifier not in str(resp.headers)
    assert verifier not in cb
    (me_req,) = stack.fake.requests("me")
    assert me_req["headers"]["authorization"].startswith("Bearer ")


FAILURES = [("token", m) for m in ("500", "429", "slow", "close", "malformed")] + \
           [("me", m) for m in ("500", "429", "slow", "close", "malformed", "no_id")]


@pytest.mark.parametrize("endpoint, mode", FAILURES)
def test_discord_failure_is_discord_unavailable(clean, endpoint, mode):
    stack = clean
    timeout_s = int(stack.env["DISCORD_TIMEOUT_MS"]) / 1000
    stack.fake.fail(endpoint, mode, slow_seconds=timeout_s + 3)
    browser, cb = started(stack)
    t0 = time.monotonic()
    r = finish(browser, cb)
    elapsed = time.monotonic() - t0
    assert_error(r, 502, "discord_unavailable")
    assert_oauth_cookie_cleared(r)
    assert elapsed < timeout_s + 1.5, elapsed
    if mode == "slow":
        assert elapsed >= timeout_s - 0.1, elapsed
    assert user_row(stack, "discord_id = %s", NELLY_ID) is None

    # The worker that gave up still serves: both of them, a few times over.
    stack.fake.fail(endpoint, None)
    for _ in range(3):
        assert sign_in(stack).status_code == 200


def test_discord_failure_redirect_mode(clean):
    stack = clean
    stack.fake.fail("token", "500")
    browser, cb = started(stack)
    r = finish(browser, cb, json=False)
    assert r.status_code == 302
    assert r.headers["Location"] == stack.public_url + "/login?error=discord_unavailable"


def test_refused_connection_is_discord_unavailable(stack):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    stack.restart_program("oauth-callback",
                          extra_env={"DISCORD_API_BASE": f"http://127.0.0.1:{dead}/api"})
    try:
        stack.reset_db()
        stack.fake.reset()
        browser, cb = started(stack)
        t0 = time.monotonic()
        assert_error(finish(browser, cb), 502, "discord_unavailable")
        assert time.monotonic() - t0 < 3
    finally:
        stack.restart_program("oauth-callback")


# ---- next -------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw_next", [
    "%2F%2Fevil.com",           # //evil.com
    "//evil.com",
    "https://evil.com",
    "https%3A%2F%2Fevil.com",
    "/%5Cevil.com",             # /\evil.com
    "%2F%5Cevil.com",
    "javascript:alert(1)",
    "javascript%3Aalert(1)",
    "%252F%252Fevil.com",       # double-encoded: decodes once to %2F%2Fevil.com, not a path
    "evil.com",
    "/ok%0d%0aSet-Cookie:%20x=1",
    "%zz",
])
def test_open_redirects_in_next_stay_on_site(clean, raw_next):
    stack = clean
    browser = requests.Session()
    login = begin(stack, browser, raw_query="next=" + raw_next)
    assert login.status_code == 302
    r = finish(browser, authorize(login), json=False)
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == stack.public_url + "/"


def test_next_keeps_query_drops_fragment(clean):
    stack = clean
    r = sign_in(stack, json=False, next="/members?rank=officer&q=a b#frag")
    assert r.headers["Location"] == stack.public_url + "/members?rank=officer&q=a%20b"


# ---- link=1 -------------------------------------------------------------------------------------


def test_link_without_session_is_401(clean):
    assert_error(begin(clean, requests.Session(), link="1"), 401, "not_authenticated")
    assert clean.sql("auth", "SELECT count(*) FROM oauth_states") == [(0,)]


def test_link_before_password_change_is_403(clean):
    stack = clean
    browser = requests.Session()
    r = browser.post(stack.url("/api/auth/login"),
                     json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["must_change_password"] is True
    assert_error(begin(stack, browser, link="1"), 403, "password_change_required")


def test_link_admin_to_discord(clean):
    stack = clean
    browser = admin_ready(stack)
    admin = user_row(stack, "username = 'admin'")
    login = begin(stack, browser, link="1", next="/members/me")
    assert login.status_code == 302
    assert stack.sql("auth", "SELECT link_user_id FROM oauth_states") == [(admin["id"],)]
    r = finish(browser, authorize(login))
    assert r.status_code == 200, r.text
    user = r.json()["user"]
    assert user["id"] == admin["id"]
    assert user["username"] == "admin"
    assert user["role"] == "admin"
    assert user["discord_id"] == NELLY_ID
    assert user["avatar"] == NELLY_AVATAR
    row = user_row(stack, "id = %s", admin["id"])
    assert row["discord_id"] == NELLY_ID
    assert row["hashed_password"] == admin["hashed_password"]
    assert stack.sql("auth", "SELECT count(*) FROM users") == [(1,)]
    assert member_row(stack, NELLY_ID)["display_name"] == "Nelly"

    # From now on signing in with that Discord account is signing in as the admin.
    r = sign_in(stack)
    assert r.status_code == 200
    assert r.json()["user"]["id"] == admin["id"]
    assert r.json()["user"]["role"] == "admin"


def test_link_redirect_mode(clean):
    stack = clean
    browser = admin_ready(stack)
    r = finish(browser, authorize(begin(stack, browser, link="1", next="/members/me")), json=False)
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == stack.public_url + "/members/me"
    assert user_row(stack, "username = 'admin'")["discord_id"] == NELLY_ID


def test_link_retried_after_a_lost_race_is_not_a_500(clean):
    """Another worker takes the Discord id (or email) between our checks and our UPDATE: the
    unique index refuses it and the link looks again. The link runs inside the transaction of
    its audit row, so the retry must not run in a transaction the refusal aborted."""
    stack = clean
    browser = admin_ready(stack)
    admin = user_row(stack, "username = 'admin'")
    stack.sql("auth", "CREATE SEQUENCE lost_race")
    stack.sql("auth", "CREATE FUNCTION lose_first_race() RETURNS trigger LANGUAGE plpgsql AS $$"
                      " BEGIN IF NEW.discord_id IS DISTINCT FROM OLD.discord_id"
                      " AND nextval('lost_race') = 1 THEN RAISE EXCEPTION 'lost the race'"
                      " USING ERRCODE = 'unique_violation'; END IF; RETURN NEW; END $$")
    stack.sql("auth", "CREATE TRIGGER lose_first_race BEFORE UPDATE ON users"
                      " FOR EACH ROW EXECUTE FUNCTION lose_first_race()")
    try:
        r = finish(browser, authorize(begin(stack, browser, link="1")))
        races = stack.sql("auth", "SELECT last_value FROM lost_race")
    finally:
        stack.sql("auth", "DROP TRIGGER lose_first_race ON users")
        stack.sql("auth", "DROP FUNCTION lose_first_race()")
        stack.sql("auth", "DROP SEQUENCE lost_race")
    assert races == [(2,)]  # the first UPDATE lost, the second won
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == admin["id"]
    assert user_row(stack, "id = %s", admin["id"])["discord_id"] == NELLY_ID
    assert stack.sql("auth", "SELECT event, outcome FROM audit_events WHERE event = 'discord_link'") \
        == [("discord_link", "ok")]


def test_link_discord_account_of_another_user_is_409(clean):
    stack = clean
    nelly = sign_in(stack).json()["user"]
    browser = admin_ready(stack)
    admin_before = user_row(stack, "username = 'admin'")
    r = finish(browser, authorize(begin(stack, browser, link="1")))
    assert_error(r, 409, "discord_already_linked")
    assert user_row(stack, "username = 'admin'") == admin_before
    assert user_row(stack, "id = %s", nelly["id"])["discord_id"] == NELLY_ID

    r = finish(browser, authorize(begin(stack, browser, link="1")), json=False)
    assert r.headers["Location"] == stack.public_url + "/login?error=discord_already_linked"


def test_link_when_already_linked_to_another_discord_is_409(clean):
    stack = clean
    browser = admin_ready(stack)
    assert finish(browser, authorize(begin(stack, browser, link="1"))).status_code == 200
    stack.fake.set_user({"id": "444444444444444444", "username": "other"})
    r = finish(browser, authorize(begin(stack, browser, link="1")))
    assert_error(r, 409, "discord_already_linked")
    assert user_row(stack, "username = 'admin'")["discord_id"] == NELLY_ID
    assert user_row(stack, "discord_id = '444444444444444444'") is None


# ---- secrets ------------------------------------------------------------------------------------


def test_secrets_never_leak_to_responses_or_logs(clean):
    stack = clean
    responses = []

    def keep(r):
        responses.append(r)
        return r

    browser = requests.Session()
    login = keep(begin(stack, browser))
    keep(finish(browser, authorize(login)))
    keep(sign_in(stack, json=False))
    browser, cb = started(stack)
    keep(finish(browser, with_query(cb, code="bogus")))
    stack.fake.fail("me", "500")
    keep(sign_in(stack))
    stack.fake.fail("me", "malformed")
    keep(sign_in(stack))
    stack.fake.fail("me", None)
    admin_browser = admin_ready(stack)
    stack.fake.set_user({"id": "555555555555555555", "username": "linky"})
    keep(finish(admin_browser, authorize(keep(begin(stack, admin_browser, link="1")))))

    secret = stack.fake.client_secret
    basic = base64.b64encode(f"{stack.fake.client_id}:{secret}".encode()).decode()
    tokens = [q["headers"]["authorization"].split(" ", 1)[1] for q in stack.fake.requests("me")]
    verifiers = [q["form"]["code_verifier"] for q in stack.fake.requests("token")]
    assert len(tokens) >= 4 and len(verifiers) >= 5
    needles = [secret, basic] + tokens + verifiers

    for r in responses:
        seen = r.text + str(r.headers)
        for n in needles:
            assert n not in seen, f"secret material in a response to {r.request.url}"
    for name in ("login", "me", "oauth-callback", "members", "nginx"):
        log = stack.log_text(name)
        for n in needles:
            assert n not in log, f"secret material in the {name} log"
    # The programs' logs do show the flow happened.
    assert "discord sign-in" in stack.log_text("oauth-callback")
