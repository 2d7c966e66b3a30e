"""docs/openapi.yaml as the judge of every answer the suite receives.

conftest.py wraps requests.Session.request, so every response of the stack
under test (helpers.py's calls, the harness's, a test's own requests.get)
passes through check(): a JSON answer must be documented for its route,
method and status, and match that response's schema (JSON Schema draft
2020-12, python3-jsonschema). The rules the document states for every route:
a path it does not list answers 404, a method it does not list on a listed
path 405, both with the Error body. Answers that are not JSON (204, 302, the
site's HTML) are left to the tests.

nginx_api_locations() reads nginx.conf's API locations for the test that
fails when nginx routes a path the document lacks.
"""

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[2]
DOC_PATH = REPO / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# The stack's base URL (http://127.0.0.1:PORT), set by conftest once it runs;
# answers from anywhere else (the fake Discord) are not ours to judge.
base_url = None


class UndocumentedResponse(AssertionError):
    pass


@lru_cache(maxsize=1)
def document():
    return yaml.safe_load(DOC_PATH.read_text())


def _template_regex(template):
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + r"\Z")


@lru_cache(maxsize=1)
def _routes():
    """(regex, template) of every documented path, literal paths before templated ones."""
    paths = document()["paths"]
    ordered = sorted(paths, key=lambda t: (t.count("{"), t))
    return [(_template_regex(t), t) for t in ordered]


def find_path(path, method=None):
    """The documented path template that path matches, or None; with method,
    the first one that documents it (PATCH /api/members/me is the template
    /api/members/{discord_id}, GET the literal /api/members/me)."""
    matches = [template for regex, template in _routes() if regex.match(path)]
    if method is not None:
        for template in matches:
            item = document()["paths"][template]
            if method in item or (method == "head" and "get" in item):
                return template
    return matches[0] if matches else None


def _pointer(*parts):
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _validate(instance, pointer, what):
    schema = dict(document())
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$ref"] = pointer
    try:
        jsonschema.Draft202012Validator(schema).validate(instance)
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "(the body)"
        raise UndocumentedResponse(f"{what}: the body does not match docs/openapi.yaml at {where}: "
                                   f"{e.message}\n  body: {str(instance)[:400]}") from None


def _resolve(node):
    doc = document()
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def is_json(response):
    return response.headers.get("Content-Type", "").split(";")[0].strip() == "application/json"


def check(response):
    """Raises UndocumentedResponse when a JSON answer of the stack is not what the document says."""
    if base_url is None or not response.url.startswith(base_url) or not is_json(response):
        return
    request = response.request
    path = urlsplit(request.url).path
    method = request.method.lower()
    status = str(response.status_code)
    what = f"{request.method} {path} -> {status}"
    try:
        body = response.json()
    except ValueError:
        raise UndocumentedResponse(f"{what}: Content-Type says JSON but the body is not: "
                                   f"{response.text[:200]!r}") from None

    if not path.startswith(("/api/", "/metrics/")) and path not in ("/api", "/metrics"):
        # Not an API path (the guarded /officers/ area): its JSON is nginx's error body.
        if response.status_code < 400:
            raise UndocumentedResponse(f"{what}: JSON outside the API")
        _validate(body, _pointer("components", "schemas", "Error"), what)
        return
    template = find_path(path, method)
    if template is None:
        if status != "404":
            raise UndocumentedResponse(f"{what}: the path is not in docs/openapi.yaml "
                                       f"(only its 404 not_found may be)")
        _validate(body, _pointer("components", "schemas", "Error"), what)
        return
    item = document()["paths"][template]
    if method == "head" and "head" not in item:
        method = "get"
    if method not in item:
        if status != "405":
            raise UndocumentedResponse(f"{what}: {request.method} is not documented for {template} "
                                       f"(only its 405 method_not_allowed may be)")
        _validate(body, _pointer("components", "schemas", "Error"), what)
        return
    responses = item[method]["responses"]
    if status not in responses:
        raise UndocumentedResponse(f"{what}: status {status} is not documented for "
                                   f"{request.method} {template} (documented: {', '.join(responses)})")
    resolved = _resolve(responses[status])
    if "application/json" not in resolved.get("content", {}):
        raise UndocumentedResponse(f"{what}: docs/openapi.yaml documents no JSON body for it")
    if "$ref" in responses[status]:
        pointer = responses[status]["$ref"] + "/content/application~1json/schema"
    else:
        pointer = _pointer("paths", template, method, "responses", status, "content",
                           "application/json", "schema")
    _validate(body, pointer, what)


def nginx_api_locations(conf_text):
    """(modifier, path) of every nginx.conf location that routes API or metrics
    requests to a program: exact (=), prefix ("") or regex (~, ~*)."""
    found = []
    for m in re.finditer(r"^\s*location\s+(=|~\*|~|\^~)?\s*(\S+)\s*\{", conf_text, re.M):
        modifier, path = m.group(1) or "", m.group(2)
        if path.startswith("@"):
            continue
        if re.match(r"\^?/(api|metrics)\b", path.lstrip("^")) or path.startswith(("/api", "/metrics")):
            found.append((modifier, path))
    return found


def documented_for(modifier, location):
    """True when the document has a path that this nginx location serves."""
    paths = list(document()["paths"])
    # A sample concrete path for each template ({x} -> a digit string).
    samples = [re.sub(r"\{[^}/]+\}", "1", t) for t in paths]
    if modifier == "=":
        return find_path(location) is not None
    if modifier in ("~", "~*"):
        flags = re.I if modifier == "~*" else 0
        rx = re.compile(location, flags)
        samples += [re.sub(r"\{[^}/]+\}", "login", t) for t in paths]
        return any(rx.search(s) for s in samples)
    return any(s.startswith(location) for s in samples)
