"""The Starlette app of `localrate serve` (server/app.py), with Starlette's TestClient."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from server.app import IMMUTABLE, bridge_app_if_available, create_app
from server.build import BuildOptions, build_site
from server.cli import main

WEB_MIN = Path(__file__).parent / "data" / "web_min"
DIRECTIVES = [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "connect-src 'self' http://127.0.0.1:*",
    "img-src 'self' data: blob:",
    "style-src 'self'",
    "worker-src 'self' blob:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("app") / "site"
    build_site(BuildOptions(out=out, web_dir=WEB_MIN, env={}), log=lambda _line: None)
    return out


@pytest.fixture(scope="module")
def client(site: Path) -> TestClient:
    return TestClient(create_app(site))


def asset_url(site: Path, rel: str) -> str:
    manifest = json.loads((site / "build.json").read_text("utf-8"))
    return str(manifest["assets"][rel])


def test_root_redirects_to_the_page(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/local-models"


def test_page_is_html_and_not_cached(client: TestClient, site: Path) -> None:
    response = client.get("/local-models")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text == (site / "local-models.html").read_text("utf-8")
    assert client.get("/local-models/").text == response.text


def test_every_response_carries_the_csp(client: TestClient, site: Path) -> None:
    for path in ("/", "/local-models", asset_url(site, "js/app.mjs"), "/no-such-file"):
        response = client.get(path, follow_redirects=False)
        directives = [d.strip() for d in response.headers["content-security-policy"].split(";")]
        assert directives == DIRECTIVES, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def test_module_and_wasm_types(client: TestClient, site: Path) -> None:
    mjs = client.get(asset_url(site, "js/app.mjs"))
    assert mjs.status_code == 200
    assert mjs.headers["content-type"].split(";")[0] == "text/javascript"
    wasm = client.get("/pyodide/314.0.7/pyodide.asm.wasm")
    assert wasm.status_code == 200
    assert wasm.headers["content-type"] == "application/wasm"
    assert wasm.content[:4] == b"\0asm"


def test_gzip_for_text_and_wasm(client: TestClient, site: Path) -> None:
    for path in ("/local-models", "/pyodide/314.0.7/pyodide.asm.wasm",
                 "/pyodide/314.0.7/pyodide.asm.mjs"):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.headers.get("content-encoding") == "gzip", path
    plain = client.get("/local-models", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


def test_cache_headers(client: TestClient, site: Path) -> None:
    manifest = json.loads((site / "build.json").read_text("utf-8"))
    for path in (asset_url(site, "js/app.mjs"), asset_url(site, "css/app.css"),
                 manifest["evaluator_zip"], manifest["suites"][0],
                 "/pyodide/314.0.7/pyodide.mjs"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == IMMUTABLE, path
    assert client.get("/assets/js/nope.00000000.mjs").headers["cache-control"] == "no-cache"


def test_create_app_needs_a_build(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not a localrate build"):
        create_app(tmp_path)


def test_bridge_says_why_it_did_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from server import demo_model

    assert bridge_app_if_available(True, "127.0.0.1", 8081, 8765) == (
        None, "MLX bridge: not started (--no-bridge)")
    monkeypatch.setattr(demo_model, "mlx_unavailable_reason",
                        lambda: "mlx-lm is not installed")
    assert bridge_app_if_available(False, "127.0.0.1", 8081, 8765) == (
        None, "MLX bridge: not started, so no demo model (mlx-lm is not installed)")
    monkeypatch.setattr(demo_model, "mlx_unavailable_reason", lambda: None)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        app, line = bridge_app_if_available(False, "127.0.0.1", port, 8765)
    assert app is None and f"127.0.0.1:{port} is in use" in line


def test_cli_build_rejects_a_bad_base_path(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["build", "--out", str(tmp_path / "s"),
                                       "--base-path", "relative"])
    assert result.exit_code == 2
    assert re.search(r"--base-path 'relative': must be an absolute URL path", result.output)
