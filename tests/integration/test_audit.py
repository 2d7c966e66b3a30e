"""The audit log (API.md "Audit log"): table audit_events in farout_auth, one
row per security event, written in the same transaction as the change."""

import json

from helpers import PASSWORD


def audit_rows(stack, event=None):
    """Every audit_events row (or those of one event) as dicts, oldest first."""
    query = ("SELECT id, event, outcome, actor_user_id, target, ip, request_id, detail::text"
             " FROM audit_events")
    params = ()
    if event is not None:
        query += " WHERE event = %s"
        params = (event,)
    rows = stack.sql("auth", query + " ORDER BY id", params)
    keys = ("id", "event", "outcome", "actor_user_id", "target", "ip", "request_id", "detail")
    return [dict(zip(keys, r[:-1] + (json.loads(r[-1]),))) for r in rows]


def user_id(stack, name):
    return stack.sql("auth", "SELECT id FROM users WHERE username = %s", (name,))[0][0]


def test_migration_adds_audit_events_and_session_metadata(clean):
    cols = {r[0] for r in clean.sql(
        "auth", "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
        ("audit_events",))}
    assert cols == {"id", "at", "event", "outcome", "actor_user_id", "target", "ip",
                    "request_id", "detail"}
    cols = {r[0] for r in clean.sql(
        "auth", "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
        ("sessions",))}
    assert {"public_id", "ip", "user_agent", "method"} <= cols


def test_admin_role_change_is_recorded(clean):
    clean.add_user("dora", PASSWORD)
    r = clean.admin("user", "role", "dora", "officer")
    assert r.returncode == 0, r.stderr
    rows = audit_rows(clean, "role_change")
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["outcome"] == "ok"
    assert row["target"] == str(user_id(clean, "dora"))
    assert row["actor_user_id"] is None  # an operator at the console, not a user
    assert row["detail"] == {"from": "member", "to": "officer", "via": "farout-admin"}


def test_admin_role_change_of_unknown_user_records_nothing(clean):
    r = clean.admin("user", "role", "nobody", "officer")
    assert r.returncode != 0
    assert audit_rows(clean, "role_change") == []


def test_role_change_rolled_back_leaves_no_row(clean):
    """The change and its row commit together: when the audit insert fails, the role
    stays as it was (here the insert is made to fail by a CHECK added for the test)."""
    clean.add_user("erin", PASSWORD)
    clean.sql("auth", "ALTER TABLE audit_events ADD CONSTRAINT test_refuse"
                      " CHECK (event <> 'role_change') NOT VALID")
    try:
        r = clean.admin("user", "role", "erin", "admin")
        assert r.returncode != 0, r.stdout
    finally:
        clean.sql("auth", "ALTER TABLE audit_events DROP CONSTRAINT test_refuse")
    assert clean.sql("auth", "SELECT role FROM users WHERE username = 'erin'") == [("member",)]
    assert audit_rows(clean, "role_change") == []
