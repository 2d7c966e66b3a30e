"""Tests of tests/fake_discord.py itself, over real HTTP with urllib.

The integration suite trusts the fake to behave like Discord, so it gets its
own tests: the PKCE flow, both client authentication styles, every way a code
goes bad, and each failure mode the control API offers.
"""

import base64
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS_DIR))

import fake_discord  # noqa: E402  (found through the path set just above)

CLIENT_ID = "1100000000000000001"
CLIENT_SECRET = "s3cr3t-for-the-fake-only"
REDIRECT_URI = "http://127.0.0.1:8080/api/auth/discord/callback"
GUILD_ID = "1300000000000000001"
ROLE_ID = "41771983423143936"
OTHER_REDIRECT_URI = "http://localhost:8080/api/auth/discord/callback"


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def call(method, url, *, form=None, json_body=None, headers=None, timeout=10):
    data, hdrs = None, dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif json_body is not None:
        data = json.dumps(json_body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with _opener.open(request, timeout=timeout) as resp:
            return Reply(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return Reply(err.code, err.headers, err.read())


def basic(client_id=CLIENT_ID, secret=CLIENT_SECRET):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def new_verifier():
    return secrets.token_urlsafe(48)  # 64 characters of the unreserved set


def query_of(location):
    parts = urllib.parse.urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", dict(urllib.parse.parse_qsl(parts.query))


@pytest.fixture(scope="module")
def server():
    fake = fake_discord.FakeDiscord(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI, OTHER_REDIRECT_URI])
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server):
    server.reset()
    return server


def authorize(fake, *, verifier=None, redirect_uri=REDIRECT_URI, state="st4te", **overrides):
    params = {"response_type": "code", "client_id": CLIENT_ID, "scope": "identify email",
              "redirect_uri": redirect_uri, "state": state}
    if verifier is not None:
        params["code_challenge"] = fake_discord.s256_challenge(verifier)
        params["code_challenge_method"] = "S256"
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    return call("GET", fake.authorize_url + "?" + urllib.parse.urlencode(params))


def code_from(fake, verifier, **kwargs):
    reply = authorize(fake, verifier=verifier, **kwargs)
    assert reply.status == 302, reply.body
    _, params = query_of(reply.headers["Location"])
    return params["code"]


def exchange(fake, code, verifier=None, *, redirect_uri=REDIRECT_URI, auth="basic", extra=None):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        form["code_verifier"] = verifier
    headers = {}
    if auth == "basic":
        headers = basic()
    elif auth == "form":
        form.update(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    form.update(extra or {})
    return call("POST", fake.api_base + "/oauth2/token", form=form, headers=headers)


def me(fake, token):
    return call("GET", fake.api_base + "/users/@me", headers={"Authorization": f"Bearer {token}"})


def access_token(fake, **issue):
    verifier = new_verifier()
    code = fake.issue_code(code_challenge=fake_discord.s256_challenge(verifier), **issue)
    reply = exchange(fake, code, verifier)
    assert reply.status == 200, reply.body
    return reply.json()["access_token"]


# -- PKCE and the happy path ----------------------------------------------------

def test_s256_matches_rfc7636_appendix_b():
    assert (fake_discord.s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
            == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")


def test_authorize_token_me_with_pkce_and_basic_auth(fake):
    verifier = new_verifier()
    reply = authorize(fake, verifier=verifier, state="abc/+= 1")
    assert reply.status == 302
    target, params = query_of(reply.headers["Location"])
    assert target == REDIRECT_URI
    assert params["state"] == "abc/+= 1"
    assert len(params["code"]) == 30

    token = exchange(fake, params["code"], verifier)
    assert token.status == 200
    assert token.headers["Cache-Control"] == "no-store"
    body = token.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 604800
    assert body["scope"] == "identify email"

    user = me(fake, body["access_token"])
    assert user.status == 200
    assert user.headers["Content-Type"] == "application/json"
    assert user.json() == fake_discord.DEFAULT_USER
    assert "bot" not in user.json()

    sent = fake.requests("token")[0]
    assert sent["method"] == "POST" and sent["path"] == "/api/oauth2/token"
    assert sent["form"]["code_verifier"] == verifier
    assert sent["headers"]["authorization"] == basic()["Authorization"]
    assert base64.b64decode(sent["headers"]["authorization"].split()[1]).decode().endswith(
        ":" + CLIENT_SECRET)
    assert sent["status"] == 200
    assert [r["endpoint"] for r in fake.requests()] == ["authorize", "token", "me"]
    assert fake.requests("authorize")[0]["query"]["code_challenge_method"] == "S256"


def test_form_client_auth_and_second_redirect_uri(fake):
    verifier = new_verifier()
    code = code_from(fake, verifier, redirect_uri=OTHER_REDIRECT_URI)
    reply = exchange(fake, code, verifier, redirect_uri=OTHER_REDIRECT_URI, auth="form")
    assert reply.status == 200, reply.body
    assert me(fake, reply.json()["access_token"]).status == 200


def test_versioned_api_prefix(fake):
    verifier = new_verifier()
    code = code_from(fake, verifier)
    reply = call("POST", fake.base_url + "/api/v10/oauth2/token", headers=basic(),
                 form={"grant_type": "authorization_code", "code": code,
                       "redirect_uri": REDIRECT_URI, "code_verifier": verifier})
    assert reply.status == 200
    token = reply.json()["access_token"]
    assert call("GET", fake.base_url + "/api/v10/users/@me",
                headers={"Authorization": f"Bearer {token}"}).status == 200


def test_refresh_token_rotates(fake):
    verifier = new_verifier()
    first = exchange(fake, code_from(fake, verifier), verifier).json()
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = call("POST", fake.api_base + "/oauth2/token", form=form, headers=basic())
    assert second.status == 200
    assert second.json()["access_token"] != first["access_token"]
    again = call("POST", fake.api_base + "/oauth2/token", form=form, headers=basic())
    assert again.status == 400 and again.json()["error"] == "invalid_grant"


# -- authorize validation ---------------------------------------------------------

@pytest.mark.parametrize("overrides, field", [
    ({"client_id": "999"}, None),
    ({"client_id": None}, "client_id"),
    ({"client_id": "not-a-snowflake"}, "client_id"),
    ({"redirect_uri": "http://evil.example/cb"}, "redirect_uri"),
    ({"redirect_uri": REDIRECT_URI + "/"}, "redirect_uri"),
    ({"redirect_uri": None}, "redirect_uri"),
])
def test_authorize_bad_client_or_redirect_is_400_json(fake, overrides, field):
    reply = authorize(fake, verifier=new_verifier(), **overrides)
    assert reply.status == 400
    assert "Location" not in reply.headers
    body = reply.json()
    if field is None:
        assert body == {"message": "Unknown Application", "code": 10002}
    else:
        assert body["code"] == 50035 and field in body["errors"]


@pytest.mark.parametrize("overrides, error", [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": None}, "invalid_request"),
    ({"scope": "email"}, "invalid_scope"),
    ({"scope": "identify emails"}, "invalid_scope"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": "short"}, "invalid_request"),
    ({"code_challenge": None}, "invalid_request"),
    ({"prompt": "login"}, "invalid_request"),
])
def test_authorize_errors_after_redirect_check_go_back_to_the_client(fake, overrides, error):
    reply = authorize(fake, verifier=new_verifier(), state="s1", **overrides)
    assert reply.status == 302
    target, params = query_of(reply.headers["Location"])
    assert target == REDIRECT_URI
    assert params["error"] == error and params["state"] == "s1" and "code" not in params


def test_repeated_parameter_is_refused(fake):
    url = fake.authorize_url + "?" + urllib.parse.urlencode(
        [("response_type", "code"), ("client_id", CLIENT_ID), ("scope", "identify"),
         ("redirect_uri", REDIRECT_URI), ("state", "x"), ("scope", "identify email")])
    _, params = query_of(call("GET", url).headers["Location"])
    assert params["error"] == "invalid_request"


def test_authorize_without_pkce_and_prompt_none(fake):
    code = code_from(fake, None, prompt="none")
    assert exchange(fake, code).status == 200


def test_deny_redirects_with_access_denied(fake):
    assert call("POST", fake.base_url + "/_control/deny", json_body={"deny": True}).status == 200
    reply = authorize(fake, verifier=new_verifier(), state="keep-me")
    target, params = query_of(reply.headers["Location"])
    assert target == REDIRECT_URI
    assert params == {"error": "access_denied",
                      "error_description": fake_discord.ACCESS_DENIED_DESCRIPTION,
                      "state": "keep-me"}
    fake.deny(False)
    assert "code" in query_of(authorize(fake, verifier=new_verifier()).headers["Location"])[1]


# -- the token endpoint's refusals --------------------------------------------------

def test_wrong_verifier_is_invalid_grant(fake):
    verifier = new_verifier()
    code = code_from(fake, verifier)
    reply = exchange(fake, code, new_verifier())
    assert reply.status == 400
    assert reply.json() == {"error": "invalid_grant",
                            "error_description": 'Invalid "code_verifier" in request.'}
    # The failed attempt consumed the code.
    assert exchange(fake, code, verifier).json()["error"] == "invalid_grant"


def test_missing_or_malformed_verifier_is_invalid_request(fake):
    verifier = new_verifier()
    assert exchange(fake, code_from(fake, verifier)).json()["error"] == "invalid_request"
    assert exchange(fake, code_from(fake, verifier), "tooshort").json()["error"] == "invalid_request"


def test_reused_code_is_invalid_grant(fake):
    verifier = new_verifier()
    code = code_from(fake, verifier)
    assert exchange(fake, code, verifier).status == 200
    reply = exchange(fake, code, verifier)
    assert reply.status == 400
    assert reply.json() == {"error": "invalid_grant", "error_description": 'Invalid "code" in request.'}


def test_expired_code_is_invalid_grant(fake):
    verifier = new_verifier()
    code = code_from(fake, verifier)
    expired = call("POST", fake.base_url + "/_control/expire_codes")
    assert expired.status == 200 and expired.json() == {"expired": 1}
    reply = exchange(fake, code, verifier)
    assert reply.status == 400 and reply.json()["error"] == "invalid_grant"


def test_codes_expire_after_ten_minutes(fake, monkeypatch):
    verifier = new_verifier()
    code = code_from(fake, verifier)
    now = time.monotonic()
    monkeypatch.setattr(fake_discord.time, "monotonic", lambda: now + 601)
    assert exchange(fake, code, verifier).json()["error"] == "invalid_grant"


def test_unknown_code_and_redirect_mismatch(fake):
    assert exchange(fake, "nope" * 5, new_verifier()).json()["error"] == "invalid_grant"
    verifier = new_verifier()
    reply = exchange(fake, code_from(fake, verifier), verifier, redirect_uri=OTHER_REDIRECT_URI)
    assert reply.status == 400
    assert reply.json() == {"error": "invalid_grant",
                            "error_description": 'Invalid "redirect_uri" in request.'}


@pytest.mark.parametrize("auth, extra, headers", [
    ("none", {}, {}),
    ("none", {}, basic(secret="wrong")),
    ("none", {}, basic(client_id="1100000000000000002")),
    ("none", {"client_id": CLIENT_ID, "client_secret": "wrong"}, {}),
    ("none", {"client_id": CLIENT_ID}, {}),
    ("none", {}, {"Authorization": "Basic !!!"}),
    ("none", {}, {"Authorization": "Bearer abc"}),
    ("basic", {"client_id": "1100000000000000002"}, {}),
])
def test_bad_client_auth_is_401_invalid_client(fake, auth, extra, headers):
    verifier = new_verifier()
    form = {"grant_type": "authorization_code", "code": code_from(fake, verifier),
            "redirect_uri": REDIRECT_URI, "code_verifier": verifier, **extra}
    all_headers = dict(basic() if auth == "basic" else {}, **headers)
    reply = call("POST", fake.api_base + "/oauth2/token", form=form, headers=all_headers)
    assert reply.status == 401
    assert reply.json() == {"error": "invalid_client"}


def test_basic_plus_form_secret_is_refused(fake):
    verifier = new_verifier()
    reply = exchange(fake, code_from(fake, verifier), verifier,
                     extra={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert reply.status == 400 and reply.json()["error"] == "invalid_request"


@pytest.mark.parametrize("drop", ["grant_type", "code", "redirect_uri"])
def test_missing_field_is_invalid_request(fake, drop):
    form = {"grant_type": "authorization_code", "code": fake.issue_code(),
            "redirect_uri": REDIRECT_URI}
    del form[drop]
    reply = call("POST", fake.api_base + "/oauth2/token", form=form, headers=basic())
    assert reply.status == 400
    assert reply.json() == {"error": "invalid_request",
                            "error_description": f'Missing "{drop}" in request.'}


def test_other_grant_types_and_bodies(fake):
    reply = call("POST", fake.api_base + "/oauth2/token", headers=basic(),
                 form={"grant_type": "password"})
    assert reply.status == 400 and reply.json() == {"error": "unsupported_grant_type"}
    reply = call("POST", fake.api_base + "/oauth2/token", headers=basic(),
                 json_body={"grant_type": "authorization_code"})
    assert reply.status == 400 and reply.json()["error"] == "invalid_request"


# -- /users/@me ----------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer unknown"}, {"Authorization": "Basic dTpw"}])
def test_me_without_a_valid_token_is_401(fake, headers):
    reply = call("GET", fake.api_base + "/users/@me", headers=headers)
    assert reply.status == 401
    assert reply.json() == {"message": "401: Unauthorized", "code": 0}


def test_me_honours_scope_and_user_control(fake):
    set_reply = call("POST", fake.base_url + "/_control/user",
                     json_body={"id": "123456789012345678", "username": "bob",
                                "global_name": None, "avatar": None, "verified": False})
    assert set_reply.status == 200
    user = me(fake, access_token(fake)).json()
    assert user["id"] == "123456789012345678" and user["username"] == "bob"
    assert user["global_name"] is None and user["avatar"] is None and user["verified"] is False
    assert user["discriminator"] == "0" and user["locale"] == "en-US"  # defaults kept

    user = me(fake, access_token(fake, scope="identify")).json()
    assert "email" not in user and "verified" not in user
    assert user["username"] == "bob"


def test_user_is_captured_when_the_code_is_issued(fake):
    verifier = new_verifier()
    code = code_from(fake, verifier)
    fake.set_user({"username": "later"})
    token = exchange(fake, code, verifier).json()["access_token"]
    assert me(fake, token).json()["username"] == "nelly"


def test_issue_code_over_http(fake):
    verifier = new_verifier()
    reply = call("POST", fake.base_url + "/_control/issue_code", json_body={
        "user": {"username": "carol", "id": "42"}, "redirect_uri": OTHER_REDIRECT_URI,
        "code_challenge": fake_discord.s256_challenge(verifier)})
    assert reply.status == 200
    token = exchange(fake, reply.json()["code"], verifier, redirect_uri=OTHER_REDIRECT_URI)
    user = me(fake, token.json()["access_token"]).json()
    assert (user["username"], user["id"]) == ("carol", "42")


def test_unknown_paths_and_methods(fake):
    assert call("GET", fake.api_base + "/users/@you").json() == {"message": "404: Not Found", "code": 0}
    reply = call("GET", fake.api_base + "/oauth2/token")
    assert reply.status == 405 and reply.headers["Allow"] == "POST"
    assert call("POST", fake.base_url + "/_control/nope").status == 404
    assert call("GET", fake.base_url + "/_control/reset").status == 405


# -- the guild member endpoint --------------------------------------------------------

def member(fake, token, guild_id=GUILD_ID):
    return call("GET", f"{fake.api_base}/users/@me/guilds/{guild_id}/member",
                headers={"Authorization": f"Bearer {token}"})


def test_member_of_the_server(fake):
    fake.set_member(GUILD_ID, {"nick": "Nel", "roles": [ROLE_ID]})
    reply = member(fake, access_token(fake, scope="identify email guilds.members.read"))
    assert reply.status == 200
    body = reply.json()
    assert body["nick"] == "Nel" and body["roles"] == [ROLE_ID]
    assert body["user"]["id"] == fake_discord.DEFAULT_USER["id"]
    assert "email" not in body["user"]
    assert set(fake_discord.DEFAULT_MEMBER) <= set(body)
    assert fake.requests("member")[0]["path"] == f"/api/users/@me/guilds/{GUILD_ID}/member"


def test_not_a_member_is_404_unknown_guild(fake):
    token = access_token(fake, scope="identify guilds.members.read")
    reply = member(fake, token)
    assert reply.status == 404
    assert reply.json() == {"message": "Unknown Guild", "code": 10004}
    # Another server, or another user, is no membership either.
    fake.set_member(GUILD_ID, {}, user_id="1")
    fake.set_member("1300000000000000002", {})
    assert member(fake, token).status == 404
    fake.set_member("1300000000000000002", None)
    assert member(fake, token, "1300000000000000002").status == 404


def test_member_needs_the_scope_and_a_token(fake):
    fake.set_member(GUILD_ID, {})
    assert member(fake, access_token(fake, scope="identify email")).status == 401
    assert member(fake, "not-a-token").status == 401


def test_member_over_http_control(fake):
    reply = call("POST", fake.base_url + "/_control/member",
                 json_body={"guild_id": GUILD_ID, "member": {"roles": [ROLE_ID]}})
    assert reply.status == 200 and reply.json()["member"]["roles"] == [ROLE_ID]
    assert member(fake, access_token(fake, scope="identify guilds.members.read")).status == 200
    for body in ({"guild_id": "abc"}, {"guild_id": GUILD_ID, "member": []}):
        reply = call("POST", fake.base_url + "/_control/member", json_body=body)
        assert reply.status == 400


def test_fail_403_is_missing_access(fake):
    set_failure(fake, "member", "403")
    reply = hit(fake, "member")
    assert reply.status == 403
    assert reply.json() == {"message": "Missing Access", "code": 50001}


# -- failure modes ------------------------------------------------------------------

def hit(fake, endpoint, timeout=10):
    if endpoint == "token":
        verifier = new_verifier()
        code = fake.issue_code(code_challenge=fake_discord.s256_challenge(verifier))
        return call("POST", fake.api_base + "/oauth2/token", headers=basic(), timeout=timeout,
                    form={"grant_type": "authorization_code", "code": code,
                          "redirect_uri": REDIRECT_URI, "code_verifier": verifier})
    if endpoint == "member":
        fake.set_member(GUILD_ID, {"roles": [ROLE_ID]})
        token = access_token(fake, scope="identify guilds.members.read")
        return call("GET", f"{fake.api_base}/users/@me/guilds/{GUILD_ID}/member", timeout=timeout,
                    headers={"Authorization": f"Bearer {token}"})
    token = access_token(fake)
    return call("GET", fake.api_base + "/users/@me", timeout=timeout,
                headers={"Authorization": f"Bearer {token}"})


def set_failure(fake, endpoint, mode, **extra):
    reply = call("POST", fake.base_url + "/_control/fail",
                 json_body={"endpoint": endpoint, "mode": mode, **extra})
    assert reply.status == 200, reply.body
    return reply


@pytest.mark.parametrize("endpoint", ["token", "me", "member"])
def test_fail_500(fake, endpoint):
    set_failure(fake, endpoint, "500")
    reply = hit(fake, endpoint)
    assert reply.status == 500
    assert reply.json() == {"message": "500: Internal Server Error", "code": 0}


@pytest.mark.parametrize("endpoint", ["token", "me", "member"])
def test_fail_429(fake, endpoint):
    set_failure(fake, endpoint, "429")
    reply = hit(fake, endpoint)
    assert reply.status == 429
    assert reply.headers["Retry-After"] == "2"
    assert reply.json() == {"message": "You are being rate limited.", "retry_after": 1.5,
                            "global": False}


@pytest.mark.parametrize("endpoint", ["token", "me", "member"])
def test_fail_malformed(fake, endpoint):
    set_failure(fake, endpoint, "malformed")
    reply = hit(fake, endpoint)
    assert reply.status == 200
    with pytest.raises(json.JSONDecodeError):
        reply.json()


@pytest.mark.parametrize("endpoint", ["token", "me", "member"])
def test_fail_close(fake, endpoint):
    set_failure(fake, endpoint, "close")
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        hit(fake, endpoint)
    assert fake.requests(endpoint)[-1]["status"] is None


def test_fail_no_id(fake):
    set_failure(fake, "me", "no_id")
    reply = hit(fake, "me")
    assert reply.status == 200
    user = reply.json()
    assert "id" not in user and user["username"] == "nelly"


@pytest.mark.parametrize("endpoint", ["token", "me", "member"])
def test_fail_slow_does_not_block_other_requests(fake, endpoint):
    set_failure(fake, endpoint, "slow", slow_seconds=1.5)
    result = {}

    def slow_call():
        started = time.monotonic()
        result["reply"] = hit(fake, endpoint)
        result["elapsed"] = time.monotonic() - started

    worker = threading.Thread(target=slow_call)
    worker.start()
    time.sleep(0.2)
    started = time.monotonic()
    if endpoint == "token":
        assert call("GET", fake.api_base + "/users/@me").status == 401
    else:
        assert call("POST", fake.api_base + "/oauth2/token", form={}).status == 401
    assert authorize(fake).status == 302
    assert call("GET", fake.base_url + "/_control/requests").status == 200
    assert time.monotonic() - started < 1.0
    worker.join(10)
    assert result["reply"].status == 200
    assert result["elapsed"] >= 1.5


def test_slow_times_out_a_patient_client(fake):
    set_failure(fake, "token", "slow", slow_seconds=3)
    with pytest.raises((urllib.error.URLError, TimeoutError)):
        hit(fake, "token", timeout=0.5)


@pytest.mark.parametrize("endpoint", ["token", "me", "member"])
def test_null_mode_clears_the_failure(fake, endpoint):
    set_failure(fake, endpoint, "500")
    set_failure(fake, endpoint, None)
    assert hit(fake, endpoint).status == 200


@pytest.mark.parametrize("body", [
    {"endpoint": "token", "mode": "no_id"},
    {"endpoint": "authorize", "mode": "500"},
    {"endpoint": "me", "mode": "teapot"},
    {"endpoint": "me", "mode": "403"},
    {"endpoint": "member", "mode": "no_id"},
    {"endpoint": "me", "mode": "slow", "slow_seconds": -1},
    {"endpoint": "me", "mode": "slow", "slow_seconds": "5"},
])
def test_fail_rejects_bad_settings(fake, body):
    reply = call("POST", fake.base_url + "/_control/fail", json_body=body)
    assert reply.status == 400 and reply.json()["error"] == "invalid_request"


def test_reset_clears_everything(fake):
    token = access_token(fake)
    code = fake.issue_code()
    fake.set_user({"username": "temp"})
    fake.deny(True)
    fake.fail("token", "500")
    assert call("POST", fake.base_url + "/_control/reset").status == 200
    assert fake.requests() == []
    assert me(fake, token).status == 401
    assert exchange(fake, code).json()["error"] == "invalid_grant"
    assert me(fake, access_token(fake)).json()["username"] == "nelly"
    assert "code" in query_of(authorize(fake).headers["Location"])[1]
    fake.set_member(GUILD_ID, {})
    fake.reset()
    assert member(fake, access_token(fake, scope="identify guilds.members.read")).status == 404


def test_requests_over_http_filter_by_endpoint(fake):
    hit(fake, "me")
    everything = call("GET", fake.base_url + "/_control/requests").json()
    assert [r["endpoint"] for r in everything] == ["token", "me"]
    only_me = call("GET", fake.base_url + "/_control/requests?endpoint=me").json()
    assert len(only_me) == 1 and only_me[0]["headers"]["authorization"].startswith("Bearer ")


def test_stop_closes_idle_keep_alive_connections():
    own = fake_discord.FakeDiscord(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI).start()
    conn = http.client.HTTPConnection("127.0.0.1", own.port, timeout=5)
    try:
        conn.request("GET", "/_control/requests")
        assert conn.getresponse().read() == b"[]"
        started = time.monotonic()
        own.stop()
        assert time.monotonic() - started < 2
        conn.request("GET", "/_control/requests")
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            conn.getresponse()
    finally:
        conn.close()
        own.stop()


# -- as a separate process -------------------------------------------------------------

def test_command_line_server_and_its_log(tmp_path):
    stderr_path = tmp_path / "stderr"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            ["/usr/bin/python3", str(TESTS_DIR / "fake_discord.py"), "--port", "0",
             "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET,
             "--redirect-uri", REDIRECT_URI, "--redirect-uri", OTHER_REDIRECT_URI],
            stdout=subprocess.PIPE, stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        first = proc.stdout.readline().decode()
        assert first.startswith("LISTENING ")
        base = f"http://127.0.0.1:{int(first.split()[1])}"
        verifier = new_verifier()
        params = {"response_type": "code", "client_id": CLIENT_ID, "scope": "identify email",
                  "redirect_uri": REDIRECT_URI, "state": "state-value-xyz",
                  "code_challenge": fake_discord.s256_challenge(verifier),
                  "code_challenge_method": "S256"}
        location = call("GET", base + "/oauth2/authorize?" + urllib.parse.urlencode(params)
                        ).headers["Location"]
        code = query_of(location)[1]["code"]
        token = call("POST", base + "/api/oauth2/token", headers=basic(),
                     form={"grant_type": "authorization_code", "code": code,
                           "redirect_uri": REDIRECT_URI, "code_verifier": verifier}).json()
        assert call("GET", base + "/api/users/@me",
                    headers={"Authorization": "Bearer " + token["access_token"]}).status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        proc.stdout.close()
    log = stderr_path.read_text()
    lines = [line for line in log.splitlines() if line.startswith(("fake_discord: GET ",
                                                                   "fake_discord: POST "))]
    assert len(lines) == 3, log
    for secret in (CLIENT_SECRET, code, token["access_token"], token["refresh_token"],
                   verifier, "state-value-xyz", basic()["Authorization"].split()[1]):
        assert secret not in log


def test_command_line_guild_member():
    proc = subprocess.Popen(
        ["/usr/bin/python3", str(TESTS_DIR / "fake_discord.py"), "--port", "0",
         "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET,
         "--redirect-uri", REDIRECT_URI, "--guild-member", GUILD_ID],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        base = f"http://127.0.0.1:{int(proc.stdout.readline().decode().split()[1])}"
        verifier = new_verifier()
        params = {"response_type": "code", "client_id": CLIENT_ID,
                  "scope": "identify guilds.members.read", "redirect_uri": REDIRECT_URI,
                  "code_challenge": fake_discord.s256_challenge(verifier),
                  "code_challenge_method": "S256"}
        location = call("GET", base + "/oauth2/authorize?" + urllib.parse.urlencode(params)
                        ).headers["Location"]
        token = call("POST", base + "/api/oauth2/token", headers=basic(),
                     form={"grant_type": "authorization_code", "code": query_of(location)[1]["code"],
                           "redirect_uri": REDIRECT_URI, "code_verifier": verifier}).json()
        reply = call("GET", f"{base}/api/users/@me/guilds/{GUILD_ID}/member",
                     headers={"Authorization": "Bearer " + token["access_token"]})
        assert reply.status == 200 and reply.json()["roles"] == []
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        proc.stdout.close()


def test_help_says_it_is_not_for_production():
    out = subprocess.run(["/usr/bin/python3", str(TESTS_DIR / "fake_discord.py"), "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "never for production" in " ".join(out.split())
    assert "never for production" in fake_discord.__doc__.splitlines()[0]
