"""The account page's sessions and the admin audit page in headless Chromium
(browser.py): what a person sees and does. Every test fails if a page logged
an error (a script error, a CSP violation, a resource that did not load)."""

import json

from helpers import PASSWORD, get, insert_user, login_response

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"


def other_device(stack, name):
    """A session of name signed in elsewhere (Firefox on Windows); its token."""
    r = login_response(stack, name, headers={"User-Agent": FIREFOX})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def session_items(browser, count):
    """The list once it shows count sessions (the account section appears when the page knows who
    is signed in, which may be after the list arrived)."""
    browser.wait(lambda d: len(browser.find_all("#sessions li")) == count and
                 all(li.is_displayed() for li in browser.find_all("#sessions li")),
                 f"{count} sessions listed")
    return browser.find_all("#sessions li")


def test_account_lists_sessions_and_ends_one(browser):
    stack = browser.stack
    insert_user(stack, "petra")
    elsewhere = other_device(stack, "petra")
    browser.sign_in("petra", PASSWORD, "/account")
    items = session_items(browser, 2)
    texts = [i.text for i in items]
    # Newest first: this browser, then the other device, each with its address and date.
    assert "this device" in texts[0] and "Sign out here" in texts[0]
    assert "Firefox on Windows" in texts[1] and "127.0.0.1" in texts[1]
    assert "with a password" in texts[1]
    browser.screenshot("sessions")

    browser.click("#sessions li:not(.current) button")
    browser.wait_text("#sessions-status", "signed out")
    session_items(browser, 1)
    assert get(stack, "/api/auth/me", elsewhere).status_code == 401
    # This browser is still signed in.
    assert "this device" in browser.text("#sessions li")


def test_account_signs_out_everywhere_else(browser):
    stack = browser.stack
    insert_user(stack, "quentin")
    others = [other_device(stack, "quentin") for _ in range(2)]
    browser.sign_in("quentin", PASSWORD, "/account")
    session_items(browser, 3)
    browser.click("#end-others")
    browser.wait_text("#sessions-status", "Every other session")
    session_items(browser, 1)
    assert browser.find("#end-others").is_displayed() is False
    for token in others:
        assert get(stack, "/api/auth/me", token).status_code == 401
    browser.screenshot("signed-out-elsewhere")


def test_ending_this_device_goes_home_signed_out(browser):
    insert_user(browser.stack, "rosa")
    browser.sign_in("rosa", PASSWORD, "/account")
    session_items(browser, 1)
    browser.click("#sessions li.current button")
    browser.wait_url("/")
    browser.wait_text("#whoami", "Sign in")


def test_admin_audit_page_filters_and_pages(browser):
    stack = browser.stack
    uid = insert_user(stack, "sabine", role="admin")
    # 60 older events of a stranger, so that the first page (50) has an "Older" one.
    stack.sql("auth", "INSERT INTO audit_events (event, outcome, target, ip, detail)"
                      " SELECT 'login', 'invalid_credentials', 'stranger' || g, '192.0.2.1', '{}'"
                      " FROM generate_series(1, 60) g")
    browser.sign_in("sabine", PASSWORD, "/account")
    browser.wait_visible("#admin-card")
    browser.click("#admin-card a")
    browser.wait_url("/audit")
    browser.wait(lambda d: len(browser.find_all("#rows tr")) == 50, "the first page of 50")
    first = browser.text("#rows tr")
    assert "login" in first and "ok" in first and str(uid) in first  # sabine's own sign-in
    browser.screenshot("audit")

    browser.click("#older")
    browser.wait(lambda d: len(browser.find_all("#rows tr")) == 11, "the second page")
    assert all("stranger" in r.text for r in browser.find_all("#rows tr"))
    browser.click("#newest")
    browser.wait(lambda d: len(browser.find_all("#rows tr")) == 50, "the first page again")

    browser.driver.find_element("css selector", "#event option[value='login']").click()
    browser.fill("#user-id", str(uid))
    browser.click("#filters button[type=submit]")
    browser.wait(lambda d: len(browser.find_all("#rows tr")) == 1, "sabine's one sign-in")
    assert json.loads(browser.find("#rows td.detail").text) == {"method": "password"}


def test_audit_page_refuses_a_member(browser):
    insert_user(browser.stack, "tomas")
    browser.sign_in("tomas", PASSWORD, "/account")
    session_items(browser, 1)
    assert browser.find("#admin-card").is_displayed() is False
    browser.open("/audit")
    browser.wait_text("#status", "does not allow")
    assert browser.find("#audit").is_displayed() is False
