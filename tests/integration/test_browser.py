"""The website in headless Chromium against the real stack (browser.py):
what a person does, from the first sign-in of the seeded admin to signing
out. Every test ends with a screenshot in its tmp_path, and fails if a page
logged an error (a script error, a CSP violation, a resource that did not load)."""

import re

from selenium.webdriver.common.by import By

from harness import ADMIN_PASSWORD
from helpers import PASSWORD, insert_user, login, post

STRONG = "Violet-Anchor-Drift-7731 harbour"
NELLY_ID = "80351110224678912"


def add_member(stack, discord_id, name, **fields):
    cols = {"discord_id": discord_id, "display_name": name, **fields}
    stack.sql("app", f"INSERT INTO members ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
              tuple(cols.values()))


def roster_names(browser):
    browser.wait(lambda d: d.find_element(By.ID, "roster").get_attribute("aria-busy") == "false",
                 "the roster to load")
    return [e.text for e in browser.find_all("#roster .name")]


def test_admin_first_sign_in_is_sent_to_the_password_change_then_the_roster(browser):
    add_member(browser.stack, "222000000000000001", "Ada Orbit")
    browser.open("/login")
    browser.fill("#username", "admin")
    browser.fill("#password", ADMIN_PASSWORD)
    browser.click("#login-form button[type=submit]")
    browser.wait_visible("#change-form")
    browser.wait_text("#whoami", "Signed in as admin")
    rules = browser.text("#policy")
    for rule in ("10 to 72 bytes", "username", "current password", "10^10 guesses", "zxcvbn"):
        assert rule in rules, rules

    # A weak password: refused in the API's own words.
    weak = "admin-password-2026"
    browser.fill("#new-password", weak)
    browser.fill("#confirm-password", weak)
    browser.click("#change-form button[type=submit]")
    api_token = login(browser.stack, "admin", ADMIN_PASSWORD)
    api_answer = post(browser.stack, "/api/auth/password", api_token,
                      json={"current_password": ADMIN_PASSWORD, "new_password": weak})
    assert api_answer.status_code == 400 and api_answer.json()["error"] == "weak_password"
    browser.wait_text("#message", api_answer.json()["detail"])
    browser.screenshot("weak-password-refused")

    browser.fill("#new-password", STRONG)
    browser.fill("#confirm-password", STRONG)
    browser.click("#change-form button[type=submit]")
    browser.wait_url("/members")
    assert "Ada Orbit" in roster_names(browser)
    browser.wait_text("#whoami", "admin")
    browser.screenshot("roster")
    assert browser.stack.sql("auth", "SELECT must_change_password FROM users WHERE username = 'admin'") \
        == [(False,)]


def test_account_page_states_the_rules_and_shows_the_apis_refusal(browser):
    insert_user(browser.stack, "kim", email="kim@example.org")
    browser.sign_in("kim", PASSWORD, "/account")
    rules = browser.wait_visible("#policy").text
    assert "10^10 guesses" in rules and "username" in rules
    browser.fill("#current-password", PASSWORD)
    browser.fill("#new-password", "short")
    browser.fill("#confirm-password", "short")
    browser.click("#password-form button[type=submit]")
    token = login(browser.stack, "kim")
    answer = post(browser.stack, "/api/auth/password", token,
                  json={"current_password": PASSWORD, "new_password": "short"})
    assert answer.status_code == 400
    browser.wait_text("#password-status", answer.json()["detail"])
    browser.fill("#new-password", STRONG)
    browser.fill("#confirm-password", STRONG)
    browser.click("#password-form button[type=submit]")
    browser.wait_text("#password-status", "Password changed")


def test_sign_in_page_shows_the_apis_own_detail(browser):
    browser.open("/login")
    browser.fill("#username", "nobody")
    browser.fill("#password", "not-the-password")
    browser.click("#login-form button[type=submit]")
    answer = post(browser.stack, "/api/auth/login", json={"username": "nobody", "password": "x"})
    assert answer.status_code == 401
    browser.wait_text("#message", answer.json()["detail"])


def test_discord_user_signs_in_edits_the_bio_and_sees_it_on_the_roster(browser, fake_cdn):
    # Through the fake Discord's authorize page and the callback, back to the roster.
    browser.sign_in_with_discord("/members")
    assert "Nelly" in roster_names(browser)
    # The avatar from Discord's CDN is shown (the CSP lets it in).
    browser.wait(lambda d: browser.image_loaded("#roster .avatar img"), "the Discord avatar")
    assert any(path.startswith(f"/avatars/{NELLY_ID}/") for _, path in fake_cdn.requests)

    browser.click("#roster .name")
    browser.wait_url(f"/member?id={NELLY_ID}")
    bio = "Pilot of the long haul. Likes quiet nebulae."
    browser.fill("#bio-input", bio)
    browser.click("#profile-form button[type=submit]")
    browser.wait_text("#profile-status", "Saved.")
    browser.wait_text("#bio", bio)

    browser.open("/members")
    browser.wait_text("#roster", bio)
    browser.screenshot("roster-with-bio")


def test_officer_changes_a_rank(browser):
    insert_user(browser.stack, "olga", role="officer")
    add_member(browser.stack, "333000000000000003", "Rex Comet", rank="recruit")
    browser.sign_in("olga", PASSWORD, "/member?id=333000000000000003")
    browser.wait_visible("#staff-edit")
    assert not browser.find("#danger").is_displayed()  # deleting is for admins
    browser.fill("#rank-input", "veteran")
    browser.click("#staff-form button[type=submit]")
    browser.wait_text("#staff-status", "Saved.")
    browser.wait_text("#rank-badge", "veteran")
    assert browser.stack.sql("app", "SELECT rank FROM members WHERE discord_id = '333000000000000003'") \
        == [("veteran",)]


def test_admin_creates_sets_an_https_avatar_and_deletes_a_member(browser, fake_cdn):
    insert_user(browser.stack, "root", role="admin")
    browser.sign_in("root", PASSWORD)
    browser.click("#add-member summary")
    browser.fill("#new-discord-id", "444000000000000004")
    browser.fill("#new-display-name", "Vera Quasar")
    browser.click("#add-form button[type=submit]")
    browser.wait_url("/member?id=444000000000000004")
    browser.wait_text("#name", "Vera Quasar")

    # An https avatar from any host is shown (img-src 'self' https:).
    browser.fill("#avatar-url", "https://images.example.test/vera.png")
    browser.click("#profile-form button[type=submit]")
    browser.wait_text("#profile-status", "Saved.")
    browser.wait(lambda d: browser.image_loaded("#avatar-slot img"), "the https avatar")
    assert ("images.example.test", "/vera.png") in [(h.split(":")[0], p) for h, p in fake_cdn.requests]
    browser.screenshot("member-with-avatar")

    browser.click("#delete-member")
    browser.driver.switch_to.alert.accept()
    browser.wait_url("/members")
    browser.wait_text("#flash", "Deleted Vera Quasar")
    assert "Vera Quasar" not in roster_names(browser)
    assert browser.stack.sql("app", "SELECT count(*) FROM members WHERE discord_id = '444000000000000004'") \
        == [(0,)]


def test_avatar_that_fails_to_load_falls_back_to_the_default(browser):
    insert_user(browser.stack, "mia")
    # Not an image (404 from the CDN stand-in): the default avatar replaces it.
    add_member(browser.stack, "555000000000000005", "Lost Link",
               avatar_url="https://images.example.test/missing.jpg")
    browser.sign_in("mia", PASSWORD, "/member?id=555000000000000005")
    browser.wait(lambda d: (browser.find("#avatar-slot img").get_attribute("src") or "")
                 .endswith("/assets/avatar.svg") and browser.image_loaded("#avatar-slot img"),
                 "the default avatar")
    # Chromium may log the failed load itself; that one is the point here.
    errors = browser.take_errors()
    assert all("missing.jpg" in e for e in errors), errors


def test_the_other_host_name_works_end_to_end(browser):
    insert_user(browser.stack, "nora", discord_id="666000000000000006")
    add_member(browser.stack, "666000000000000006", "Nora Nova")
    # PUBLIC_URL is http://127.0.0.1:PORT; the same server as localhost:PORT redirects there.
    browser.open("/login?next=/members", host="localhost")
    assert browser.driver.current_url.startswith(browser.stack.public_url + "/login"), \
        browser.driver.current_url
    browser.fill("#username", "nora")
    browser.fill("#password", PASSWORD)
    browser.click("#login-form button[type=submit]")
    browser.wait_url("/members")
    assert "Nora Nova" in roster_names(browser)
    # A change needs the CSRF origin to match: it does, since the page is on PUBLIC_URL.
    browser.click("#roster .name")
    browser.wait_url("/member?id=666000000000000006")
    browser.fill("#bio-input", "Typed localhost, landed home.")
    browser.click("#profile-form button[type=submit]")
    browser.wait_text("#profile-status", "Saved.")


def test_logout_returns_to_sign_in_and_back_shows_no_private_data(browser):
    insert_user(browser.stack, "sam", email="sam@example.org")
    browser.sign_in("sam", PASSWORD, "/account")
    browser.wait_text("#details", "sam@example.org")
    browser.click("#sign-out")
    browser.wait_url("/login")
    browser.wait_visible("#login-form")
    browser.driver.back()
    browser.wait_url("/account")
    browser.wait_text("#status", "sign in")
    assert "sam@example.org" not in browser.text("body")
    assert not browser.find("#account").is_displayed()
    browser.screenshot("back-after-logout")


def test_unknown_page_is_the_styled_404(browser):
    browser.open("/no/such/page")
    browser.wait_text("h1", "Page not found")
    # Styled: the site's stylesheet applies (the header is a flex row).
    assert browser.driver.execute_script(
        "return getComputedStyle(document.querySelector('header.site')).display") == "flex"
    # The page's own 404 status is in the log; nothing else may be.
    errors = browser.take_errors()
    assert len(errors) == 1 and "/no/such/page" in errors[0] and "404" in errors[0], errors


def test_the_error_check_catches_a_csp_violation(browser):
    browser.open("/")
    browser.driver.execute_script(
        "const i = document.createElement('img'); i.src = 'http://images.example.test/x.png';"
        "document.body.append(i);")
    browser.wait(lambda d: any("Content Security Policy" in e for e in browser.errors()),
                 "the CSP violation in the log")
    assert any(re.search(r"Content Security Policy", e) for e in browser.take_errors())
