"""Fixtures of the integration suite.

  stack   (session)  the running Stack of harness.py: nginx, the four
                     programs, PostgreSQL and the fake Discord
  clean   (function) the same stack with every part running again, both
                     databases back to the state right after `migrate up`
                     and the fake Discord reset
  fake_cdn (session) HTTPS stand-in for Discord's CDN and other image hosts (browser.py)
  browser (function) headless Chromium on the clean stack (browser.py); at the
                     end it saves a screenshot into the test's tmp_path and
                     fails the test if a page logged an error

Every JSON answer of the stack is checked against docs/openapi.yaml
(openapi_check.py): requests.Session.request is wrapped here, so every test
gets the check without asking for it.

Under the sanitizer build (FAROUT_BIN_DIR=build/asan) the programs run with
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1, and the session fails at the
end if any program log or command output holds a sanitizer report.
"""

import os
import signal

import pytest
import requests

# The shared helpers' asserts explain a failure as the tests' own do.
pytest.register_assert_rewrite("helpers")

from harness import Stack  # noqa: E402  (after the registration, which must come first)
import openapi_check  # noqa: E402

_plain_request = requests.Session.request


def _checked_request(self, method, url, *args, **kwargs):
    response = _plain_request(self, method, url, *args, **kwargs)
    for r in (*response.history, response):
        openapi_check.check(r)
    return response


requests.Session.request = _checked_request


def _terminate(signum, frame):
    # A killed test run (CI timeout, kill PID) must still take its servers
    # down: turned into KeyboardInterrupt, it runs the fixtures' teardown.
    raise KeyboardInterrupt(f"signal {signum}")


# Where the logs of a failed run were kept, for the end-of-run summary
# (output from a fixture's teardown is captured and would not be seen).
_kept_logs = []


def pytest_configure(config):
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)


def pytest_terminal_summary(terminalreporter):
    for path in _kept_logs:
        terminalreporter.write_line(f"integration stack logs kept in {path}")


@pytest.fixture(scope="session")
def stack(request):
    # FAROUT_PGBOUNCER=1 (make test-pgbouncer): the programs reach PostgreSQL
    # through PgBouncer in transaction pooling mode.
    s = Stack(pgbouncer=os.environ.get("FAROUT_PGBOUNCER") == "1")

    def finish():
        findings = s.stop(keep_logs=request.session.testsfailed > 0)
        if s.kept_logs:
            _kept_logs.append(s.dir)
        if findings:
            pytest.fail("sanitizer reports:\n  " + "\n  ".join(findings[:20]), pytrace=False)

    request.addfinalizer(finish)
    s.start()
    openapi_check.base_url = s.url("")
    return s


@pytest.fixture(scope="session")
def fake_cdn():
    from browser import FakeCdn
    cdn = FakeCdn().start()
    yield cdn
    cdn.stop()


@pytest.fixture
def browser(clean, fake_cdn, tmp_path, request):
    from browser import Browser
    b = Browser(clean, tmp_path, fake_cdn)
    try:
        yield b
        b.screenshot("end")
    finally:
        errors = b.errors()
        b.close()
    failed = getattr(request.node, "rep_call", None)
    if errors and not (failed is not None and failed.failed):
        pytest.fail("the pages logged errors:\n  " + "\n  ".join(errors), pytrace=False)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets the browser fixture know whether the test itself failed already.
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def clean(stack):
    stack.ensure_running()
    stack.reset_db()
    stack.fake.reset()
    return stack
