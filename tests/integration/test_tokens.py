"""Tokens (API.md "Authentication"): what login issues, what PyJWT makes with
the same secret, and every way a presented token must be refused, checked
through nginx on GET /api/auth/me and GET /api/auth/verify.

Each refusal is its own test named after the attack, so a regression names
what it let through.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from helpers import WEEK, assert_error, get, insert_user, login, new_session, post


# ---- helpers ---------------------------------------------------------------------

def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assert_refused(stack, token):
    """401 not_authenticated with WWW-Authenticate on both routes that read tokens."""
    for path in ("/api/auth/me", "/api/auth/verify"):
        r = get(stack, path, token=token)
        assert_error(r, 401, "not_authenticated")
        assert r.headers.get("WWW-Authenticate") == "Bearer", r.headers
        assert "X-Auth-User-Id" not in r.headers


def assert_accepted(stack, token, user_id):
    r = get(stack, "/api/auth/me", token=token)
    assert r.status_code == 200, r.text
    assert r.json()["id"] == user_id
    r = get(stack, "/api/auth/verify", token=token)
    assert r.status_code == 204, r.text
    assert r.headers["X-Auth-User-Id"] == str(user_id)


def claims_for(stack, user_id, jti, **overrides):
    now = int(time.time())
    c = {"sub": str(user_id), "username": "x", "role": "member", "iat": now, "exp": now + 3600,
         "jti": jti, "iss": "farout", "must_change_password": False}
    for key, value in overrides.items():
        if value is None:
            c.pop(key, None)
        else:
            c[key] = value
    return c


def pyjwt(stack, claims, algorithm="HS256", secret=None, headers=None):
    return jwt.encode(claims, secret or stack.env["JWT_SECRET"], algorithm=algorithm, headers=headers)


def forge(stack, header, claims, sign_alg="HS256", secret=None):
    """Any header over claims, signed with HMAC (or unsigned for sign_alg None)."""
    signing_input = f"{b64(json.dumps(header))}.{b64(json.dumps(claims))}"
    if sign_alg is None:
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[sign_alg]
    key = (secret or stack.env["JWT_SECRET"]).encode()
    return signing_input + "." + b64(hmac.new(key, signing_input.encode(), digest).digest())


@pytest.fixture
def member(clean):
    """(stack, user id, jti of a live session) for a plain member."""
    uid = insert_user(clean, "nelly")
    return clean, uid, new_session(clean, uid)


# ---- what login issues ------------------------------------------------------------------

def test_issued_token_decodes_with_pyjwt(clean):
    uid = insert_user(clean, "nelly", role="officer")
    before = int(time.time())
    token = login(clean, "nelly")
    after = int(time.time())
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(token, clean.env["JWT_SECRET"], algorithms=["HS256"], issuer="farout",
                        options={"require": ["exp", "iat", "iss", "sub", "jti"]})
    assert set(claims) == {"sub", "username", "role", "iat", "exp", "jti", "iss", "must_change_password"}
    assert claims["sub"] == str(uid)
    assert claims["username"] == "nelly"
    assert claims["role"] == "officer"
    assert claims["iss"] == "farout"
    assert claims["must_change_password"] is False
    assert isinstance(claims["iat"], int) and before <= claims["iat"] <= after
    assert claims["exp"] == claims["iat"] + WEEK
    # At least 128 random bits, base64url.
    jti = claims["jti"]
    assert len(jti) >= 22 and set(jti) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    rows = clean.sql("auth", """SELECT user_id, extract(epoch FROM expires_at)::bigint, revoked_at
                                  FROM sessions WHERE jti = %s""", (jti,))
    assert rows == [(uid, claims["exp"], None)]
    # Another secret does not verify it.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-of-at-least-32-bytes!!", algorithms=["HS256"])


def test_token_made_by_pyjwt_is_accepted(member):
    stack, uid, jti = member
    assert_accepted(stack, pyjwt(stack, claims_for(stack, uid, jti)), uid)


def test_pyjwt_token_with_minimal_claims_is_accepted(member):
    stack, uid, jti = member
    now = int(time.time())
    token = pyjwt(stack, {"sub": str(uid), "jti": jti, "exp": now + 60, "iss": "farout"})
    assert_accepted(stack, token, uid)


def test_exp_within_the_30_second_leeway_is_accepted(member):
    stack, uid, jti = member
    assert_accepted(stack, pyjwt(stack, claims_for(stack, uid, jti, exp=int(time.time()) - 10)), uid)


def test_cookie_authenticates(member):
    stack, uid, jti = member
    r = get(stack, "/api/auth/me", cookie=pyjwt(stack, claims_for(stack, uid, jti)))
    assert r.status_code == 200 and r.json()["id"] == uid


def test_header_wins_over_cookie(member):
    stack, uid, jti = member
    good = pyjwt(stack, claims_for(stack, uid, jti))
    bad = pyjwt(stack, claims_for(stack, uid, jti), secret="another-secret-of-at-least-32-bytes!!")
    assert_error(get(stack, "/api/auth/me", token=bad, cookie=good), 401, "not_authenticated")
    r = get(stack, "/api/auth/me", token=good, cookie=bad)
    assert r.status_code == 200 and r.json()["id"] == uid


def test_bearer_scheme_is_case_insensitive(member):
    stack, uid, jti = member
    token = pyjwt(stack, claims_for(stack, uid, jti))
    r = get(stack, "/api/auth/me", headers={"Authorization": f"bearer {token}"})
    assert r.status_code == 200


# ---- refused: the algorithm ---------------------------------------------------------------

def test_alg_none_unsigned_is_refused(member):
    stack, uid, jti = member
    claims = claims_for(stack, uid, jti)
    for alg in ("none", "None", "NONE"):
        assert_refused(stack, forge(stack, {"alg": alg, "typ": "JWT"}, claims, sign_alg=None))


def test_alg_none_signed_is_refused(member):
    stack, uid, jti = member
    claims = claims_for(stack, uid, jti)
    for alg in ("none", "None", "nOnE"):
        assert_refused(stack, forge(stack, {"alg": alg, "typ": "JWT"}, claims))


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_another_hs_algorithm_is_refused(member, alg):
    stack, uid, jti = member
    assert_refused(stack, pyjwt(stack, claims_for(stack, uid, jti), algorithm=alg))


def test_rs256_header_with_hmac_signature_is_refused(member):
    # Key confusion: an RS256 header whose "signature" is an HMAC under the shared secret.
    stack, uid, jti = member
    assert_refused(stack, forge(stack, {"alg": "RS256", "typ": "JWT"}, claims_for(stack, uid, jti)))


def test_real_rs256_token_is_refused(member):
    stack, uid, jti = member
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    assert_refused(stack, jwt.encode(claims_for(stack, uid, jti), pem, algorithm="RS256"))


def test_missing_alg_is_refused(member):
    stack, uid, jti = member
    assert_refused(stack, forge(stack, {"typ": "JWT"}, claims_for(stack, uid, jti)))


def test_typ_other_than_jwt_is_refused(member):
    stack, uid, jti = member
    assert_refused(stack, forge(stack, {"alg": "HS256", "typ": "JWE"}, claims_for(stack, uid, jti)))


# ---- refused: the signature -----------------------------------------------------------------

def test_wrong_secret_is_refused(member):
    stack, uid, jti = member
    assert_refused(stack, pyjwt(stack, claims_for(stack, uid, jti),
                                secret="another-secret-of-at-least-32-bytes!!"))


def test_tampered_payload_raising_the_role_is_refused(clean):
    uid = insert_user(clean, "nelly")
    token = login(clean, "nelly")
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["role"] == "member"
    claims["role"] = "admin"
    tampered = f"{header}.{b64(json.dumps(claims, separators=(',', ':')))}.{signature}"
    assert_refused(clean, tampered)
    r = get(clean, "/api/auth/verify?role=admin", token=token)
    assert_error(r, 403, "forbidden")
    assert_accepted(clean, token, uid)


def test_signature_stripped_or_altered_is_refused(member):
    stack, uid, jti = member
    token = pyjwt(stack, claims_for(stack, uid, jti))
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    for t in (f"{header}.{payload}.", f"{header}.{payload}", f"{header}.{payload}.{flipped}",
              f"{header}.{payload}.{signature}=", f"{header}.{payload}.{signature[:-2]}"):
        assert_refused(stack, t)


# ---- refused: the claims ------------------------------------------------------------------------

def test_expired_token_is_refused(member):
    stack, uid, jti = member
    now = int(time.time())
    assert_refused(stack, pyjwt(stack, claims_for(stack, uid, jti, iat=now - 7200, exp=now - 3600)))
    assert_refused(stack, pyjwt(stack, claims_for(stack, uid, jti, exp=now - 31)))


def test_missing_exp_is_refused(member):
    stack, uid, jti = member
    assert_refused(stack, pyjwt(stack, claims_for(stack, uid, jti, exp=None)))


def test_exp_as_a_string_is_refused(member):
    stack, uid, jti = member
    token = forge(stack, {"alg": "HS256", "typ": "JWT"},
                  claims_for(stack, uid, jti, exp=str(int(time.time()) + 3600)))
    assert_refused(stack, token)


def test_nbf_in_the_future_is_refused(member):
    stack, uid, jti = member
    assert_refused(stack, pyjwt(stack, claims_for(stack, uid, jti, nbf=int(time.time()) + 3600)))


def test_iat_far_in_the_future_is_refused(member):
    stack, uid, jti = member
    now = int(time.time())
    assert_refused(stack, pyjwt(stack, claims_for(stack, uid, jti, iat=now + 3600, exp=now + 7200)))


def test_wrong_issuer_is_refused(member):
    stack, uid, jti = member
    assert_refused(stack, pyjwt(stack, claims_for(stack, uid, jti, iss="evil")))
    assert_refused(stack, pyjwt(stack, claims_for(stack, uid, jti, iss=None)))


def test_token_without_jti_is_refused(member):
    stack, uid, jti = member
    claims = claims_for(stack, uid, jti)
    del claims["jti"]
    assert_refused(stack, pyjwt(stack, claims))


def test_token_with_a_never_issued_jti_is_refused(member):
    stack, uid, _ = member
    assert_refused(stack, pyjwt(stack, claims_for(stack, uid, secrets.token_urlsafe(32))))


def test_another_users_session_is_refused(member):
    stack, uid, jti = member
    other = insert_user(stack, "mallory", role="admin")
    assert_refused(stack, pyjwt(stack, claims_for(stack, other, jti)))


@pytest.mark.parametrize("sub", [None, "", "abc", "1 OR 1=1", "-1", 1])
def test_bad_subject_is_refused(member, sub):
    stack, uid, jti = member
    claims = claims_for(stack, uid, jti)
    if sub is None:
        del claims["sub"]
    else:
        claims["sub"] = sub
    assert_refused(stack, forge(stack, {"alg": "HS256", "typ": "JWT"}, claims))


# ---- refused: the user and the session --------------------------------------------------------

def test_disabled_user_is_refused(member):
    stack, uid, jti = member
    token = pyjwt(stack, claims_for(stack, uid, jti))
    stack.sql("auth", "UPDATE users SET is_active = false WHERE id = %s", (uid,))
    assert_refused(stack, token)
    stack.sql("auth", "UPDATE users SET is_active = true WHERE id = %s", (uid,))
    assert_accepted(stack, token, uid)


def test_deleted_user_is_refused(member):
    stack, uid, jti = member
    token = pyjwt(stack, claims_for(stack, uid, jti))
    stack.sql("auth", "DELETE FROM users WHERE id = %s", (uid,))
    assert_refused(stack, token)
    assert stack.sql("auth", "SELECT count(*) FROM sessions WHERE jti = %s", (jti,))[0][0] == 0


def test_revoked_session_is_refused(clean):
    uid = insert_user(clean, "nelly")
    token = login(clean, "nelly")
    assert_accepted(clean, token, uid)
    r = post(clean, "/api/auth/logout", token)
    assert r.status_code == 204
    assert_refused(clean, token)


def test_session_revoked_in_the_database_is_refused(member):
    stack, uid, jti = member
    token = pyjwt(stack, claims_for(stack, uid, jti))
    stack.sql("auth", "UPDATE sessions SET revoked_at = now() WHERE jti = %s", (jti,))
    assert_refused(stack, token)


def test_session_expired_in_the_database_is_refused(member):
    stack, uid, jti = member
    token = pyjwt(stack, claims_for(stack, uid, jti))
    stack.sql("auth", "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE jti = %s", (jti,))
    assert_refused(stack, token)


# ---- refused: not a token at all -----------------------------------------------------------------

@pytest.mark.parametrize("token", [
    "", "garbage", "a.b", "a.b.c", "a.b.c.d", "...", "e30.e30.", "e30.e30.e30",
    "eyJhbGciOiJIUzI1NiJ9.%%%.abc", "null", "Bearer x",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.W10.abc",
])
def test_garbage_is_refused(clean, token):
    for path in ("/api/auth/me", "/api/auth/verify"):
        assert_error(get(clean, path, token=token), 401, "not_authenticated")
        assert_error(get(clean, path, cookie=token), 401, "not_authenticated")


def test_no_token_is_refused(clean):
    for path in ("/api/auth/me", "/api/auth/verify"):
        r = get(clean, path)
        assert_error(r, 401, "not_authenticated")
        assert r.headers["WWW-Authenticate"] == "Bearer"


def test_oversized_token_is_refused(member):
    stack, uid, jti = member
    token = pyjwt(stack, claims_for(stack, uid, jti, pad="x" * 5000))
    assert len(token) > 4096
    assert_refused(stack, token)
    # Just under the cap a correctly signed token still works.
    small = pyjwt(stack, claims_for(stack, uid, jti, pad="x" * 2500))
    assert len(small) < 4096
    assert_accepted(stack, small, uid)


def test_responses_never_echo_the_token(member):
    stack, uid, jti = member
    token = pyjwt(stack, claims_for(stack, uid, jti, iss="evil"))
    r = get(stack, "/api/auth/me", token=token)
    assert token not in r.text and jti not in r.text


# ---- configuration: rotation and algorithm --------------------------------------------------------

def test_previous_secret_still_verifies_but_never_signs(clean):
    uid = insert_user(clean, "nelly")
    old_secret = clean.env["JWT_SECRET"]
    old_token = login(clean, "nelly")
    new_secret = secrets.token_urlsafe(48)
    try:
        for name in ("login", "me"):
            clean.restart_program(name, {"JWT_SECRET": new_secret, "JWT_SECRET_PREVIOUS": old_secret})
        assert_accepted(clean, old_token, uid)
        new_token = login(clean, "nelly")
        jwt.decode(new_token, new_secret, algorithms=["HS256"], issuer="farout")
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(new_token, old_secret, algorithms=["HS256"])
        assert_accepted(clean, new_token, uid)
        # A third secret is neither.
        jti = new_session(clean, uid)
        assert_refused(clean, pyjwt(clean, claims_for(clean, uid, jti),
                                    secret="a-third-secret-of-at-least-32-bytes!!"))
        # Once the previous secret is dropped, its tokens stop working.
        clean.restart_program("me", {"JWT_SECRET": new_secret})
        assert_refused(clean, old_token)
        assert_accepted(clean, new_token, uid)
    finally:
        for name in ("login", "me"):
            clean.restart_program(name)


def test_configured_hs512_is_the_only_algorithm(clean):
    uid = insert_user(clean, "nelly")
    try:
        for name in ("login", "me"):
            clean.restart_program(name, {"JWT_ALGORITHM": "HS512", "JWT_ISSUER": "farout-test"})
        token = login(clean, "nelly")
        assert jwt.get_unverified_header(token)["alg"] == "HS512"
        claims = jwt.decode(token, clean.env["JWT_SECRET"], algorithms=["HS512"], issuer="farout-test")
        assert claims["iss"] == "farout-test"
        assert_accepted(clean, token, uid)
        jti = new_session(clean, uid)
        assert_refused(clean, pyjwt(clean, claims_for(clean, uid, jti, iss="farout-test")))
        assert_refused(clean, pyjwt(clean, claims_for(clean, uid, jti), algorithm="HS512"))
        assert_accepted(clean, pyjwt(clean, claims_for(clean, uid, jti, iss="farout-test"),
                                     algorithm="HS512"), uid)
    finally:
        for name in ("login", "me"):
            clean.restart_program(name)
