"""What several integration suites share: their constants, requests through
nginx with a token or the session cookie, the contract's error shape, users
and sessions written straight into farout_auth, and waiting for the
programs after PostgreSQL went away.

Whatever talks to the stack takes the running Stack of harness.py first (the
`stack` or `clean` fixture of conftest.py).
"""

import secrets
import time

import bcrypt
import jwt
import requests

import fcgi_client
from harness import ADMIN_PASSWORD, PROGRAMS

PASSWORD = "Correct-Horse-9-Battery"
OTHER_PASSWORD = "Another-Long-Pass-42"
NEW_PASSWORD = "Brand-New-Secret-77"
WEEK = 7 * 86400
TIMEOUT = 30
SESSION_COOKIE_RE = (r"farout_session=([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+); "
                     r"Path=/; HttpOnly; SameSite=Lax; Max-Age=604800")
# The keys of a sign-in's answer (login, Discord, password change), of the user in it, of a Member.
SIGN_IN_KEYS = {"access_token", "token_type", "expires_in", "must_change_password", "user"}
USER_KEYS = {"id", "username", "discord_id", "discriminator", "avatar", "email", "role",
             "must_change_password", "is_active", "created_at", "last_login"}
MEMBER_KEYS = {"id", "discord_id", "display_name", "bio", "avatar_url", "rank", "missions_completed",
               "trainings_completed", "stats", "created_at", "updated_at"}


# ---- the error shape -----------------------------------------------------------------

def assert_error(r, status, code, field=None, *, exact=False, no_store=False):
    """The contract's error answer: status and the JSON {"error": code, "detail": "<sentence>"};
    returns the body.

    field: the body names it ("field", as forbidden_field and unknown_field do) and so does
    the detail. exact: the body holds nothing besides error and detail (health's 503, say,
    adds the state of each database). no_store: Cache-Control is no-store.
    """
    assert r.status_code == status, f"expected {status} {code}, got {r.status_code}: {r.text[:300]}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    if no_store:
        assert r.headers.get("Cache-Control") == "no-store", r.headers
    body = r.json()
    assert body.get("error") == code, body
    assert isinstance(body.get("detail"), str) and body["detail"], body
    if field is not None:
        assert body.get("field") == field, body
        assert field in body["detail"], body
    if exact:
        assert set(body) == {"error", "detail"}, body
    return body


# ---- requests through nginx ------------------------------------------------------------

def auth_headers(token=None, cookie=None, headers=None):
    """A copy of headers with a bearer token and/or the session cookie added."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    if cookie is not None:
        h["Cookie"] = f"farout_session={cookie}"
    return h


def is_nginx_flood_limit(r):
    # nginx's own first line of defence (limit_req), not the database throttle under test.
    return r.status_code == 429 and "from this address" in r.text


def request(stack, method, path, token=None, cookie=None, headers=None, **kwargs):
    """METHOD path through nginx, authenticated by token and/or cookie when given.

    A burst of sign-ins can meet nginx's flood limit; that answer is waited
    out, since no test here is about it (test_foundation checks it directly).
    """
    kwargs.setdefault("timeout", TIMEOUT)
    h = auth_headers(token, cookie, headers)
    for _ in range(20):
        r = requests.request(method, stack.url(path), headers=h, **kwargs)
        if not is_nginx_flood_limit(r):
            break
        time.sleep(1.1)
    return r


def get(stack, path, token=None, cookie=None, headers=None, **kwargs):
    return request(stack, "GET", path, token, cookie, headers, **kwargs)


def post(stack, path, token=None, cookie=None, headers=None, **kwargs):
    return request(stack, "POST", path, token, cookie, headers, **kwargs)


def login_response(stack, username, password=PASSWORD, **kwargs):
    """POST /api/auth/login with a JSON body; the response, whatever it is."""
    return post(stack, "/api/auth/login", json={"username": username, "password": password}, **kwargs)


def login(stack, username, password=PASSWORD):
    """The access token of a sign-in that must succeed."""
    r = login_response(stack, username, password)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def change_admin_password(stack, token, new_password=NEW_PASSWORD):
    """The seeded admin's forced password change on the session of token; returns
    the token of the new session (every earlier one is revoked)."""
    r = post(stack, "/api/auth/password", token,
             json={"current_password": ADMIN_PASSWORD, "new_password": new_password})
    assert r.status_code == 200, r.text
    assert r.json()["must_change_password"] is False
    return r.json()["access_token"]


# ---- users and sessions in farout_auth --------------------------------------------------------

def hash_of(password, cost=4):
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()


def insert_user(stack, username, password=PASSWORD, role="member", *, hashed=None, email=None,
                discord_id=None, must_change=False, active=True):
    """A users row written with SQL (faster than farout-admin); returns its id.

    The password is stored as a cost-4 hash, or hashed is stored as it is;
    password None (and no hashed) is a user without a password, as a Discord
    sign-in makes.
    """
    if hashed is None and password is not None:
        hashed = hash_of(password)
    return stack.sql("auth", """
        INSERT INTO users (username, hashed_password, role, email, discord_id,
                           must_change_password, is_active)
        VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                     (username, hashed, role, email, discord_id, must_change, active))[0][0]


def new_session(stack, user_id, lifetime=WEEK):
    """A session row as login would write it; returns its jti."""
    jti = secrets.token_urlsafe(32)
    stack.sql("auth", "INSERT INTO sessions (jti, user_id, expires_at) "
                      "VALUES (%s, %s, now() + %s * interval '1 second')", (jti, user_id, lifetime))
    return jti


def session_token(stack, user_id):
    """A token with the fewest claims, on a new session of user_id: how a test
    signs in a user who has no password to sign in with."""
    now = int(time.time())
    claims = {"sub": str(user_id), "jti": new_session(stack, user_id), "iat": now, "exp": now + 600,
              "iss": "farout"}
    return jwt.encode(claims, stack.env["JWT_SECRET"], algorithm="HS256")


# ---- PostgreSQL going away ----------------------------------------------------------------------

def settle(stack):
    """After a database went away, lets every worker of every program find out
    (and reconnect) before the next test relies on it."""
    params = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/api/health", "REQUEST_URI": "/api/health",
              "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1"}
    for name in PROGRAMS:
        ok_in_a_row, deadline = 0, time.monotonic() + 20
        while ok_in_a_row < 6 and time.monotonic() < deadline:
            headers, _ = fcgi_client.request(stack.socket_path(name), params)
            ok_in_a_row = ok_in_a_row + 1 if headers.status == 200 else 0
            if headers.status != 200:
                time.sleep(0.1)
        assert ok_in_a_row >= 6, f"{name} did not recover"
