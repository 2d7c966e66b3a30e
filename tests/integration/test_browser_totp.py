"""Two-factor sign-in in headless Chromium (browser.py): the account page's
setup (the QR code drawn by the vendored library, the secret as text, the
recovery codes shown once), the sign-in page's code step after the password
and after Discord, and turning it off. Codes are computed here (test_totp's
RFC 6238 helper); a page error or CSP violation fails the test."""

import re

from helpers import PASSWORD, insert_user
from test_totp import current_step, totp

NELLY_ID = "80351110224678912"  # the fake Discord's default user


def set_up_in_the_page(browser):
    """Setup through the account page; returns (secret, recovery codes)."""
    browser.click("#totp-start")
    secret = browser.wait_text("#totp-secret", re.compile(r"^[A-Z2-7]{32}$")).text
    path = browser.find("#totp-qr svg path")
    assert len(path.get_attribute("d")) > 1000  # a drawn QR code, not an empty box
    browser.screenshot("totp-setup")
    browser.fill("#totp-enable-code", totp(secret, current_step() - 1))
    browser.click("#totp-enable-form button[type=submit]")
    browser.wait_visible("#totp-code-list")
    codes = [e.text for e in browser.find_all("#totp-code-list li")]
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}", c) for c in codes)
    browser.wait_text("#totp-state", "Two-factor sign-in is on")
    browser.wait_text("#totp-state", "10 recovery codes left")
    return secret, codes


def test_set_up_sign_in_with_a_code_and_turn_off(browser):
    uid = insert_user(browser.stack, "nelly")
    browser.sign_in("nelly", PASSWORD, "/account")
    browser.wait_text("#totp-state", "Two-factor sign-in is off")
    secret, codes = set_up_in_the_page(browser)
    assert browser.stack.sql("auth", "SELECT enabled_at IS NOT NULL FROM user_totp WHERE user_id = %s",
                             (uid,)) == [(True,)]
    browser.screenshot("totp-on")

    # Signing in again asks for the code after the password.
    browser.driver.delete_all_cookies()
    browser.open("/login?next=/account")
    browser.fill("#username", "nelly")
    browser.fill("#password", PASSWORD)
    browser.click("#login-form button[type=submit]")
    browser.wait_visible("#code-form")
    assert not browser.find("#login-form").is_displayed()
    browser.fill("#code", "000000")
    browser.click("#code-form button[type=submit]")
    browser.wait_text("#message", "wrong or was already used")
    browser.screenshot("totp-wrong-code")
    browser.fill("#code", totp(secret, current_step()))
    browser.click("#code-form button[type=submit]")
    browser.wait_url("/account")
    browser.wait_text("#whoami", "Signed in as nelly")

    # Off again with the password and a recovery code.
    browser.wait_visible("#totp-disable-form")
    browser.fill("#totp-disable-password", PASSWORD)
    browser.fill("#totp-disable-code", codes[0].upper())
    browser.click("#totp-disable-form button[type=submit]")
    browser.wait_text("#totp-state", "Two-factor sign-in is off")
    assert browser.stack.sql("auth", "SELECT count(*) FROM user_totp")[0][0] == 0


def test_discord_sign_in_of_a_totp_account_asks_for_the_code(browser):
    insert_user(browser.stack, "nelly", discord_id=NELLY_ID)
    browser.sign_in("nelly", PASSWORD, "/account")
    secret, _ = set_up_in_the_page(browser)
    browser.driver.delete_all_cookies()

    browser.open("/login?next=/account")
    browser.click("#discord")
    browser.wait_visible("#code-form")
    # The token came in the fragment and is gone from the address bar.
    assert browser.path == "/login" and "mfa_token" not in browser.driver.current_url
    browser.fill("#code", totp(secret, current_step()))
    browser.click("#code-form button[type=submit]")
    browser.wait_url("/account")
    browser.wait_text("#whoami", "Signed in as Nelly")  # the member row's display name now
