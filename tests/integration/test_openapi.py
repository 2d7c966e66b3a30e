"""docs/openapi.yaml: a sound document that covers every route nginx and the
programs serve, and a checker (openapi_check.py, applied to every answer of
the suite by conftest.py) that does fail on an answer it does not document."""

import json
import re

import jsonschema
import pytest
import requests

import openapi_check
from helpers import get, login
from harness import ADMIN_PASSWORD, REPO

# The two catch-alls that answer 404 not_found for any path no route claims.
NGINX_CATCH_ALL = {("", "/api/"), ("=", "/api")}


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_document_is_openapi_3_1_with_valid_schemas():
    doc = openapi_check.document()
    assert doc["openapi"].startswith("3.1")
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)
    for ref in set(_refs(doc)):
        assert openapi_check._resolve({"$ref": ref}) is not None, ref
    for name in ("User", "Member", "LoginRequest", "Error", "SignIn"):
        assert name in doc["components"]["schemas"]


def test_every_operation_documents_its_errors_with_the_error_body():
    doc = openapi_check.document()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in openapi_check.METHODS:
                continue
            assert op.get("responses"), (method, path)
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    content = openapi_check._resolve(response).get("content", {})
                    assert "application/json" in content, (method, path, status)


def test_every_api_location_of_nginx_conf_is_documented():
    locations = openapi_check.nginx_api_locations((REPO / "nginx.conf").read_text())
    assert ("=", "/api/auth/login") in locations  # the parser sees them
    missing = [f"location {m} {p}".replace("  ", " ") for m, p in locations
               if (m, p) not in NGINX_CATCH_ALL and not openapi_check.documented_for(m, p)]
    assert not missing, f"nginx.conf routes paths docs/openapi.yaml lacks: {missing}"


def test_the_location_check_fails_for_an_undocumented_route():
    conf = "location = /api/auth/frobnicate {\n}\nlocation ~ ^/metrics/(x)$ {\n}\n"
    locations = openapi_check.nginx_api_locations(conf)
    assert locations == [("=", "/api/auth/frobnicate"), ("~", "^/metrics/(x)$")]
    assert not any(openapi_check.documented_for(m, p) for m, p in locations)


def test_every_route_of_the_programs_is_documented():
    doc = openapi_check.document()
    routes = []
    for source in sorted((REPO / "cgi-bin").glob("*.c")):
        routes += re.findall(r'\{\s*"([A-Z]+)",\s*"(/[^"]*)"', source.read_text())
    assert ("POST", "/api/auth/login") in routes
    missing = []
    for method, pattern in routes:
        template = openapi_check.find_path(re.sub(r"\{[^}]*\}", "1", pattern), method.lower())
        if template is None or method.lower() not in doc["paths"][template]:
            missing.append(f"{method} {pattern}")
    assert not missing, f"routes of cgi-bin/ that docs/openapi.yaml lacks: {missing}"


def _fake_answer(stack, method, path, status, body):
    r = requests.Response()
    r.status_code = status
    r.url = stack.url(path)
    r.headers["Content-Type"] = "application/json; charset=utf-8"
    r._content = body.encode()
    r.request = requests.Request(method, stack.url(path)).prepare()
    return r


def test_the_checker_fails_on_a_body_that_breaks_the_schema(clean):
    token = login(clean, "admin", ADMIN_PASSWORD)
    real = get(clean, "/api/auth/me", token)  # checked on the way, and fine
    assert real.status_code == 200
    body = real.json()
    body["hashed_password"] = "$2b$12$x"
    with pytest.raises(openapi_check.UndocumentedResponse, match="hashed_password"):
        openapi_check.check(_fake_answer(clean, "GET", "/api/auth/me", 200, json.dumps(body)))
    with pytest.raises(openapi_check.UndocumentedResponse, match="detail"):
        openapi_check.check(_fake_answer(clean, "GET", "/api/auth/me", 401, '{"error":"not_authenticated"}'))


def test_the_checker_fails_on_an_undocumented_status_path_or_method(clean):
    err = '{"error":"conflict","detail":"x"}'
    with pytest.raises(openapi_check.UndocumentedResponse, match="status 409 is not documented"):
        openapi_check.check(_fake_answer(clean, "GET", "/api/auth/me", 409, err))
    with pytest.raises(openapi_check.UndocumentedResponse, match="not in docs/openapi.yaml"):
        openapi_check.check(_fake_answer(clean, "GET", "/api/nothing", 200, "{}"))
    with pytest.raises(openapi_check.UndocumentedResponse, match="PUT is not documented"):
        openapi_check.check(_fake_answer(clean, "PUT", "/api/auth/me", 200, "{}"))
