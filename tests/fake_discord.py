#!/usr/bin/python3
"""Fake Discord: a stand-in for discord.com for local development and tests; never for production.

It listens on 127.0.0.1 only and serves the part of Discord that Farout's
oauth-callback talks to, with Discord's paths, parameters, status codes and
error bodies, so the real C program can be tested end to end:

  GET  /oauth2/authorize     answers at once as if the "current user" had
                             clicked Authorize: 302 to redirect_uri?code=&state=
  POST /api/oauth2/token     grant_type authorization_code (PKCE S256) and
                             refresh_token; client auth by HTTP Basic or form
  GET  /api/users/@me        the user object for `Authorization: Bearer <token>`
  GET  /api/users/@me/guilds/{guild}/member
                             that user's member object in the server (scope
                             guilds.members.read), 404 Unknown Guild when they
                             are not in it

A versioned API prefix (/api/v10/...) is accepted too, as on Discord. Point
the program at it with DISCORD_API_BASE=http://127.0.0.1:PORT/api and
DISCORD_AUTHORIZE_URL=http://127.0.0.1:PORT/oauth2/authorize.

Tests steer it with JSON under /_control/ or, in-process, with the
FakeDiscord methods of the same names:

  POST /_control/user          body: user fields, merged over DEFAULT_USER; used
                               for the authorizations that follow
  POST /_control/deny          {"deny": true|false}
  POST /_control/member        {"guild_id", "user_id" (default: the current
                               user's), "member": fields merged over
                               DEFAULT_MEMBER, or null: not in the server}
  POST /_control/fail          {"endpoint": "token"|"me"|"member", "mode": "500"|
                               "429"|"slow"|"close"|"malformed"|"no_id" (me)|
                               "403" (member)|null, "slow_seconds": N}; the mode
                               holds until cleared
  POST /_control/expire_codes  every outstanding code expires
  POST /_control/reset         users, codes, tokens, failures, recorded requests
  GET  /_control/requests      requests seen on the Discord endpoints (oldest
                               first; ?endpoint=authorize|token|me|member filters):
                               endpoint, method, path, headers (names
                               lower-cased), query, form, status (null when the
                               connection was closed without an answer)
  POST /_control/issue_code    {"user", "redirect_uri", "code_challenge", "scope"}
                               (all optional) -> {"code": "..."}

Command line (a harness reads the first stdout line; SIGTERM/SIGINT stop it):

  python3 tests/fake_discord.py --port 0 --client-id ID --client-secret SECRET \\
      --redirect-uri URI [--redirect-uri URI2] [--guild-member GUILD_ID]
                                                 ->   stdout: LISTENING <port>

The client options fall back to DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET and
DISCORD_REDIRECT_URI. One line per request goes to stderr, without query
strings, codes, tokens or secrets.

Where Discord documents nothing, it follows RFC 6749 / RFC 7636 and is strict,
so that a sloppy client fails here rather than in production:
- a code is consumed by any exchange attempt that names it, failed or not;
- a parameter given twice is invalid_request;
- a client must use one authentication style: Basic plus a form
  client_secret is invalid_request (a form client_id equal to Basic's is fine);
- a code_verifier sent for a code issued without a challenge is ignored;
- errors found after client_id and redirect_uri are validated go back to the
  redirect_uri (error=...&error_description=...&state=...), as RFC 6749 4.1.2.1 says.
"""

import argparse
import base64
import binascii
import copy
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import signal
import socket
import string
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CODE_LIFETIME_SECONDS = 600
TOKEN_LIFETIME_SECONDS = 604800
DEFAULT_SLOW_SECONDS = 5.0
MAX_SLOW_SECONDS = 600.0
MAX_BODY_BYTES = 1 << 20
RATE_LIMIT_RETRY_AFTER = 1.5

DEFAULT_CLIENT_ID = "1100000000000000001"
DEFAULT_CLIENT_SECRET = "fake-discord-client-secret"
DEFAULT_REDIRECT_URI = "http://localhost:8080/api/auth/discord/callback"

# Discord's documentation example user (Nelly), as a new-style account
# (discriminator "0"), with every field /users/@me returns today, including
# ones our program must simply ignore.
DEFAULT_USER = {
    "id": "80351110224678912",
    "username": "nelly",
    "avatar": "8342729096ea3675442027381ff50dfe",
    "discriminator": "0",
    "public_flags": 0,
    "flags": 0,
    "banner": None,
    "accent_color": None,
    "global_name": "Nelly",
    "avatar_decoration_data": None,
    "banner_color": None,
    "clan": None,
    "primary_guild": None,
    "mfa_enabled": False,
    "locale": "en-US",
    "premium_type": 0,
    "email": "nelly@example.com",
    "verified": True,
}

# A guild member object as GET /users/@me/guilds/{guild}/member returns it
# (the "user" member is added from the token's user when served).
DEFAULT_MEMBER = {
    "avatar": None,
    "banner": None,
    "communication_disabled_until": None,
    "flags": 0,
    "joined_at": "2015-04-26T06:26:56.936000+00:00",
    "nick": None,
    "pending": False,
    "premium_since": None,
    "roles": [],
    "unusual_dm_activity_until": None,
    "mute": False,
    "deaf": False,
}

FAIL_MODES = {
    "token": frozenset({"500", "429", "slow", "close", "malformed"}),
    "me": frozenset({"500", "429", "slow", "close", "malformed", "no_id"}),
    "member": frozenset({"500", "429", "slow", "close", "malformed", "403"}),
}

# Discord rejects scopes it does not know; a typo such as "emails" must fail here too.
KNOWN_SCOPES = frozenset("""
    activities.read activities.write applications.builds.read
    applications.builds.upload applications.commands
    applications.commands.permissions.update applications.commands.update
    applications.entitlements applications.store.update bot connections
    dm_channels.read email gdm.join guilds guilds.join guilds.members.read
    identify messages.read openid relationships.read role_connections.write rpc
    rpc.activities.write rpc.notifications.read rpc.voice.read rpc.voice.write
    voice webhook.incoming
""".split())

ACCESS_DENIED_DESCRIPTION = "The resource owner or authorization server denied the request"

_ALNUM = string.ascii_letters + string.digits
_CHALLENGE_RE = re.compile(r"[A-Za-z0-9_-]{43}\Z")
_VERIFIER_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}\Z")
_API_PATH_RE = re.compile(r"/api(?:/v[0-9]+)?(/.*)\Z")
_MEMBER_PATH_RE = re.compile(r"/users/@me/guilds/([0-9]{1,20})/member\Z")


def s256_challenge(verifier):
    """PKCE S256: base64url(sha256(verifier)) without padding (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _random_token():
    # Discord's codes and tokens are 30 alphanumerics; same shape here so
    # length or charset assumptions in the client show up in tests.
    return "".join(secrets.choice(_ALNUM) for _ in range(30))


@dataclass
class _Grant:
    user: dict
    scope: str
    redirect_uri: str
    code_challenge: object  # str, or None when the authorization had no PKCE
    expires_at: float


@dataclass
class _Response:
    status: int = 200
    body: bytes = b""
    headers: list = field(default_factory=list)
    note: str = ""
    hang_up: bool = False  # close the connection without answering


def _json(status, obj, headers=(), note=""):
    body = json.dumps(obj).encode("utf-8")
    return _Response(status, body, [("Content-Type", "application/json")] + list(headers), note)


def _discord_error(status, message, code=0):
    return _json(status, {"message": message, "code": code}, note=message)


def _form_body_error(fieldname, code, message):
    return _json(400, {"message": "Invalid Form Body", "code": 50035,
                       "errors": {fieldname: {"_errors": [{"code": code, "message": message}]}}},
                 note=f"{fieldname}: {message}")


def _oauth_error(status, error, description=None, headers=()):
    body = {"error": error}
    if description is not None:
        body["error_description"] = description
    note = error if description is None else f"{error}: {description}"
    return _json(status, body, [("Cache-Control", "no-store"), ("Pragma", "no-cache")] + list(headers),
                 note=note)


_CONTROL_ERRORS = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed"}


def _control_error(status, detail, headers=()):
    return _json(status, {"error": _CONTROL_ERRORS[status], "detail": detail}, headers, note=detail)


def _parse_params(text):
    """Query or form string -> (dict, set of names given more than once).

    A repeated name keeps all its values as a list, so the request log shows
    exactly what the client sent.
    """
    params, repeated = {}, set()
    for name, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        if name in params:
            repeated.add(name)
            if not isinstance(params[name], list):
                params[name] = [params[name]]
            params[name].append(value)
        else:
            params[name] = value
    return params, repeated


def _append_query(uri, params):
    parts = urllib.parse.urlsplit(uri)
    extra = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urllib.parse.urlunsplit(parts._replace(query=query, fragment=""))


def _redirect(location, note):
    return _Response(302, b"", [("Location", location)], note)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # stop() must not wait for idle keep-alive connections; it closes them itself.
    block_on_close = False

    def __init__(self, address, handler):
        super().__init__(address, handler)
        self._open = set()
        self._open_lock = threading.Lock()

    def process_request(self, request, client_address):
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # A client that hangs up (or a connection stop() closed) is not a fault
        # of the fake; anything else keeps the standard traceback.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self):
        with self._open_lock:
            still_open = list(self._open)
        for conn in still_open:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class FakeDiscord:
    """In-process fake Discord. start() serves it on a background thread.

    Control methods are thread-safe and mirror /_control/. Typical use:

        fake = FakeDiscord(CLIENT_ID, SECRET, [REDIRECT_URI]).start()
        env = fake.env()          # DISCORD_* variables for the program
        ...
        fake.stop()
    """

    def __init__(self, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET,
                 redirect_uris=(DEFAULT_REDIRECT_URI,), port=0):
        if isinstance(redirect_uris, str):
            redirect_uris = (redirect_uris,)
        if not client_id or not client_secret or not redirect_uris:
            raise ValueError("client_id, client_secret and at least one redirect_uri are required")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = tuple(redirect_uris)
        self._wanted_port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = None
        self._thread = None
        self._clear()

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        if self._server is not None:
            raise RuntimeError("already started")
        self._stopping.clear()
        server = _Server(("127.0.0.1", self._wanted_port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-discord", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._stopping.set()  # wakes handlers sleeping in "slow" mode
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        if self._server is None:
            raise RuntimeError("not started")
        return self._server.server_address[1]

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self):
        return f"{self.base_url}/api"

    @property
    def authorize_url(self):
        return f"{self.base_url}/oauth2/authorize"

    def env(self, redirect_uri=None):
        """The DISCORD_* environment for a program that should use this fake."""
        return {
            "DISCORD_CLIENT_ID": self.client_id,
            "DISCORD_CLIENT_SECRET": self.client_secret,
            "DISCORD_REDIRECT_URI": redirect_uri or self.redirect_uris[0],
            "DISCORD_API_BASE": self.api_base,
            "DISCORD_AUTHORIZE_URL": self.authorize_url,
        }

    # -- control API -------------------------------------------------------

    def set_user(self, user=None):
        """Fields merged over DEFAULT_USER (not over the previous user); any
        value, of any type, is served as given, so bad shapes can be tested."""
        if user is None:
            user = {}
        if not isinstance(user, dict):
            raise ValueError("user must be a JSON object")
        merged = copy.deepcopy(DEFAULT_USER)
        merged.update(copy.deepcopy(user))
        with self._lock:
            self._user = merged
        return copy.deepcopy(merged)

    def deny(self, deny=True):
        if not isinstance(deny, bool):
            raise ValueError('"deny" must be true or false')
        with self._lock:
            self._deny = deny
        return deny

    def set_member(self, guild_id, member=None, user_id=None):
        """Makes user_id (default: the current user) a member of guild_id with
        `member`'s fields merged over DEFAULT_MEMBER; member None takes them out
        of the server. Served as given, so bad shapes can be tested."""
        if not isinstance(guild_id, str) or not re.fullmatch(r"[0-9]{1,20}", guild_id):
            raise ValueError('"guild_id" must be a snowflake string')
        if member is not None and not isinstance(member, dict):
            raise ValueError('"member" must be a JSON object or null')
        if user_id is not None and not isinstance(user_id, str):
            raise ValueError('"user_id" must be a string')
        with self._lock:
            key = (guild_id, user_id if user_id is not None else str(self._user.get("id")))
            if member is None:
                self._members.pop(key, None)
                return None
            merged = copy.deepcopy(DEFAULT_MEMBER)
            merged.update(copy.deepcopy(member))
            self._members[key] = merged
        return copy.deepcopy(merged)

    def fail(self, endpoint, mode, slow_seconds=DEFAULT_SLOW_SECONDS):
        if endpoint not in FAIL_MODES:
            raise ValueError('"endpoint" must be "token", "me" or "member"')
        if isinstance(mode, int) and not isinstance(mode, bool):
            mode = str(mode)
        if mode is not None and mode not in FAIL_MODES[endpoint]:
            raise ValueError(f'"mode" for {endpoint} must be one of '
                             f'{", ".join(sorted(FAIL_MODES[endpoint]))} or null')
        if slow_seconds is None:
            slow_seconds = DEFAULT_SLOW_SECONDS
        if (isinstance(slow_seconds, bool) or not isinstance(slow_seconds, (int, float))
                or not 0 <= slow_seconds <= MAX_SLOW_SECONDS):
            raise ValueError(f'"slow_seconds" must be a number from 0 to {MAX_SLOW_SECONDS:g}')
        with self._lock:
            if mode is None:
                self._failures.pop(endpoint, None)
            else:
                self._failures[endpoint] = (mode, float(slow_seconds))
        return {"endpoint": endpoint, "mode": mode, "slow_seconds": slow_seconds}

    def expire_codes(self):
        with self._lock:
            for grant in self._codes.values():
                grant.expires_at = 0.0
            return len(self._codes)

    def reset(self):
        with self._lock:
            self._clear()

    def requests(self, endpoint=None):
        with self._lock:
            seen = [r for r in self._requests if endpoint is None or r["endpoint"] == endpoint]
            return copy.deepcopy(seen)

    def issue_code(self, user=None, redirect_uri=None, code_challenge=None, scope="identify email"):
        """A code as if the authorize step had happened: `user` merged over
        DEFAULT_USER (the current user when None), `redirect_uri` defaulting
        to the first registered one, `code_challenge` None for no PKCE."""
        if user is not None and not isinstance(user, dict):
            raise ValueError('"user" must be a JSON object')
        for name, value in (("redirect_uri", redirect_uri), ("code_challenge", code_challenge)):
            if value is not None and not isinstance(value, str):
                raise ValueError(f'"{name}" must be a string')
        if not isinstance(scope, str) or not scope.split():
            raise ValueError('"scope" must be a non-empty string')
        with self._lock:
            if user is None:
                snapshot = copy.deepcopy(self._user)
            else:
                snapshot = copy.deepcopy(DEFAULT_USER)
                snapshot.update(copy.deepcopy(user))
        return self._new_code(snapshot, " ".join(scope.split()),
                              redirect_uri or self.redirect_uris[0], code_challenge)

    # -- state ---------------------------------------------------------------

    def _clear(self):
        self._user = copy.deepcopy(DEFAULT_USER)
        self._deny = False
        self._failures = {}
        self._codes = {}
        self._access = {}
        self._refresh = {}
        self._requests = []
        self._members = {}

    def _new_code(self, user, scope, redirect_uri, code_challenge):
        code = _random_token()
        grant = _Grant(user, scope, redirect_uri, code_challenge,
                       time.monotonic() + CODE_LIFETIME_SECONDS)
        with self._lock:
            self._codes[code] = grant
        return code

    def _new_tokens(self, grant):
        access, refresh = _random_token(), _random_token()
        token_grant = _Grant(grant.user, grant.scope, grant.redirect_uri, None,
                             time.monotonic() + TOKEN_LIFETIME_SECONDS)
        with self._lock:
            self._access[access] = token_grant
            self._refresh[refresh] = token_grant
        return _json(200, {"access_token": access, "token_type": "Bearer",
                           "expires_in": TOKEN_LIFETIME_SECONDS, "refresh_token": refresh,
                           "scope": grant.scope},
                     [("Cache-Control", "no-store"), ("Pragma", "no-cache")], note="tokens issued")

    def _record(self, endpoint, method, path, headers, query, form):
        names = {}
        for name, value in headers.items():
            key = name.lower()
            names[key] = f"{names[key]}, {value}" if key in names else value
        entry = {"endpoint": endpoint, "method": method, "path": path, "headers": names,
                 "query": query, "form": form, "status": None}
        with self._lock:
            self._requests.append(entry)
        return entry

    def _set_status(self, entry, status):
        with self._lock:
            entry["status"] = status

    # -- the Discord endpoints -------------------------------------------------

    def _serve(self, method, path, query_string, headers, body):
        """Route one non-control request; returns (_Response, request record)."""
        match = _API_PATH_RE.match(path)
        if path == "/oauth2/authorize":
            endpoint, allowed = "authorize", "GET"
        elif match and match.group(1) == "/oauth2/token":
            endpoint, allowed = "token", "POST"
        elif match and match.group(1) == "/users/@me":
            endpoint, allowed = "me", "GET"
        elif match and _MEMBER_PATH_RE.match(match.group(1)):
            endpoint, allowed = "member", "GET"
        else:
            endpoint, allowed = None, None

        query, query_repeated = _parse_params(query_string)
        form, form_repeated = {}, set()
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            form, form_repeated = _parse_params(body.decode("utf-8", "replace"))
        entry = self._record(endpoint, method, path, headers, query, form)

        if endpoint is None:
            return _discord_error(404, "404: Not Found"), entry
        if method != allowed:
            resp = _discord_error(405, "405: Method Not Allowed")
            resp.headers.append(("Allow", allowed))
            return resp, entry
        if endpoint == "authorize":
            return self._authorize(query, query_repeated), entry

        with self._lock:
            mode, slow_seconds = self._failures.get(endpoint, (None, 0.0))
        if mode == "slow":
            self._stopping.wait(slow_seconds)
        elif mode is not None and mode != "no_id":
            return self._failure(endpoint, mode), entry
        if endpoint == "token":
            return self._token(headers, content_type, form, form_repeated), entry
        if endpoint == "member":
            return self._member(headers, _MEMBER_PATH_RE.match(match.group(1)).group(1)), entry
        return self._me(headers, drop_id=(mode == "no_id")), entry

    @staticmethod
    def _failure(endpoint, mode):
        if mode == "500":
            return _discord_error(500, "500: Internal Server Error")
        if mode == "429":
            body = {"message": "You are being rate limited.",
                    "retry_after": RATE_LIMIT_RETRY_AFTER, "global": False}
            return _json(429, body, [
                ("Retry-After", str(math.ceil(RATE_LIMIT_RETRY_AFTER))),
                ("X-RateLimit-Limit", "1"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset-After", str(RATE_LIMIT_RETRY_AFTER)),
                ("X-RateLimit-Bucket", "fake-" + endpoint),
                ("X-RateLimit-Scope", "user"),
            ], note="failure mode 429")
        if mode == "403":
            return _discord_error(403, "Missing Access", 50001)
        if mode == "malformed":
            body = {
                "token": b'{"access_token": "6qrZcUqja7812RVdnEKjpzOL4CvHBFG", "token_type": "Bea',
                "me": b'{"id": "80351110224678912", "username": "nelly", "avatar": ',
                "member": b'{"nick": null, "roles": ["41771983423143936", ',
            }[endpoint]
            return _Response(200, body, [("Content-Type", "application/json")],
                             note="failure mode malformed")
        return _Response(hang_up=True, note="failure mode close")

    def _authorize(self, query, repeated):
        for name in ("client_id", "redirect_uri"):
            if name in repeated:
                return _form_body_error(name, "PARAMETER_REPEATED", f'"{name}" was given more than once')
        client_id = query.get("client_id", "")
        if not client_id:
            return _form_body_error("client_id", "BASE_TYPE_REQUIRED", "This field is required")
        if not re.fullmatch(r"[0-9]{1,20}", client_id):
            return _form_body_error("client_id", "NUMBER_TYPE_COERCE", "Value is not snowflake.")
        if client_id != self.client_id:
            return _discord_error(400, "Unknown Application", 10002)
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri:
            return _form_body_error("redirect_uri", "BASE_TYPE_REQUIRED", "This field is required")
        if redirect_uri not in self.redirect_uris:
            return _form_body_error("redirect_uri", "INVALID_OAUTH2_REDIRECT_URI",
                                    "Invalid OAuth2 redirect_uri")

        # From here on the redirect_uri is trusted, so errors travel back through it.
        state = query.get("state")
        if isinstance(state, list):
            state = None

        def back(error, description):
            params = {"error": error, "error_description": description}
            if state is not None:
                params["state"] = state
            return _redirect(_append_query(redirect_uri, params), note=f"{error}: {description}")

        if repeated:
            return back("invalid_request", f'"{sorted(repeated)[0]}" was given more than once.')
        response_type = query.get("response_type")
        if not response_type:
            return back("invalid_request", 'Missing "response_type" in request.')
        if response_type != "code":
            return back("unsupported_response_type",
                        "The authorization server does not support obtaining an authorization "
                        "code using this method.")
        scopes = list(dict.fromkeys(query.get("scope", "").split()))
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes) or "identify" not in scopes:
            return back("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
        challenge = query.get("code_challenge")
        method = query.get("code_challenge_method")
        if challenge is None and method is not None:
            return back("invalid_request", 'Missing "code_challenge" in request.')
        if challenge is not None:
            if method != "S256":
                return back("invalid_request", 'Invalid "code_challenge_method" in request.')
            if not _CHALLENGE_RE.match(challenge):
                return back("invalid_request", 'Invalid "code_challenge" in request.')
        if query.get("prompt") not in (None, "none", "consent"):
            return back("invalid_request", 'Invalid "prompt" in request.')

        with self._lock:
            denied = self._deny
            user = copy.deepcopy(self._user)
        if denied:
            return back("access_denied", ACCESS_DENIED_DESCRIPTION)
        code = self._new_code(user, " ".join(scopes), redirect_uri, challenge)
        params = {"code": code}
        if state is not None:
            params["state"] = state
        return _redirect(_append_query(redirect_uri, params), note="code issued")

    def _client_matches(self, client_id, secret):
        # RFC 6749 2.3.1 form-encodes Basic credentials; many clients do not.
        # Both spellings are accepted, since Discord's ids and secrets need no escaping.
        for cid, sec in ((client_id, secret),
                         (urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret))):
            if cid == self.client_id and hmac.compare_digest(sec.encode("utf-8"),
                                                             self.client_secret.encode("utf-8")):
                return True
        return False

    def _authenticate_client(self, headers, form):
        """None when the client is authenticated, else the error response."""
        authorization = headers.get("Authorization")
        if authorization is not None:
            challenge = [("WWW-Authenticate", 'Basic realm="discord"')]
            scheme, _, credentials = authorization.strip().partition(" ")
            if scheme.lower() != "basic":
                return _oauth_error(401, "invalid_client", headers=challenge)
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return _oauth_error(401, "invalid_client", headers=challenge)
            client_id, colon, secret = decoded.partition(":")
            if not colon:
                return _oauth_error(401, "invalid_client", headers=challenge)
            if "client_secret" in form:
                return _oauth_error(400, "invalid_request",
                                    "Use one client authentication method, not Basic and form fields.")
            if "client_id" in form and form["client_id"] not in (
                    client_id, urllib.parse.unquote_plus(client_id)):
                return _oauth_error(401, "invalid_client", headers=challenge)
            if not self._client_matches(client_id, secret):
                return _oauth_error(401, "invalid_client", headers=challenge)
            return None
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if not client_id or not secret or not self._client_matches(client_id, secret):
            return _oauth_error(401, "invalid_client")
        return None

    def _token(self, headers, content_type, form, repeated):
        if content_type != "application/x-www-form-urlencoded":
            return _oauth_error(400, "invalid_request",
                                "Content-Type must be application/x-www-form-urlencoded.")
        if repeated:
            return _oauth_error(400, "invalid_request",
                                f'"{sorted(repeated)[0]}" was given more than once.')
        refused = self._authenticate_client(headers, form)
        if refused is not None:
            return refused
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "invalid_request", 'Missing "grant_type" in request.')
        if grant_type == "refresh_token":
            return self._refresh_grant(form)
        if grant_type != "authorization_code":
            return _oauth_error(400, "unsupported_grant_type")
        for name in ("code", "redirect_uri"):
            if not form.get(name):
                return _oauth_error(400, "invalid_request", f'Missing "{name}" in request.')

        with self._lock:
            # Any attempt consumes the code, so a verifier cannot be guessed by retrying.
            grant = self._codes.pop(form["code"], None)
        if grant is None or grant.expires_at <= time.monotonic():
            return _oauth_error(400, "invalid_grant", 'Invalid "code" in request.')
        if form["redirect_uri"] != grant.redirect_uri:
            return _oauth_error(400, "invalid_grant", 'Invalid "redirect_uri" in request.')
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier")
            if not verifier:
                return _oauth_error(400, "invalid_request", 'Missing "code_verifier" in request.')
            if not _VERIFIER_RE.match(verifier):
                return _oauth_error(400, "invalid_request", 'Invalid "code_verifier" in request.')
            if not hmac.compare_digest(s256_challenge(verifier), grant.code_challenge):
                return _oauth_error(400, "invalid_grant", 'Invalid "code_verifier" in request.')
        return self._new_tokens(grant)

    def _refresh_grant(self, form):
        refresh = form.get("refresh_token")
        if not refresh:
            return _oauth_error(400, "invalid_request", 'Missing "refresh_token" in request.')
        with self._lock:
            grant = self._refresh.pop(refresh, None)
        if grant is None:
            return _oauth_error(400, "invalid_grant")
        return self._new_tokens(grant)

    def _me(self, headers, drop_id):
        scheme, _, token = (headers.get("Authorization") or "").strip().partition(" ")
        with self._lock:
            grant = self._access.get(token.strip()) if scheme.lower() == "bearer" else None
        if (grant is None or grant.expires_at <= time.monotonic()
                or "identify" not in grant.scope.split()):
            return _discord_error(401, "401: Unauthorized")
        user = copy.deepcopy(grant.user)
        if "email" not in grant.scope.split():
            user.pop("email", None)
            user.pop("verified", None)
        if drop_id:
            user.pop("id", None)
        return _json(200, user, note="failure mode no_id" if drop_id else "user")

    def _member(self, headers, guild_id):
        scheme, _, token = (headers.get("Authorization") or "").strip().partition(" ")
        with self._lock:
            grant = self._access.get(token.strip()) if scheme.lower() == "bearer" else None
        if (grant is None or grant.expires_at <= time.monotonic()
                or "guilds.members.read" not in grant.scope.split()):
            return _discord_error(401, "401: Unauthorized")
        with self._lock:
            member = copy.deepcopy(self._members.get((guild_id, str(grant.user.get("id")))))
        if member is None:
            return _discord_error(404, "Unknown Guild", 10004)
        member.setdefault("user", {k: grant.user[k] for k in
                                   ("id", "username", "avatar", "discriminator", "public_flags",
                                    "flags", "banner", "accent_color", "global_name")
                                   if k in grant.user})
        return _json(200, member, note="member")

    # -- control over HTTP -------------------------------------------------------

    def _control(self, method, path, query_string, body):
        """One /_control/ request: GET takes query parameters, POST a JSON object."""
        routes = {
            "user": ("POST", lambda a: {"user": self.set_user(a)}),
            "deny": ("POST", lambda a: {"deny": self.deny(a.get("deny", True))}),
            "member": ("POST", lambda a: {"member": self.set_member(
                a.get("guild_id"), a.get("member"), a.get("user_id"))}),
            "fail": ("POST", lambda a: self.fail(a.get("endpoint"), a.get("mode"),
                                                 a.get("slow_seconds"))),
            "expire_codes": ("POST", lambda a: {"expired": self.expire_codes()}),
            "reset": ("POST", self._control_reset),
            "requests": ("GET", lambda a: self.requests(a.get("endpoint"))),
            "issue_code": ("POST", lambda a: {"code": self.issue_code(
                a.get("user"), a.get("redirect_uri"), a.get("code_challenge"),
                a.get("scope", "identify email"))}),
        }
        name = path[len("/_control/"):]
        if name not in routes:
            return _control_error(404, f"no control route {path}")
        allowed, action = routes[name]
        if method != allowed:
            return _control_error(405, f"{path} takes {allowed}", [("Allow", allowed)])
        if method == "GET":
            args, _ = _parse_params(query_string)
        else:
            try:
                args = json.loads(body.decode("utf-8")) if body.strip() else {}
            except (UnicodeDecodeError, json.JSONDecodeError):
                return _control_error(400, "the body is not valid JSON")
            if not isinstance(args, dict):
                return _control_error(400, "the body must be a JSON object")
        try:
            result = action(args)
        except ValueError as err:
            return _control_error(400, str(err))
        return _json(200, result, note="control")

    def _control_reset(self, _args):
        self.reset()
        return {"reset": True}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeDiscord/1.0"
    timeout = 60  # idle keep-alive connections must not pin a thread forever

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def version_string(self):
        return self.server_version

    def log_request(self, code="-", size="-"):
        # The standard line carries the query string (state, challenge);
        # _dispatch writes its own line without it.
        pass

    def log_message(self, format, *args):  # noqa: A002 (signature fixed by http.server)
        sys.stderr.write(f"fake_discord: {format % args}\n")

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None, _discord_error(411, "411: Length Required")
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b"", None
        if not raw.strip().isdigit():
            return None, _discord_error(400, "400: Bad Request")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            return None, _discord_error(413, "413: Request Entity Too Large")
        return self.rfile.read(length), None

    def _dispatch(self):
        started = time.monotonic()
        fake = self.server.fake
        parts = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parts.path)
        entry = None
        body, resp = self._read_body()
        if resp is not None:
            self.close_connection = True  # the unread body would desynchronise the stream
        elif path.startswith("/_control/"):
            resp = fake._control(self.command, path, parts.query, body)
        else:
            resp, entry = fake._serve(self.command, path, parts.query, self.headers, body)

        # Recorded and logged before answering, so whoever got the answer can
        # already see both.
        status = None if resp.hang_up else resp.status
        if entry is not None:
            fake._set_status(entry, status)
        elapsed_ms = (time.monotonic() - started) * 1000
        sys.stderr.write(f"fake_discord: {self.command} {path} "
                         f"{status if status is not None else 'closed'} {elapsed_ms:.0f}ms"
                         f"{' ' + resp.note if resp.note else ''}\n")
        if resp.hang_up:
            self.close_connection = True
            return
        try:
            self.send_response(resp.status)
            for name, value in resp.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(resp.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="fake_discord.py",
        description="Fake Discord: a stand-in for discord.com for local development and tests; "
                    "never for production. Serves /oauth2/authorize, /api/oauth2/token, "
                    "/api/users/@me and /api/users/@me/guilds/{guild}/member on 127.0.0.1, steered through /_control/ (see the module "
                    "docstring).",
        epilog='With --port 0 a free port is chosen. The first stdout line is "LISTENING <port>". '
               "SIGTERM or SIGINT stops it (exit 0).")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--client-id", default=os.environ.get("DISCORD_CLIENT_ID"),
                        help="the registered application's id (default: $DISCORD_CLIENT_ID)")
    parser.add_argument("--client-secret", default=os.environ.get("DISCORD_CLIENT_SECRET"),
                        help="its secret (default: $DISCORD_CLIENT_SECRET)")
    parser.add_argument("--redirect-uri", action="append", dest="redirect_uris",
                        help="a registered redirect URI; repeatable (default: $DISCORD_REDIRECT_URI)")
    parser.add_argument("--guild-member", action="append", dest="guilds", default=[],
                        metavar="GUILD_ID",
                        help="make the default user a member (no roles) of this server; "
                             "repeatable; more through /_control/member")
    args = parser.parse_args(argv)
    if not args.redirect_uris and os.environ.get("DISCORD_REDIRECT_URI"):
        args.redirect_uris = [os.environ["DISCORD_REDIRECT_URI"]]
    for name, value in (("--client-id", args.client_id), ("--client-secret", args.client_secret),
                        ("--redirect-uri", args.redirect_uris)):
        if not value:
            parser.error(f"{name} is required")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be from 0 to 65535")
    for guild in args.guilds:
        if not re.fullmatch(r"[0-9]{1,20}", guild):
            parser.error("--guild-member takes a server id (digits)")
    return args


def main(argv=None):
    args = _parse_args(argv)
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    # Blocked before any thread starts, so every thread inherits the mask and
    # only sigwait() below ever sees the signal.
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    fake = FakeDiscord(args.client_id, args.client_secret, args.redirect_uris, args.port)
    for guild in args.guilds:
        fake.set_member(guild, {})
    try:
        fake.start()
    except OSError as err:
        sys.stderr.write(f"fake_discord: cannot listen on 127.0.0.1:{args.port}: {err.strerror}\n")
        return 1
    print(f"LISTENING {fake.port}", flush=True)
    sys.stderr.write(f"fake_discord: stand-in for discord.com (tests/dev only) on {fake.base_url}; "
                     f"DISCORD_AUTHORIZE_URL={fake.authorize_url} DISCORD_API_BASE={fake.api_base}\n")
    signal.sigwait(stop_signals)
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
