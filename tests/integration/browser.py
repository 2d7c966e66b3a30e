"""Headless Chromium against the real stack, for the end-to-end tests of the
website (test_browser.py and whoever adds pages: sessions, two-factor, ...).

Use the `browser` fixture of conftest.py (a fresh Browser on the `clean`
stack for each test); it ends the browser, saves a last screenshot and fails
the test when the page logged an error. In a test:

    browser.open("/login")                       # on PUBLIC_URL (127.0.0.1:PORT)
    browser.fill("#username", "admin")
    browser.click("#login-form button[type=submit]")
    browser.wait_text("#message", "wrong")       # waits up to 10 s
    browser.wait_url("/members")
    browser.screenshot("after-sign-in")          # tmp_path/after-sign-in.png

or the common steps: browser.sign_in("olga", PASSWORD, "/account"),
browser.sign_in_with_discord("/members").

What counts as an error (browser.errors(), checked at the end of every test):
every SEVERE entry of Chromium's log (JavaScript exceptions, console.error,
Content-Security-Policy violations, resources that failed to load) except an
API answer of 4xx: the pages ask /api/auth/me to learn whether anyone is
signed in (401 when not) and show the API's refusals, and Chromium logs each
such fetch as "Failed to load resource". A test that expects an error itself
calls browser.take_errors() to read and clear them.

Images from Discord's CDN and from any https host are served by FakeCdn on
127.0.0.1 (Chromium's --host-resolver-rules map the names there and
--ignore-certificate-errors accepts its self-signed certificate), so avatars
load offline exactly as they would online, under the real CSP.

Chromium runs with a fresh --user-data-dir, --headless --no-sandbox
--disable-gpu and without background networking, component updates, sync or
first-run pages: Debian's chromium and chromium-driver with python3-selenium.
"""

import hashlib
import http.server
import re
import shutil
import ssl
import struct
import subprocess
import tempfile
import threading
import zlib
from pathlib import Path
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT = 10
# Host names whose https images FakeCdn serves (anything else is unreachable, as offline).
CDN_HOSTS = ("cdn.discordapp.com", "images.example.test")


def png(width, height, rgb):
    """A one-colour PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


class FakeCdn:
    """HTTPS on 127.0.0.1 with a self-signed certificate: any *.png path is a
    coloured square (the colour from the path), anything else 404."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="farout-cdn-"))
        self.requests = []
        self._server = None

    def start(self):
        cert, key = self.dir / "cert.pem", self.dir / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=fake-cdn", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
        cdn = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                cdn.requests.append((self.headers.get("Host", ""), self.path))
                path = urlsplit(self.path).path
                if not path.endswith(".png"):
                    self.send_error(404)
                    return
                digest = hashlib.sha256(path.encode()).digest()
                body = png(64, 64, (64 + digest[0] % 160, 64 + digest[1] % 160, 64 + digest[2] % 160))
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def port(self):
        return self._server.server_address[1]

    def resolver_rules(self):
        return ", ".join(f"MAP {h}:443 127.0.0.1:{self.port}" for h in CDN_HOSTS)

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Browser:
    def __init__(self, stack, out_dir, cdn=None):
        self.stack = stack
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.profile = Path(tempfile.mkdtemp(prefix="farout-chromium-"))
        self._errors = []
        self.shots = []
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--no-default-browser-check",
                    "--no-proxy-server", "--window-size=1280,900",
                    f"--user-data-dir={self.profile}"):
            options.add_argument(arg)
        if cdn is not None:
            options.add_argument(f"--host-resolver-rules={cdn.resolver_rules()}")
            options.add_argument("--ignore-certificate-errors")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(CHROMEDRIVER, log_path=str(self.out_dir / "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(30)

    # -- where ---------------------------------------------------------------

    def url(self, path, host=None):
        """path on PUBLIC_URL, or on another host name for the same server."""
        if host is None:
            return self.stack.url(path)
        return f"http://{host}:{self.stack.port}{path}"

    def open(self, path, host=None):
        self.driver.get(self.url(path, host))
        self.wait_ready()

    @property
    def path(self):
        """The current path and query."""
        parts = urlsplit(self.driver.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def wait_ready(self):
        self.wait(lambda d: d.execute_script("return document.readyState") == "complete", "page load")

    # -- waiting -----------------------------------------------------------

    def wait(self, condition, what, timeout=WAIT):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(condition)
        except TimeoutException:
            raise AssertionError(f"timed out waiting for {what} on {self.driver.current_url}; "
                                 f"page text: {self.text('body')[:600]!r}") from None

    def wait_url(self, path, timeout=WAIT):
        """Until the current path (and query, if path has one) is path."""
        def at(d):
            parts = urlsplit(d.current_url)
            here = parts.path + (f"?{parts.query}" if "?" in path else "")
            return here == path
        self.wait(at, f"the address {path}", timeout)
        self.wait_ready()

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_visible(self, css, timeout=WAIT):
        def visible(d):
            els = d.find_elements(By.CSS_SELECTOR, css)
            return els[0] if els and els[0].is_displayed() else False
        return self.wait(visible, f"{css} to be visible", timeout)

    def wait_text(self, css, text, timeout=WAIT):
        """Until the element's visible text contains text (a str) or matches it (a compiled regex)."""
        def has(d):
            els = d.find_elements(By.CSS_SELECTOR, css)
            if not els or not els[0].is_displayed():
                return False
            t = els[0].text
            return (text.search(t) if isinstance(text, re.Pattern) else text in t) and els[0]
        return self.wait(has, f"{text!r} in {css}", timeout)

    def text(self, css):
        els = self.find_all(css)
        return els[0].text if els else ""

    # -- acting ---------------------------------------------------------------

    def fill(self, css, value):
        el = self.wait_visible(css)
        el.clear()
        el.send_keys(value)
        return el

    def click(self, css):
        el = self.wait_visible(css)
        self.wait(lambda d: el.is_enabled(), f"{css} to be enabled")
        el.click()
        return el

    # -- the common steps ----------------------------------------------------------

    def sign_in(self, username, password, next_path="/members"):
        """The sign-in page's password form, up to the page it leads to."""
        self.open(f"/login?next={next_path}")
        self.fill("#username", username)
        self.fill("#password", password)
        self.click("#login-form button[type=submit]")
        self.wait_url(next_path)

    def sign_in_with_discord(self, next_path="/members"):
        """Through the fake Discord's authorize page (its current user, see
        FakeDiscord.set_user) and the callback, up to next_path."""
        self.open(f"/login?next={next_path}")
        self.click("#discord")
        self.wait_url(next_path)

    def image_loaded(self, css):
        """True when the img has loaded a real picture."""
        return self.driver.execute_script(
            "const i = document.querySelector(arguments[0]);"
            "return !!i && i.complete && i.naturalWidth > 0;", css)

    def screenshot(self, name):
        path = self.out_dir / f"{name}.png"
        self.driver.save_screenshot(str(path))
        self.shots.append(path)
        return path

    # -- the browser's log ----------------------------------------------------------

    def _collect(self):
        try:
            entries = self.driver.get_log("browser")
        except Exception:  # the session is gone
            return
        for e in entries:
            if e.get("level") != "SEVERE":
                continue
            message = e.get("message", "")
            if self._is_handled_api_answer(message):
                continue
            self._errors.append(message)

    def _is_handled_api_answer(self, message):
        m = re.match(r"(\S+) - Failed to load resource: the server responded with a status of (\d+)",
                     message)
        if not m or not 400 <= int(m.group(2)) < 500:
            return False
        path = urlsplit(m.group(1)).path
        return m.group(1).startswith(self.stack.url("/api/")) and path.startswith("/api/")

    def errors(self):
        """Errors the pages logged so far (kept for the end-of-test check)."""
        self._collect()
        return list(self._errors)

    def take_errors(self):
        """Errors logged so far, cleared: for a test that provokes one on purpose."""
        self._collect()
        taken, self._errors = self._errors, []
        return taken

    def close(self):
        try:
            self._collect()
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
