"""The member directory (API.md "Members", program members) through nginx.

Choices this suite pins down where API.md leaves room:
- the list takes only rank, q, limit and offset: any other parameter, one
  given twice, a bad escape or a value out of range is 400 invalid_request
  naming the parameter; an empty q means no search, an empty rank, limit or
  offset is malformed;
- display_name and rank may not be blank or hold control characters; bio may
  hold line breaks and tabs but no other control character; avatar_url is
  http(s), printable ASCII, with a host;
- PATCH checks in this order: the body (400), an id that cannot be a Discord
  id (404), the write rules (403), then the row (404); POST and DELETE check
  the admin role first (403 forbidden), then the body;
- forbidden_field and unknown_field bodies carry "field" besides error and
  detail; POST answers 201 with a Location header.
"""

import functools
import http.client
import json
import re
import time

import pytest
import requests

import helpers
from harness import ADMIN_PASSWORD, ADMIN_USERNAME
from helpers import MEMBER_KEYS, PASSWORD, TIMEOUT, change_admin_password, get, login, login_response, request

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

ALICE = "80351110224678912"
BOB = "80351110224678913"
OLGA = "80351110224678914"   # the officer
MAX_SNOWFLAKE = "18446744073709551615"


# ---- helpers ---------------------------------------------------------------------

# The members program answers every error with Cache-Control: no-store.
assert_error = functools.partial(helpers.assert_error, no_store=True)


class RawResponse:
    """What assert_error reads, from http.client (requests re-encodes a bad %-escape)."""

    def __init__(self, resp):
        self.status_code = resp.status
        self.headers = requests.structures.CaseInsensitiveDict(resp.getheaders())
        self.content = resp.read()
        self.text = self.content.decode(errors="replace")

    def json(self):
        return json.loads(self.content)


def raw_get(stack, path, token):
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=TIMEOUT)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        return RawResponse(conn.getresponse())
    finally:
        conn.close()


def patch(stack, discord_id, body, token=None, **kwargs):
    return request(stack, "PATCH", f"/api/members/{discord_id}", token, json=body, **kwargs)


def create(stack, body, token=None, **kwargs):
    return request(stack, "POST", "/api/members", token, json=body, **kwargs)


def delete(stack, discord_id, token=None, **kwargs):
    return request(stack, "DELETE", f"/api/members/{discord_id}", token, **kwargs)


def user(stack, name, role="member", discord_id=None):
    """A local user (created with farout-admin) with, optionally, a Discord id; returns its token."""
    stack.add_user(name, PASSWORD, role=role)
    if discord_id is not None:
        stack.sql("auth", "UPDATE users SET discord_id = %s WHERE username = %s", (discord_id, name))
    return login(stack, name)


def session_cookie(stack, username):
    """The farout_session cookie a sign-in sets."""
    r = login_response(stack, username)
    assert r.status_code == 200, r.text
    return r.cookies.get("farout_session")


def insert_member(stack, discord_id, display_name, rank="member", **extra):
    cols = ["discord_id", "display_name", "rank", *extra]
    stack.sql("app", f"INSERT INTO members ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
              (discord_id, display_name, rank, *extra.values()))


def row(stack, discord_id):
    rows = stack.sql("app", "SELECT display_name, bio, avatar_url, rank, missions_completed, "
                            "trainings_completed, stats, updated_at FROM members WHERE discord_id = %s",
                     (discord_id,))
    return rows[0] if rows else None


def assert_member_shape(m):
    assert set(m) == MEMBER_KEYS, m
    assert isinstance(m["id"], int) and not isinstance(m["id"], bool)
    assert isinstance(m["discord_id"], str) and re.fullmatch(r"\d{1,20}", m["discord_id"])
    assert isinstance(m["display_name"], str)
    assert m["bio"] is None or isinstance(m["bio"], str)
    assert m["avatar_url"] is None or isinstance(m["avatar_url"], str)
    assert isinstance(m["rank"], str)
    assert isinstance(m["missions_completed"], list)
    assert isinstance(m["trainings_completed"], list)
    assert isinstance(m["stats"], dict)
    assert TIME_RE.match(m["created_at"]) and TIME_RE.match(m["updated_at"]), m


class People:
    """An admin (local), an officer, two members with member rows, each with a token."""

    def __init__(self, stack):
        self.stack = stack
        insert_member(stack, ALICE, "Alice")
        insert_member(stack, BOB, "Bob", bio="Bob's bio")
        insert_member(stack, OLGA, "Olga", rank="officer")
        self.admin = user(stack, "boss", "admin")
        self.officer = user(stack, "olga", "officer", OLGA)
        self.alice = user(stack, "alice", "member", ALICE)
        self.bob = user(stack, "bob", "member", BOB)


@pytest.fixture
def people(clean):
    return People(clean)


# ---- authentication --------------------------------------------------------------------

ROUTES = [
    ("GET", "/api/members", None),
    ("GET", "/api/members/me", None),
    ("GET", f"/api/members/{ALICE}", None),
    ("POST", "/api/members", {"discord_id": "1", "display_name": "X"}),
    ("PATCH", f"/api/members/{ALICE}", {"bio": "x"}),
    ("DELETE", f"/api/members/{ALICE}", None),
]


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_every_route_needs_a_token(clean, method, path, body):
    insert_member(clean, ALICE, "Alice")
    r = request(clean, method, path, json=body)
    assert_error(r, 401, "not_authenticated")
    assert r.headers.get("WWW-Authenticate") == "Bearer"
    r = request(clean, method, path, token="not.a.token", json=body)
    assert_error(r, 401, "not_authenticated")
    assert row(clean, ALICE) is not None


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_seeded_admin_must_change_password_first(clean, method, path, body):
    insert_member(clean, ALICE, "Alice")
    token = login(clean, ADMIN_USERNAME, ADMIN_PASSWORD)
    assert_error(request(clean, method, path, token, json=body), 403, "password_change_required")
    assert row(clean, ALICE) is not None


def test_seeded_admin_after_the_change_may_create(clean):
    token = change_admin_password(clean, login(clean, ADMIN_USERNAME, ADMIN_PASSWORD))
    r = create(clean, {"discord_id": ALICE, "display_name": "Alice"}, token)
    assert r.status_code == 201, r.text


def test_disabled_user_is_refused(people):
    people.stack.sql("auth", "UPDATE users SET is_active = false WHERE username = 'alice'")
    assert_error(get(people.stack, "/api/members", people.alice), 401, "not_authenticated")


# ---- list ------------------------------------------------------------------------------

def test_list_shape(people):
    r = get(people.stack, "/api/members", people.alice)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers.get("Cache-Control") == "no-store"
    body = r.json()
    assert set(body) == {"items", "total", "limit", "offset"}
    assert body["total"] == 3 and body["limit"] == 50 and body["offset"] == 0
    assert [m["display_name"] for m in body["items"]] == ["Alice", "Bob", "Olga"]
    for m in body["items"]:
        assert_member_shape(m)
    bob = body["items"][1]
    assert bob["discord_id"] == BOB and bob["bio"] == "Bob's bio" and bob["rank"] == "member"
    assert bob["missions_completed"] == [] and bob["trainings_completed"] == [] and bob["stats"] == {}


def test_list_of_an_empty_directory(clean):
    token = user(clean, "nelly")
    r = get(clean, "/api/members", token)
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", "", "1.5", "+5", "2e1", "99999999999999999999"])
def test_limit_out_of_range_or_malformed(people, limit):
    body = assert_error(get(people.stack, f"/api/members?limit={limit}", people.alice),
                        400, "invalid_request")
    assert "limit" in body["detail"]


@pytest.mark.parametrize("offset", ["-1", "abc", "", "1.0"])
def test_offset_malformed(people, offset):
    body = assert_error(get(people.stack, f"/api/members?offset={offset}", people.alice),
                        400, "invalid_request")
    assert "offset" in body["detail"]


@pytest.mark.parametrize("query,name", [
    ("sort=name", "sort"), ("page=2", "page"), ("limit=5&limit=6", "limit"),
    ("q=%ff", "q"), ("q=%zz", "q"), ("rank=", "rank"), ("rank=" + "r" * 33, "rank"),
])
def test_other_parameters_are_refused(people, query, name):
    body = assert_error(raw_get(people.stack, f"/api/members?{query}", people.alice), 400,
                        "invalid_request")
    assert name in body["detail"]


def test_limit_bounds_accepted(people):
    for limit in (1, 200):
        r = get(people.stack, f"/api/members?limit={limit}", people.alice)
        assert r.status_code == 200, r.text
        assert r.json()["limit"] == limit
        assert len(r.json()["items"]) == min(limit, 3)


def test_pages_offset_total_and_order(clean):
    token = user(clean, "nelly")
    # Equal names are ordered by id; rows are inserted out of name order.
    names = ["delta", "Alpha", "charlie", "bravo", "Echo", "alpha", "bravo", "Zulu", "bravo"]
    for i, name in enumerate(names):
        insert_member(clean, str(900 + i), name)
    # The database orders bytewise (C.UTF-8): capitals first.
    expected = [r[1] for r in sorted(clean.sql("app", "SELECT id, discord_id, display_name FROM members"),
                                     key=lambda r: (r[2].encode(), r[0]))]
    assert len(expected) == len(names)
    seen = []
    for offset in range(0, 12, 4):
        r = get(clean, f"/api/members?limit=4&offset={offset}", token)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(names) and body["limit"] == 4 and body["offset"] == offset
        seen += [m["discord_id"] for m in body["items"]]
    assert seen == expected
    assert [clean.sql("app", "SELECT display_name FROM members WHERE discord_id = %s", (d,))[0][0]
            for d in seen] == ["Alpha", "Echo", "Zulu", "alpha", "bravo", "bravo", "bravo", "charlie", "delta"]
    # Equal names keep insertion (id) order.
    bravos = get(clean, "/api/members?q=bravo", token).json()["items"]
    assert [m["discord_id"] for m in bravos] == ["903", "906", "908"]


def test_offset_past_the_end_still_has_the_total(people):
    r = get(people.stack, "/api/members?offset=1000", people.alice)
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [], "total": 3, "limit": 50, "offset": 1000}
    r = get(people.stack, "/api/members?offset=1000&q=o", people.alice)
    assert r.json() == {"items": [], "total": 2, "limit": 50, "offset": 1000}
    r = get(people.stack, "/api/members?offset=1000&rank=officer", people.alice)
    assert r.json() == {"items": [], "total": 1, "limit": 50, "offset": 1000}


def test_rank_filter_and_its_total(people):
    s = people.stack
    for i in range(5):
        insert_member(s, str(700 + i), f"Recruit {i}", rank="recruit")
    r = get(s, "/api/members?rank=recruit&limit=2", people.alice)
    body = r.json()
    assert body["total"] == 5
    assert [m["display_name"] for m in body["items"]] == ["Recruit 0", "Recruit 1"]
    assert all(m["rank"] == "recruit" for m in body["items"])
    assert get(s, "/api/members?rank=officer", people.alice).json()["total"] == 1
    assert get(s, "/api/members?rank=nobody", people.alice).json() == \
        {"items": [], "total": 0, "limit": 50, "offset": 0}
    assert get(s, "/api/members?rank=Recruit", people.alice).json()["total"] == 0


def test_totals_follow_rank_changes_and_deletes(people):
    s = people.stack
    assert get(s, "/api/members?rank=officer", people.alice).json()["total"] == 1
    assert patch(s, ALICE, {"rank": "officer"}, people.officer).status_code == 200
    assert get(s, "/api/members?rank=officer", people.alice).json()["total"] == 2
    assert get(s, "/api/members?rank=member", people.alice).json()["total"] == 1
    assert delete(s, BOB, people.admin).status_code == 204
    assert get(s, "/api/members?rank=member", people.alice).json()["total"] == 0
    assert get(s, "/api/members", people.alice).json()["total"] == 2
    # Writers other than this API (the OAuth upsert, an operator's SQL) keep totals right too.
    s.sql("app", "UPDATE members SET rank = 'veteran' WHERE discord_id = %s", (OLGA,))
    s.sql("app", "DELETE FROM members WHERE discord_id = %s", (ALICE,))
    assert get(s, "/api/members?rank=officer", people.alice).json()["total"] == 0
    assert get(s, "/api/members?rank=veteran", people.alice).json()["total"] == 1
    assert get(s, "/api/members", people.alice).json()["total"] == 1


def test_search_is_case_insensitive_substring(people):
    s = people.stack
    insert_member(s, "601", "Zoë Quinn")
    insert_member(s, "602", "MALICE")
    r = get(s, "/api/members?q=LIC", people.alice).json()
    assert [m["display_name"] for m in r["items"]] == ["Alice", "MALICE"] and r["total"] == 2
    assert [m["display_name"] for m in get(s, "/api/members?q=zoË", people.alice).json()["items"]] == \
        ["Zoë Quinn"]
    assert [m["display_name"] for m in get(s, "/api/members?q=%C3%AB+q", people.alice).json()["items"]] \
        == ["Zoë Quinn"]
    assert get(s, "/api/members?q=", people.alice).json()["total"] == 5


def test_search_wildcards_match_literally(people):
    s = people.stack
    names = ["100% Pilot", "100x Pilot", "a_b", "axb", "back\\slash", "backXslash", "50%_off"]
    for i, name in enumerate(names):
        insert_member(s, str(500 + i), name)

    def found(q):
        r = get(s, "/api/members", people.alice, params={"q": q})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(body["items"])
        return sorted(m["display_name"] for m in body["items"])

    assert found("%") == ["100% Pilot", "50%_off"]
    assert found("_") == ["50%_off", "a_b"]
    assert found("0% p") == ["100% Pilot"]
    assert found("a_b") == ["a_b"]
    assert found("\\") == ["back\\slash"]
    assert found("k\\s") == ["back\\slash"]
    assert found("%_") == ["50%_off"]
    assert found("pilot") == ["100% Pilot", "100x Pilot"]


def test_search_with_rank_and_paging(people):
    s = people.stack
    for i in range(6):
        insert_member(s, str(400 + i), f"Wing {i}", rank="officer" if i % 2 else "member")
    r = get(s, "/api/members?q=wing&rank=officer&limit=2&offset=1", people.alice).json()
    assert r["total"] == 3 and r["limit"] == 2 and r["offset"] == 1
    assert [m["display_name"] for m in r["items"]] == ["Wing 3", "Wing 5"]


def test_jsonb_fields_come_back_as_json(people):
    s = people.stack
    stats = {"kills": 12, "ratio": 0.75, "nested": {"list": [1, "two", None, True]}, "big": 9007199254740993}
    r = patch(s, ALICE, {"stats": stats, "missions_completed": ["m1", {"id": 2}],
                         "trainings_completed": [1, 2]}, people.admin)
    assert r.status_code == 200, r.text
    for m in (r.json(), get(s, f"/api/members/{ALICE}", people.bob).json()):
        assert m["stats"]["kills"] == 12 and m["stats"]["ratio"] == 0.75
        assert m["stats"]["nested"] == {"list": [1, "two", None, True]}
        assert m["missions_completed"] == ["m1", {"id": 2}]
        assert m["trainings_completed"] == [1, 2]


# ---- get one and me ---------------------------------------------------------------------

def test_get_one(people):
    r = get(people.stack, f"/api/members/{BOB}", people.alice)
    assert r.status_code == 200, r.text
    m = r.json()
    assert_member_shape(m)
    assert m["discord_id"] == BOB and m["display_name"] == "Bob"
    assert r.headers.get("Cache-Control") == "no-store"


@pytest.mark.parametrize("ident", ["1", "99999999999999999", MAX_SNOWFLAKE])
def test_get_unknown_member_is_404(people, ident):
    assert_error(get(people.stack, f"/api/members/{ident}", people.alice), 404, "not_found")


@pytest.mark.parametrize("ident", ["abc", "123abc", "-1", "+1", "1.0", "123456789012345678901",
                                   "18446744073709551616", "%20123", "0x10"])
def test_get_impossible_id_is_404(people, ident):
    assert_error(get(people.stack, f"/api/members/{ident}", people.alice), 404, "not_found")


def test_max_snowflake_is_a_string(people):
    s = people.stack
    r = create(s, {"discord_id": MAX_SNOWFLAKE, "display_name": "Max"}, people.admin)
    assert r.status_code == 201, r.text
    assert r.json()["discord_id"] == MAX_SNOWFLAKE
    assert '"discord_id":"18446744073709551615"' in r.text.replace(" ", "")
    r = get(s, f"/api/members/{MAX_SNOWFLAKE}", people.alice)
    assert r.status_code == 200 and r.json()["discord_id"] == MAX_SNOWFLAKE
    assert all(isinstance(m["discord_id"], str)
               for m in get(s, "/api/members", people.alice).json()["items"])


def test_me(people):
    r = get(people.stack, "/api/members/me", people.bob)
    assert r.status_code == 200, r.text
    assert r.json()["discord_id"] == BOB and r.json()["bio"] == "Bob's bio"


def test_me_without_discord_id_is_404(people):
    assert_error(get(people.stack, "/api/members/me", people.admin), 404, "not_found")


def test_me_without_member_row_is_404(people):
    token = user(people.stack, "ghost", "member", "333")
    assert_error(get(people.stack, "/api/members/me", token), 404, "not_found")


def test_patch_and_delete_of_me_are_404(people):
    s = people.stack
    assert_error(patch(s, "me", {"bio": "x"}, people.admin), 404, "not_found")
    assert_error(patch(s, "me", {"bio": "x"}, people.alice), 404, "not_found")
    assert_error(delete(s, "me", people.admin), 404, "not_found")
    assert row(s, ALICE)[1] is None
    r = request(s, "POST", "/api/members/me", people.admin, json={})
    assert_error(r, 405, "method_not_allowed")
    assert r.headers.get("Allow") == "GET, PATCH, DELETE"


def test_other_methods_are_405(people):
    r = request(people.stack, "PUT", f"/api/members/{ALICE}", people.admin, json={"bio": "x"})
    assert_error(r, 405, "method_not_allowed")
    assert r.headers.get("Allow") == "GET, PATCH, DELETE"
    r = request(people.stack, "DELETE", "/api/members", people.admin)
    assert_error(r, 405, "method_not_allowed")
    assert r.headers.get("Allow") == "GET, POST"


# ---- who may write what ----------------------------------------------------------------------

def test_member_edits_own_display_name_and_bio(people):
    s = people.stack
    r = patch(s, ALICE, {"display_name": "Alice Liddell", "bio": "Down the rabbit hole"}, people.alice)
    assert r.status_code == 200, r.text
    m = r.json()
    assert_member_shape(m)
    assert m["display_name"] == "Alice Liddell" and m["bio"] == "Down the rabbit hole"
    assert row(s, ALICE)[:2] == ("Alice Liddell", "Down the rabbit hole")
    r = patch(s, ALICE, {"bio": None}, people.alice)
    assert r.status_code == 200 and r.json()["bio"] is None


@pytest.mark.parametrize("field,value", [
    ("rank", "captain"), ("avatar_url", "https://example.com/a.png"), ("stats", {"x": 1}),
    ("missions_completed", ["m"]), ("trainings_completed", ["t"]),
])
def test_member_may_not_write_other_own_fields(people, field, value):
    before = row(people.stack, ALICE)
    r = patch(people.stack, ALICE, {"bio": "allowed", field: value}, people.alice)
    assert_error(r, 403, "forbidden_field", field=field)
    assert row(people.stack, ALICE) == before


def test_member_may_not_edit_another_member(people):
    before = row(people.stack, BOB)
    assert_error(patch(people.stack, BOB, {"bio": "hacked"}, people.alice), 403, "forbidden")
    assert_error(patch(people.stack, BOB, {"display_name": "X"}, people.alice), 403, "forbidden")
    assert row(people.stack, BOB) == before


def test_officer_edits_rank_missions_trainings_stats_of_others(people):
    s = people.stack
    body = {"rank": "sergeant", "missions_completed": ["op-1", "op-2"],
            "trainings_completed": ["basic"], "stats": {"sorties": 3}}
    r = patch(s, BOB, body, people.officer)
    assert r.status_code == 200, r.text
    m = r.json()
    for key, value in body.items():
        assert m[key] == value
    assert m["display_name"] == "Bob" and m["bio"] == "Bob's bio"


@pytest.mark.parametrize("field,value", [
    ("display_name", "Robert"), ("bio", "new"), ("bio", None), ("avatar_url", None),
    ("avatar_url", "https://example.com/b.png"),
])
def test_officer_may_not_edit_anothers_profile_fields(people, field, value):
    before = row(people.stack, BOB)
    r = patch(people.stack, BOB, {"rank": "x", field: value}, people.officer)
    assert_error(r, 403, "forbidden_field", field=field)
    assert row(people.stack, BOB) == before


def test_officer_edits_own_profile_but_not_avatar(people):
    s = people.stack
    r = patch(s, OLGA, {"display_name": "Olga O.", "bio": "Officer", "stats": {"a": 1}}, people.officer)
    assert r.status_code == 200, r.text
    assert_error(patch(s, OLGA, {"avatar_url": None}, people.officer), 403, "forbidden_field",
                 field="avatar_url")


def test_officer_may_not_create_or_delete(people):
    s = people.stack
    assert_error(create(s, {"discord_id": "42", "display_name": "New"}, people.officer), 403, "forbidden")
    assert_error(delete(s, BOB, people.officer), 403, "forbidden")
    assert_error(create(s, {"discord_id": "42", "display_name": "New"}, people.alice), 403, "forbidden")
    assert_error(delete(s, BOB, people.alice), 403, "forbidden")
    assert row(s, BOB) is not None
    assert s.sql("app", "SELECT count(*) FROM members WHERE discord_id = '42'")[0][0] == 0


def test_admin_writes_every_field_on_anyone(people):
    body = {"display_name": "Bobby", "bio": None, "avatar_url": "https://cdn.example/b.gif",
            "rank": "veteran", "missions_completed": [1], "trainings_completed": [2], "stats": {"k": 3}}
    r = patch(people.stack, BOB, body, people.admin)
    assert r.status_code == 200, r.text
    for key, value in body.items():
        assert r.json()[key] == value
    assert patch(people.stack, BOB, {"avatar_url": None}, people.admin).json()["avatar_url"] is None


def test_roles_come_from_the_database_on_each_request(people):
    s = people.stack
    assert patch(s, BOB, {"rank": "sergeant"}, people.officer).status_code == 200
    s.sql("auth", "UPDATE users SET role = 'member' WHERE username = 'olga'")
    assert_error(patch(s, BOB, {"rank": "private"}, people.officer), 403, "forbidden")
    assert_error(patch(s, OLGA, {"rank": "general"}, people.officer), 403, "forbidden_field", field="rank")
    assert row(s, BOB)[3] == "sergeant"
    # And a promotion takes effect at once, with the same token.
    s.sql("auth", "UPDATE users SET role = 'admin' WHERE username = 'alice'")
    assert patch(s, BOB, {"display_name": "Promoted edit"}, people.alice).status_code == 200
    assert delete(s, BOB, people.alice).status_code == 204


# ---- create and delete ---------------------------------------------------------------------------

def test_admin_creates_then_duplicate_conflicts(people):
    s = people.stack
    r = create(s, {"discord_id": "4242", "display_name": "Newbie"}, people.admin)
    assert r.status_code == 201, r.text
    m = r.json()
    assert_member_shape(m)
    assert m["discord_id"] == "4242" and m["display_name"] == "Newbie" and m["rank"] == "member"
    assert m["bio"] is None and m["avatar_url"] is None
    assert m["missions_completed"] == [] and m["trainings_completed"] == [] and m["stats"] == {}
    assert r.headers.get("Location") == "/api/members/4242"
    assert get(s, "/api/members/4242", people.alice).json() == m
    assert_error(create(s, {"discord_id": "4242", "display_name": "Again"}, people.admin), 409, "conflict")
    assert row(s, "4242")[0] == "Newbie"


def test_admin_creates_with_every_field(people):
    body = {"discord_id": "4343", "display_name": "Full", "bio": "b", "avatar_url": "http://x.example/a.png",
            "rank": "recruit", "missions_completed": ["a"], "trainings_completed": [{"t": 1}],
            "stats": {"s": [1]}}
    r = create(people.stack, body, people.admin)
    assert r.status_code == 201, r.text
    for key, value in body.items():
        assert r.json()[key] == value


@pytest.mark.parametrize("body,status,code,field", [
    ({"display_name": "NoId"}, 400, "invalid_request", "discord_id"),
    ({"discord_id": "4444"}, 400, "invalid_request", "display_name"),
    ({"discord_id": 4444, "display_name": "Num"}, 400, "invalid_request", "discord_id"),
    ({"discord_id": "44a", "display_name": "X"}, 400, "invalid_request", "discord_id"),
    ({"discord_id": "", "display_name": "X"}, 400, "invalid_request", "discord_id"),
    ({"discord_id": "18446744073709551616", "display_name": "X"}, 400, "invalid_request", "discord_id"),
    ({"discord_id": "4444", "display_name": "X", "id": 5}, 400, "unknown_field", "id"),
    ({"discord_id": "4444", "display_name": "X", "created_at": "2020-01-01T00:00:00Z"},
     400, "unknown_field", "created_at"),
    ({"discord_id": "4444", "display_name": "X", "rank": None}, 400, "invalid_request", "rank"),
    ({}, 400, "invalid_request", None),
])
def test_create_refuses_bad_bodies(people, body, status, code, field):
    assert_error(create(people.stack, body, people.admin), status, code, field=field)
    assert people.stack.sql("app", "SELECT count(*) FROM members")[0][0] == 3


def test_admin_deletes_then_404(people):
    s = people.stack
    r = delete(s, BOB, people.admin)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_error(get(s, f"/api/members/{BOB}", people.alice), 404, "not_found")
    assert_error(delete(s, BOB, people.admin), 404, "not_found")
    assert_error(delete(s, "not-an-id", people.admin), 404, "not_found")


# ---- PATCH: the 400s, before any 403 or 404 ------------------------------------------------------

@pytest.mark.parametrize("field", ["id", "created_at", "updated_at", "discord_id", "nickname", "role"])
def test_unknown_or_unwritable_fields_are_400(people, field):
    before = row(people.stack, ALICE)
    r = patch(people.stack, ALICE, {"bio": "x", field: "2020-01-01T00:00:00Z"}, people.admin)
    assert_error(r, 400, "unknown_field", field=field)
    assert row(people.stack, ALICE) == before


def test_400_checks_come_before_403(people):
    s = people.stack
    # A plain member patching someone else: the body is judged first.
    assert_error(patch(s, BOB, {"id": 1}, people.alice), 400, "unknown_field", field="id")
    assert_error(patch(s, BOB, {"display_name": ""}, people.alice), 400, "invalid_request")
    assert_error(patch(s, BOB, {}, people.alice), 400, "invalid_request")
    # A field the member may not write, with a bad value: 400, not forbidden_field.
    assert_error(patch(s, ALICE, {"rank": ""}, people.alice), 400, "invalid_request")
    assert_error(patch(s, ALICE, {"stats": []}, people.alice), 400, "invalid_request")
    # An unknown field after a forbidden one is still the 400.
    assert_error(patch(s, ALICE, {"rank": "x", "created_at": "x"}, people.alice), 400, "unknown_field",
                 field="created_at")


def test_patch_missing_member(people):
    s = people.stack
    assert_error(patch(s, "5555", {"rank": "x"}, people.admin), 404, "not_found")
    assert_error(patch(s, "5555", {"rank": ""}, people.admin), 400, "invalid_request")
    assert_error(patch(s, "5555", {"rank": "x"}, people.officer), 404, "not_found")


def _long(n, unit="é"):
    return unit * n


VALID_EDGES = [
    ("display_name", _long(64)), ("display_name", "N"), ("bio", _long(2000)), ("bio", ""),
    ("bio", "two\nlines\tand tab"), ("rank", _long(32, "r")), ("rank", "R"),
    ("avatar_url", "https://x/" + "a" * 502), ("avatar_url", "HTTP://EXAMPLE.COM"),
    ("missions_completed", []), ("trainings_completed", [[1], {"a": None}]), ("stats", {}),
]
INVALID_VALUES = [
    ("display_name", _long(65)), ("display_name", ""), ("display_name", "   "),
    ("display_name", "new\nline"), ("display_name", "\u0085"), ("display_name", None),
    ("display_name", 5), ("display_name", ["x"]),
    ("bio", _long(2001)), ("bio", "bell\u0007"), ("bio", 5),
    ("rank", _long(33, "r")), ("rank", ""), ("rank", None), ("rank", 1),
    ("avatar_url", "https://x/" + "a" * 503), ("avatar_url", "ftp://example.com/a.png"),
    ("avatar_url", "javascript:alert(1)"), ("avatar_url", "https://"), ("avatar_url", "/a.png"),
    ("avatar_url", "https://exa mple.com/"), ("avatar_url", "https://exämple.com/"), ("avatar_url", 5),
    ("missions_completed", {}), ("missions_completed", None), ("missions_completed", "[]"),
    ("trainings_completed", 1), ("trainings_completed", None),
    ("stats", []), ("stats", None), ("stats", "{}"), ("stats", 1),
]


@pytest.mark.parametrize("field,value", VALID_EDGES)
def test_validation_bounds_accepted(people, field, value):
    r = patch(people.stack, ALICE, {field: value}, people.admin)
    assert r.status_code == 200, r.text
    assert r.json()[field] == value


@pytest.mark.parametrize("field,value", INVALID_VALUES)
def test_validation_bounds_refused(people, field, value):
    before = row(people.stack, ALICE)
    r = patch(people.stack, ALICE, {field: value}, people.admin)
    assert_error(r, 400, "invalid_request", field=field)
    assert row(people.stack, ALICE) == before


@pytest.mark.parametrize("data", [
    b"", b"not json", b"[]", b'"x"', b"null", b"{}", b'{"bio": "a", "bio": "b"}',
    b'{"bio": "\xff\xfe"}', b'{"bio": "\xc3\x28"}', b'{"bio": "nul \\u0000 byte"}',
    b'{"bio": "x"} trailing', b'{"stats": ' + b'{"a": ' * 40 + b"1" + b"}" * 41,
    b'{"stats": {"a": 1, "a": 2}}',
])
def test_malformed_bodies_are_400(people, data):
    before = row(people.stack, ALICE)
    r = request(people.stack, "PATCH", f"/api/members/{ALICE}", people.admin, data=data,
                headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_request")
    assert row(people.stack, ALICE) == before


def test_oversized_body_is_413(people):
    r = request(people.stack, "PATCH", f"/api/members/{ALICE}", people.admin,
                data=b'{"bio": "' + b"a" * (65 * 1024) + b'"}',
                headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")


def test_wrong_content_type_is_415(people):
    r = request(people.stack, "PATCH", f"/api/members/{ALICE}", people.admin, data=b'{"bio": "x"}',
                headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type")
    r = request(people.stack, "POST", "/api/members", people.admin, data="discord_id=1&display_name=x",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 415, "unsupported_media_type")


def test_values_are_stored_literally(people):
    evil = "Robert'); DROP TABLE members;--"
    r = patch(people.stack, ALICE, {"display_name": evil, "bio": "$1 \\ %s '' \""}, people.admin)
    assert r.status_code == 200, r.text
    assert row(people.stack, ALICE)[:2] == (evil, "$1 \\ %s '' \"")
    assert get(people.stack, "/api/members", people.alice).json()["total"] == 3


def test_updated_at_bumps(people):
    s = people.stack
    before = get(s, f"/api/members/{ALICE}", people.alice).json()
    time.sleep(1.1)
    after = patch(s, ALICE, {"bio": "later"}, people.alice).json()
    assert after["created_at"] == before["created_at"]
    assert after["updated_at"] > before["updated_at"]
    assert get(s, f"/api/members/{ALICE}", people.alice).json()["updated_at"] == after["updated_at"]


# ---- CSRF for cookie sessions ----------------------------------------------------------------------

def test_cookie_writes_need_the_sites_origin(people):
    s = people.stack
    cookie = session_cookie(s, "alice")
    assert cookie
    # Reads need no Origin.
    assert request(s, "GET", "/api/members/me", cookie=cookie).status_code == 200
    for headers in ({}, {"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Referer": "http://evil.example/page"}):
        r = request(s, "PATCH", f"/api/members/{ALICE}", cookie=cookie, headers=headers,
                    json={"bio": "csrf"})
        assert_error(r, 403, "csrf_failed")
    assert row(s, ALICE)[1] is None
    r = request(s, "PATCH", f"/api/members/{ALICE}", cookie=cookie, headers={"Origin": s.public_url},
                json={"bio": "same origin"})
    assert r.status_code == 200, r.text
    r = request(s, "PATCH", f"/api/members/{ALICE}", cookie=cookie,
                headers={"Referer": s.public_url + "/profile"}, json={"bio": "referer"})
    assert r.status_code == 200, r.text
    # A bearer token needs no Origin.
    assert patch(s, ALICE, {"bio": "bearer"}, people.alice).status_code == 200


def test_cookie_create_and_delete_need_the_sites_origin(people):
    s = people.stack
    cookie = session_cookie(s, "boss")
    r = request(s, "POST", "/api/members", cookie=cookie, json={"discord_id": "77", "display_name": "C"})
    assert_error(r, 403, "csrf_failed")
    assert_error(request(s, "DELETE", f"/api/members/{BOB}", cookie=cookie), 403, "csrf_failed")
    assert row(s, "77") is None and row(s, BOB) is not None
    origin = {"Origin": s.public_url}
    r = request(s, "POST", "/api/members", cookie=cookie, headers=origin,
                json={"discord_id": "77", "display_name": "C"})
    assert r.status_code == 201, r.text
    assert request(s, "DELETE", f"/api/members/{BOB}", cookie=cookie, headers=origin).status_code == 204


# ---- the database going away ------------------------------------------------------------------------

def test_database_down_is_503_then_recovers(people):
    s = people.stack
    s.stop_postgres()
    try:
        assert_error(get(s, "/api/members", people.alice), 503, "unavailable")
    finally:
        s.start_postgres()
    for _ in range(50):
        r = get(s, "/api/members", people.alice)
        if r.status_code == 200:
            break
        time.sleep(0.1)
    assert r.status_code == 200, r.text
    assert r.json()["total"] == 3


# ---- farout-admin members -----------------------------------------------------------------------------

def members_cli_wired(stack):
    r = stack.admin("members")
    return r.returncode == 2 and "farout-admin members list" in r.stderr


@pytest.fixture
def cli(people):
    # A missing command is the regression these tests exist to catch: fail, never skip.
    assert members_cli_wired(people.stack), "db/farout-admin does not dispatch `members`"
    return people


def test_cli_list(cli):
    r = cli.stack.admin("members", "list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["discord_id\trank\tdisplay_name", f"{ALICE}\tmember\tAlice",
                                     f"{BOB}\tmember\tBob", f"{OLGA}\tofficer\tOlga"]


def test_cli_set_rank(cli):
    s = cli.stack
    r = s.admin("members", "set-rank", BOB, "Wing Commander")
    assert r.returncode == 0, r.stderr
    assert row(s, BOB)[3] == "Wing Commander"
    assert get(s, "/api/members?rank=Wing%20Commander", cli.alice).json()["total"] == 1
    for args, status in ((("set-rank", "999", "x"), 1), (("set-rank", "abc", "x"), 1),
                         (("set-rank", BOB, "r" * 33), 1), (("set-rank", BOB), 2), (("bogus",), 2)):
        r = s.admin("members", *args)
        assert r.returncode == status, (args, r.stdout, r.stderr)
        assert r.stderr.strip() and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert row(s, BOB)[3] == "Wing Commander"
    # The operator's change has its audit row like a PATCH (API.md "Audit log": member_update).
    assert s.sql("auth", "SELECT event, outcome, actor_user_id, target, detail FROM audit_events"
                         " WHERE event LIKE 'member%%'") == \
        [("member_update", "ok", None, BOB, {"fields": ["rank"], "via": "farout-admin"})]


def test_cli_member_writes_without_their_audit_row_change_nothing(cli, tmp_path):
    s = cli.stack
    before = s.sql("app", "SELECT discord_id, display_name, rank FROM members ORDER BY id")
    path = tmp_path / "one.json"
    path.write_text(json.dumps([{"discord_id": "8080", "display_name": "Newcomer"}]))
    s.sql("auth", "ALTER TABLE audit_events RENAME TO audit_events_away")
    try:
        assert s.admin("members", "set-rank", BOB, "Wing Commander").returncode == 1
        assert s.admin("members", "import", str(path)).returncode == 1
    finally:
        s.sql("auth", "ALTER TABLE audit_events_away RENAME TO audit_events")
    assert s.sql("app", "SELECT discord_id, display_name, rank FROM members ORDER BY id") == before


def test_cli_import_all_or_nothing(cli, tmp_path):
    s = cli.stack
    good = tmp_path / "good.json"
    good.write_text(json.dumps([
        {"discord_id": BOB, "display_name": "Bob Imported", "stats": {"imported": True}},
        {"discord_id": "8080", "display_name": "Newcomer", "rank": "recruit", "missions_completed": ["m"]},
    ]))
    r = s.admin("members", "import", str(good))
    assert r.returncode == 0, r.stderr
    assert "1 created, 1 updated" in r.stdout
    assert row(s, BOB)[0] == "Bob Imported" and row(s, BOB)[1] == "Bob's bio"   # bio not given: kept
    assert row(s, "8080")[3] == "recruit"
    assert get(s, "/api/members?rank=recruit", cli.alice).json()["total"] == 1
    assert s.sql("auth", "SELECT event, target, detail FROM audit_events"
                         " WHERE event LIKE 'member%%' ORDER BY id") == [
        ("member_update", BOB, {"fields": ["display_name", "stats"], "via": "farout-admin"}),
        ("member_create", "8080", {"fields": ["display_name", "rank", "missions_completed"],
                                   "via": "farout-admin"})]
    rows = s.sql("auth", "SELECT count(*) FROM audit_events")
    before = s.sql("app", "SELECT discord_id, display_name, rank FROM members ORDER BY id")
    for name, content in (("bad_value.json", [{"discord_id": "9090", "display_name": "ok"},
                                              {"discord_id": "9091", "display_name": ""}]),
                          ("unknown.json", [{"discord_id": "9092", "display_name": "x", "id": 1}]),
                          ("twice.json", [{"discord_id": "9093", "display_name": "a"},
                                          {"discord_id": "9093", "display_name": "b"}]),
                          ("object.json", {"discord_id": "9094", "display_name": "x"})):
        path = tmp_path / name
        path.write_text(json.dumps(content))
        r = s.admin("members", "import", str(path))
        assert r.returncode == 1, (name, r.stdout, r.stderr)
        assert r.stderr.strip(), name
    assert s.sql("app", "SELECT discord_id, display_name, rank FROM members ORDER BY id") == before
    assert s.sql("auth", "SELECT count(*) FROM audit_events") == rows
    r = s.admin("members", "import", str(tmp_path / "missing.json"))
    assert r.returncode == 1 and "missing.json" in r.stderr
