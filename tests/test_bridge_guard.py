"""Issue 11, finding 1: a foreign web page cannot make the bridge generate.

Every refusal happens before the body is read and before the model is touched: the fake
generator's `encode` (the first model call) never runs, and /health's `generations`
counter does not move.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.mlx_bridge.app import make_app
from server.mlx_bridge.guard import refusal
from tests.bridge_fake import BASE, CHAT, FakeGenerator, ask, chat_scope

PAGE = "http://127.0.0.1:8765"
BODY = json.dumps(ask(max_tokens=8)).encode()


def client(gen: FakeGenerator, **options: Any) -> TestClient:
    return TestClient(make_app(gen, **options), base_url=BASE)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        # the curl: a simple request from a foreign page
        ({"origin": "https://evil.example", "content-type": "text/plain"}, 403),
        ({"origin": "https://evil.example", "content-type": "application/json"}, 403),
        ({"origin": "null", "content-type": "application/json"}, 403),
        ({"origin": "http://127.0.0.1:9999", "content-type": "application/json"}, 403),
        # a page's no-cors fetch without an Origin the bridge knows
        ({"sec-fetch-site": "cross-site", "content-type": "application/json"}, 403),
        ({"sec-fetch-site": "same-site", "content-type": "application/json"}, 403),
        # bodies a browser may send without a preflight, even from an allowed page
        ({"origin": PAGE, "content-type": "text/plain"}, 415),
        ({"origin": PAGE, "content-type": "application/x-www-form-urlencoded"}, 415),
        ({"origin": PAGE, "content-type": "multipart/form-data; boundary=x"}, 415),
        ({"content-type": "text/plain;charset=UTF-8"}, 415),
        ({}, 415),
    ],
)
def test_foreign_pages_and_simple_bodies_are_refused_before_any_work(
    headers: dict[str, str], status: int
) -> None:
    gen = FakeGenerator(["hello"])
    c = client(gen)
    response = c.post(CHAT, content=BODY, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == status
    assert error["type"] == ("permission_error" if status == 403 else "invalid_request_error")
    assert "access-control-allow-origin" not in response.headers
    assert gen.encoded == [] and gen.calls == []
    assert c.get("/health").json()["generations"] == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json"},  # curl, the CLI, SDKs: no Origin
        {"content-type": "application/json; charset=utf-8", "origin": PAGE},
        {"content-type": "Application/JSON", "origin": "http://localhost:8765"},
        {"content-type": "application/json", "origin": "https://rate.example.org",
         "sec-fetch-site": "cross-site"},
        {"content-type": "application/json", "sec-fetch-site": "same-origin"},
        {"content-type": "application/json", "sec-fetch-site": "none"},
    ],
)
def test_own_pages_and_plain_clients_still_generate(headers: dict[str, str]) -> None:
    gen = FakeGenerator(["hel", "lo"])
    c = client(gen, allow_origins=["https://rate.example.org"])
    response = c.post(CHAT, content=BODY, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "hello"
    assert c.get("/health").json()["generations"] == 1
    origin = headers.get("origin")
    assert response.headers.get("access-control-allow-origin") == origin


def test_a_foreign_origin_cannot_read_models_or_health_either() -> None:
    c = client(FakeGenerator(["x"]))
    for path in ("/v1/models", "/health"):
        response = c.get(path, headers={"origin": "https://evil.example"})
        assert response.status_code == 403
        assert "evil.example" in response.json()["error"]["message"]
    assert c.get("/v1/models", headers={"origin": PAGE}).status_code == 200


def test_star_in_the_allowlist_allows_every_origin() -> None:
    c = client(FakeGenerator(["x"]), allow_origins=["*"])
    response = c.post(CHAT, content=BODY, headers={"origin": "https://any.example",
                                                   "content-type": "application/json"})
    assert response.status_code == 200


def test_preflight_is_still_answered_by_the_cors_allowlist() -> None:
    c = client(FakeGenerator(["x"]))
    asked = {"access-control-request-method": "POST",
             "access-control-request-headers": "content-type"}
    own = c.options(CHAT, headers={"origin": PAGE, **asked})
    assert own.status_code == 200
    assert own.headers["access-control-allow-origin"] == PAGE
    foreign = c.options(CHAT, headers={"origin": "https://evil.example", **asked})
    assert foreign.status_code == 400  # Starlette's CORS refusal, as before
    assert "access-control-allow-origin" not in foreign.headers


def test_the_host_check_still_comes_first() -> None:
    response = client(FakeGenerator(["x"])).post(
        CHAT, content=BODY, headers={"host": "evil.example", "origin": PAGE,
                                     "content-type": "application/json"})
    assert response.status_code == 403
    assert "DNS rebinding" in response.json()["error"]["message"]


def test_refused_requests_never_read_the_body() -> None:
    """At the ASGI level: `receive` (the body) is never called for a refused request."""
    app = make_app(FakeGenerator(["x"]))
    received: list[Any] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = chat_scope((b"origin", b"https://evil.example"), (b"content-type", b"text/plain"))
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 403
    assert received == []


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("GET", {}, None),
        ("GET", {b"origin": b"https://evil.example"}, 403),
        ("GET", {b"sec-fetch-site": b"cross-site"}, 403),
        ("POST", {b"content-type": b"application/json"}, None),
        ("POST", {b"content-type": b"text/plain"}, 415),
        ("POST", {b"origin": b"https://evil.example", b"content-type": b"text/plain"}, 403),
    ],
)
def test_refusal_rule(method: str, headers: dict[bytes, bytes], status: int | None) -> None:
    found = refusal(method, headers, frozenset([PAGE]))
    assert (found.status if found else None) == status
