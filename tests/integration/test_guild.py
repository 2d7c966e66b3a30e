"""The Discord server gate (API.md "Discord server membership"): with
DISCORD_GUILD_ID set, sign-in is for members of that server only, and
DISCORD_RANK_ROLES / DISCORD_OFFICER_ROLES turn their server roles into the
member's rank and the user's role at every sign-in.

The gated tests run oauth-callback restarted with the gate configured (the
`gated` fixture, once for this module); the rest of the stack is the shared
one. Without the gate nothing changes: test_discord.py runs against the
default stack and checks that no member lookup is made.
"""

import subprocess
import time

import pytest
import requests

from harness import PROGRAMS, wait_until
from helpers import insert_user, session_token
from test_discord import (JSON, NELLY_ID, assert_error, assert_oauth_cookie_cleared, authorize,
                          begin, finish, member_row, query_of, sign_in, started, user_row)

GUILD_ID = "1300000000000000001"
CAPTAIN = "1310000000000000001"
PILOT = "1310000000000000002"
OFFICER = "1310000000000000003"
QUARTERMASTER = "1310000000000000004"  # a second officer role
UNRELATED = "1310000000000000009"

GATE_ENV = {
    "DISCORD_GUILD_ID": GUILD_ID,
    # Captain is listed first, so it wins over Pilot whatever order Discord lists the roles in.
    "DISCORD_RANK_ROLES": f"{CAPTAIN}=Captain, {PILOT}=Pilot,{OFFICER}=Wing Officer",
    "DISCORD_OFFICER_ROLES": f"{OFFICER},{QUARTERMASTER}",
}


def _gate_running(stack):
    return "oauth-callback" in stack.procs and stack.procs["oauth-callback"].poll() is None


@pytest.fixture(scope="module")
def gated_stack(stack):
    stack.ensure_running()
    stack.restart_program("oauth-callback", extra_env=GATE_ENV)
    yield stack
    stack.restart_program("oauth-callback")


@pytest.fixture
def gated(gated_stack):
    stack = gated_stack
    if not _gate_running(stack):  # a failed test took it down: back with the gate, not without
        stack.restart_program("oauth-callback", extra_env=GATE_ENV)
    stack.ensure_running()
    stack.reset_db()
    stack.fake.reset()
    return stack


def join(stack, roles=(), nick=None, user_id=None):
    """Puts the fake's current user (or user_id) in the server with these roles."""
    stack.fake.set_member(GUILD_ID, {"roles": list(roles), "nick": nick}, user_id=user_id)


def leave(stack):
    stack.fake.set_member(GUILD_ID, None)


def signed_in(stack, **kwargs):
    r = sign_in(stack, **kwargs)
    assert r.status_code == 200, r.text
    return r.json()


def role_of(stack, discord_id=NELLY_ID):
    return user_row(stack, "discord_id = %s", discord_id)["role"]


def rank_of(stack, discord_id=NELLY_ID):
    return member_row(stack, discord_id)["rank"]


def audit(stack, event):
    """The audit rows of one event kind, oldest first: (outcome, actor_user_id, target, detail)."""
    return stack.sql("auth", "SELECT outcome, actor_user_id, target, detail FROM audit_events "
                             "WHERE event = %s ORDER BY id", (event,))


def by_discord(**detail):
    return {"by": "discord", **detail}


# ---- membership --------------------------------------------------------------------------


def test_authorize_url_asks_for_the_member_scope(gated):
    r = begin(gated, requests.Session())
    assert r.status_code == 302
    assert query_of(r.headers["Location"])["scope"] == "identify email guilds.members.read"


def test_member_with_no_roles_signs_in(gated):
    stack = gated
    join(stack)
    body = signed_in(stack)
    assert body["user"]["discord_id"] == NELLY_ID
    assert body["user"]["role"] == "member"
    assert rank_of(stack) == "member"  # the table's default: no pair matched
    assert member_row(stack, NELLY_ID)["display_name"] == "Nelly"  # no nick: global_name

    (lookup,) = stack.fake.requests("member")
    assert lookup["path"] == f"/api/users/@me/guilds/{GUILD_ID}/member"
    assert lookup["method"] == "GET"
    assert lookup["headers"]["authorization"] == stack.fake.requests("me")[0]["headers"]["authorization"]
    assert [r["endpoint"] for r in stack.fake.requests()] == ["authorize", "token", "me", "member"]


def assert_nothing_written(stack):
    assert stack.sql("auth", "SELECT count(*) FROM users WHERE discord_id = %s", (NELLY_ID,)) == [(0,)]
    assert stack.sql("app", "SELECT count(*) FROM members") == [(0,)]
    assert stack.sql("auth", "SELECT count(*) FROM sessions") == [(0,)]
    assert audit(stack, "role_change") == [] and audit(stack, "member_update") == []


def test_non_member_is_refused_with_nothing_written_and_the_state_used(gated):
    stack = gated
    browser, cb = started(stack)
    r = finish(browser, cb)
    body = assert_error(r, 403, "not_guild_member")
    assert "Farout Discord server" in body["detail"]
    assert_oauth_cookie_cleared(r)
    # The refusal is on record, as every failed Discord sign-in is.
    assert audit(stack, "discord_login") == [("not_guild_member", None, NELLY_ID, {})]
    assert "farout_session" not in r.headers.get("Set-Cookie", "")
    assert_nothing_written(stack)
    assert stack.sql("auth", "SELECT count(*) FROM oauth_states") == [(0,)]

    # The state is used up: joining now does not make the same callback work.
    join(stack)
    assert_error(finish(browser, cb), 400, "invalid_state")
    assert_nothing_written(stack)


def test_non_member_redirect_mode(gated):
    stack = gated
    browser, cb = started(stack)
    r = finish(browser, cb, json=False)
    assert r.status_code == 302
    assert r.headers["Location"] == stack.public_url + "/login?error=not_guild_member"
    assert_oauth_cookie_cleared(r)
    assert_nothing_written(stack)


def test_discord_403_is_not_guild_member(gated):
    stack = gated
    join(stack)
    stack.fake.fail("member", "403")
    browser, cb = started(stack)
    assert_error(finish(browser, cb), 403, "not_guild_member")
    assert_nothing_written(stack)


def test_member_of_another_server_is_refused(gated):
    stack = gated
    stack.fake.set_member("1300000000000000002", {"roles": [OFFICER]})
    browser, cb = started(stack)
    assert_error(finish(browser, cb), 403, "not_guild_member")
    assert_nothing_written(stack)


def test_returning_user_who_left_is_refused_and_left_unchanged(gated):
    stack = gated
    join(stack, [OFFICER])
    first = signed_in(stack)["user"]
    stack.sql("auth", "UPDATE users SET last_login = now() - interval '1 day' WHERE id = %s",
              (first["id"],))
    before_user = user_row(stack, "id = %s", first["id"])
    before_member = member_row(stack, NELLY_ID)

    leave(stack)
    stack.fake.set_user({"avatar": "a_0123456789abcdef0123456789abcdef", "discriminator": "1234",
                         "email": "changed@example.com"})
    browser, cb = started(stack)
    assert_error(finish(browser, cb), 403, "not_guild_member")
    assert user_row(stack, "id = %s", first["id"]) == before_user  # not even last_login
    assert member_row(stack, NELLY_ID) == before_member
    assert stack.sql("auth", "SELECT count(*) FROM sessions WHERE user_id = %s", (first["id"],)) == [(1,)]


# ---- rank ----------------------------------------------------------------------------------


def test_rank_from_the_first_listed_pair_and_updated_at_the_next_sign_in(gated):
    stack = gated
    # Discord lists Pilot first; the configuration lists Captain first, and that order decides.
    join(stack, [UNRELATED, PILOT, CAPTAIN])
    signed_in(stack)
    assert rank_of(stack) == "Captain"
    rank_row = ("ok", None, NELLY_ID, by_discord(fields=["rank"]))
    assert audit(stack, "member_update") == [rank_row]

    join(stack, [PILOT])
    signed_in(stack)
    assert rank_of(stack) == "Pilot"
    assert audit(stack, "member_update") == [rank_row] * 2

    # The same rank again: nothing changes, nothing is recorded.
    signed_in(stack)
    assert audit(stack, "member_update") == [rank_row] * 2

    # A rank an officer set by hand follows the server again at the next sign-in.
    stack.sql("app", "UPDATE members SET rank = 'Cadet' WHERE discord_id = %s", (NELLY_ID,))
    signed_in(stack)
    assert rank_of(stack) == "Pilot"
    assert audit(stack, "member_update") == [rank_row] * 3


def test_member_holding_no_rank_role_keeps_their_rank(gated):
    stack = gated
    join(stack, [PILOT])
    signed_in(stack)
    assert rank_of(stack) == "Pilot"
    join(stack, [UNRELATED])
    signed_in(stack)
    assert rank_of(stack) == "Pilot"
    stack.sql("app", "UPDATE members SET rank = 'Veteran' WHERE discord_id = %s", (NELLY_ID,))
    join(stack, [])
    signed_in(stack)
    assert rank_of(stack) == "Veteran"
    assert len(audit(stack, "member_update")) == 1  # only the first sign-in's Pilot


def test_rank_is_set_on_the_row_a_sign_in_creates(gated):
    stack = gated
    join(stack, [OFFICER])
    signed_in(stack)
    assert rank_of(stack) == "Wing Officer"  # a rank with a space, from the third pair


# ---- role ----------------------------------------------------------------------------------


def test_officer_granted_and_later_removed(gated):
    stack = gated
    join(stack, [QUARTERMASTER])
    body = signed_in(stack)
    uid = str(body["user"]["id"])
    assert body["user"]["role"] == "officer"
    assert role_of(stack) == "officer"
    # Discord made the change: no user is its actor.
    granted = ("ok", None, uid, by_discord(**{"from": "member", "to": "officer"}))
    assert audit(stack, "role_change") == [granted]
    # The new session is an officer's: verify says so.
    r = requests.get(stack.url("/api/auth/verify?role=officer"),
                     headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=15)
    assert r.status_code == 204, r.text

    join(stack, [PILOT])
    body = signed_in(stack)
    assert body["user"]["role"] == "member"
    assert role_of(stack) == "member"
    removed = ("ok", None, uid, by_discord(**{"from": "officer", "to": "member"}))
    assert audit(stack, "role_change") == [granted, removed]

    # No change, no row.
    signed_in(stack)
    assert audit(stack, "role_change") == [granted, removed]


def test_officer_set_by_hand_without_the_role_is_demoted_at_sign_in(gated):
    stack = gated
    join(stack)
    uid = signed_in(stack)["user"]["id"]
    stack.sql("auth", "UPDATE users SET role = 'officer' WHERE id = %s", (uid,))
    assert signed_in(stack)["user"]["role"] == "member"


@pytest.mark.parametrize("roles", [[OFFICER], [], [UNRELATED, QUARTERMASTER]])
def test_admin_stays_admin(gated, roles):
    stack = gated
    uid = insert_user(stack, "nelly_admin", password=None, role="admin", discord_id=NELLY_ID)
    join(stack, roles)
    body = signed_in(stack)
    assert body["user"]["id"] == uid
    assert body["user"]["role"] == "admin"
    assert role_of(stack) == "admin"
    assert audit(stack, "role_change") == []


def test_link_applies_the_gate_and_the_roles(gated):
    stack = gated
    uid = insert_user(stack, "pilot_local", role="member")
    token = session_token(stack, uid)

    def link():
        browser = requests.Session()
        login = begin(stack, browser, link="1", headers={"Authorization": f"Bearer {token}"})
        return finish(browser, authorize(login))

    # Not in the server: nothing is linked.
    assert_error(link(), 403, "not_guild_member")
    assert user_row(stack, "id = %s", uid)["discord_id"] is None

    join(stack, [OFFICER])
    r = link()
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == uid
    assert r.json()["user"]["role"] == "officer"
    assert user_row(stack, "id = %s", uid)["discord_id"] == NELLY_ID
    assert audit(stack, "role_change") == [
        ("ok", None, str(uid), by_discord(**{"from": "member", "to": "officer"}))]


def test_totp_account_gets_its_role_while_the_second_step_is_pending(gated):
    """A TOTP account's Discord sign-in stops before the session; the server's roles
    still apply, in a transaction of their own, and the second step's session has them."""
    from test_totp import current_step, second_step, totp, totp_user

    stack = gated
    uid, secret, _, _ = totp_user(stack, "totp_pilot")
    stack.sql("auth", "UPDATE users SET discord_id = %s WHERE id = %s", (NELLY_ID, uid))
    join(stack, [OFFICER])
    r = sign_in(stack)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"mfa_required", "mfa_token"}
    assert role_of(stack) == "officer"
    assert audit(stack, "role_change") == [
        ("ok", None, str(uid), by_discord(**{"from": "member", "to": "officer"}))]
    r = second_step(stack, r.json()["mfa_token"], totp(secret, current_step()))
    assert r.status_code == 200, r.text
    assert r.json()["user"]["role"] == "officer"


# ---- nickname ------------------------------------------------------------------------------


def test_nick_becomes_display_name_on_insert_only(gated):
    stack = gated
    join(stack, nick="Nel the Bold")
    signed_in(stack)
    assert member_row(stack, NELLY_ID)["display_name"] == "Nel the Bold"

    join(stack, nick="Someone Else")
    signed_in(stack)
    assert member_row(stack, NELLY_ID)["display_name"] == "Nel the Bold"


@pytest.mark.parametrize("nick", ["", "   ", "bad\u0007nick"])
def test_unusable_nick_falls_back_to_the_discord_name(gated, nick):
    stack = gated
    join(stack, nick=nick)
    signed_in(stack)
    assert member_row(stack, NELLY_ID)["display_name"] == "Nelly"


# ---- Discord failing -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["500", "429", "slow", "close", "malformed"])
def test_member_lookup_failure_is_discord_unavailable(gated, mode):
    stack = gated
    join(stack, [OFFICER])
    timeout_s = int(stack.env["DISCORD_TIMEOUT_MS"]) / 1000
    stack.fake.fail("member", mode, slow_seconds=timeout_s + 3)
    browser, cb = started(stack)
    t0 = time.monotonic()
    r = finish(browser, cb)
    elapsed = time.monotonic() - t0
    assert_error(r, 502, "discord_unavailable")
    assert_oauth_cookie_cleared(r)
    assert elapsed < timeout_s + 1.5, elapsed
    if mode == "slow":
        assert elapsed >= timeout_s - 0.1, elapsed
    assert_nothing_written(stack)
    # A rate limit is never retried: one call, whatever retry_after said. (A connection
    # closed without an answer may be tried once more by libcurl, on a fresh connection.)
    if mode != "close":
        assert len(stack.fake.requests("member")) == 1

    stack.fake.fail("member", None)
    for _ in range(3):
        assert sign_in(stack).status_code == 200


def test_member_lookup_failure_redirect_mode(gated):
    stack = gated
    join(stack)
    stack.fake.fail("member", "429")
    browser, cb = started(stack)
    r = finish(browser, cb, json=False)
    assert r.status_code == 302
    assert r.headers["Location"] == stack.public_url + "/login?error=discord_unavailable"


@pytest.mark.parametrize("member", [
    {"roles": None},
    {"roles": "1310000000000000001"},
    {"roles": [1310000000000000001]},
    {"roles": ["not-a-role"]},
])
def test_member_object_without_a_clean_roles_list_is_discord_unavailable(gated, member):
    stack = gated
    join(stack)
    stack.fake.set_member(GUILD_ID, member)
    browser, cb = started(stack)
    assert_error(finish(browser, cb), 502, "discord_unavailable")
    assert_nothing_written(stack)


# ---- configuration --------------------------------------------------------------------------


CONFIG_ERRORS = [
    ("DISCORD_GUILD_ID", {"DISCORD_GUILD_ID": "farout"}),
    ("DISCORD_GUILD_ID", {"DISCORD_GUILD_ID": "123456789012345678901"}),
    ("DISCORD_GUILD_ID", {"DISCORD_GUILD_ID": "18446744073709551616"}),  # 2^64
    ("DISCORD_RANK_ROLES", {**GATE_ENV, "DISCORD_RANK_ROLES": "captain=Captain"}),
    ("DISCORD_RANK_ROLES", {**GATE_ENV, "DISCORD_RANK_ROLES": f"{CAPTAIN}Captain"}),
    ("DISCORD_RANK_ROLES", {**GATE_ENV, "DISCORD_RANK_ROLES": f"{CAPTAIN}="}),
    ("DISCORD_RANK_ROLES", {**GATE_ENV, "DISCORD_RANK_ROLES": f"{CAPTAIN}=   "}),
    ("DISCORD_RANK_ROLES", {**GATE_ENV, "DISCORD_RANK_ROLES": f"{CAPTAIN}={'x' * 33}"}),
    ("DISCORD_RANK_ROLES", {**GATE_ENV, "DISCORD_RANK_ROLES": f"{CAPTAIN}=A,{CAPTAIN}=B"}),
    ("DISCORD_RANK_ROLES", {**GATE_ENV, "DISCORD_RANK_ROLES": f"{CAPTAIN}=A,,{PILOT}=B"}),
    ("DISCORD_RANK_ROLES", {**GATE_ENV, "DISCORD_RANK_ROLES": f"{CAPTAIN}=A {PILOT}=B"}),
    ("DISCORD_RANK_ROLES", {"DISCORD_RANK_ROLES": f"{CAPTAIN}=Captain"}),  # no server
    ("DISCORD_OFFICER_ROLES", {**GATE_ENV, "DISCORD_OFFICER_ROLES": "officers"}),
    ("DISCORD_OFFICER_ROLES", {**GATE_ENV, "DISCORD_OFFICER_ROLES": f"{OFFICER},{OFFICER}"}),
    ("DISCORD_OFFICER_ROLES", {**GATE_ENV, "DISCORD_OFFICER_ROLES": f"{OFFICER},"}),
    ("DISCORD_OFFICER_ROLES", {"DISCORD_OFFICER_ROLES": OFFICER}),  # no server
]


@pytest.mark.parametrize("name", PROGRAMS)
@pytest.mark.parametrize("variable,env", CONFIG_ERRORS,
                         ids=[f"{v}-{i}" for i, (v, _) in enumerate(CONFIG_ERRORS)])
def test_config_error_names_the_variable(stack, name, variable, env):
    sock = stack.dir / "run" / f"guild-cfg-{name}.sock"
    result = stack.run_program(name, ["--listen", f"unix:{sock}", "--workers", "1"],
                               extra_env=env, timeout=15)
    err = result.stderr.decode(errors="replace")
    assert result.returncode != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert variable in lines[0], lines[0]
    assert stack.env["DISCORD_CLIENT_SECRET"] not in err


def test_a_valid_gate_configuration_starts_every_program(stack):
    for name in PROGRAMS:
        sock = stack.dir / "run" / f"guild-ok-{name}.sock"
        proc = subprocess.Popen(
            [str(stack.program_path(name)), "--listen", f"unix:{sock}", "--workers", "1"],
            env=stack.program_env(GATE_ENV), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            wait_until(lambda: proc.poll() is not None or sock.exists(), 10)
            assert proc.poll() is None and sock.exists(), proc.stderr.read().decode(errors="replace")
        finally:
            proc.terminate()
            assert proc.wait(10) == 0
            stack._note_sanitizer(f"{name} with the gate", proc.stderr.read().decode(errors="replace"))
            proc.stderr.close()


# ---- the login page ---------------------------------------------------------------------------


def test_login_page_says_why_in_words(gated, browser):
    """A refused browser, clicked through the real pages: it lands on the sign-in page,
    which says why in words."""
    browser.open("/login?next=/members")
    browser.click("#discord")
    browser.wait_url("/login?error=not_guild_member")
    message = browser.wait_text("#message", "This sign-in is for members of the Farout Discord server")
    assert "not_guild_member" not in message.text
    assert "farout_session" not in {c["name"] for c in browser.driver.get_cookies()}
    assert_nothing_written(gated)

    # Once in the server, the same button signs in.
    join(gated)
    browser.sign_in_with_discord("/members")
