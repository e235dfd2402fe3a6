"""The Starlette app of `localrate serve` (server/site/app.py), with Starlette's TestClient."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from server.cli.main import main
from server.site.app import IMMUTABLE, accepts_gzip, bridge_app_if_available, create_app
from server.site.build import BuildOptions, build_site

WEB_MIN = Path(__file__).parent / "data" / "web_min"
PYODIDE = "/pyodide/314.0.7/"
GZIP = {"Accept-Encoding": "gzip, deflate, br"}
PLAIN = {"Accept-Encoding": "identity"}
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


def raw_get(client: TestClient, path: str, headers: dict[str, str]) -> tuple[Any, bytes]:
    """GET without httpx's automatic decoding: the response and the bytes on the wire."""
    with client.stream("GET", path, headers=headers) as response:
        return response, b"".join(response.iter_raw())


@pytest.mark.parametrize("path, source, media_type, cache", [
    ("/local-models", "local-models.html", "text/html; charset=utf-8", "no-cache"),
    (PYODIDE + "pyodide.asm.mjs", PYODIDE[1:] + "pyodide.asm.mjs",
     "text/javascript; charset=utf-8", IMMUTABLE),
    (PYODIDE + "pyodide.asm.wasm", PYODIDE[1:] + "pyodide.asm.wasm", "application/wasm",
     IMMUTABLE),
])
def test_precompressed_gzip_or_identity(client: TestClient, site: Path, path: str,
                                        source: str, media_type: str, cache: str) -> None:
    original = (site / source).read_bytes()
    zipped, zipped_wire = raw_get(client, path, GZIP)
    assert zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert len(zipped_wire) < len(original) and gzip.decompress(zipped_wire) == original
    plain, plain_wire = raw_get(client, path, PLAIN)
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain_wire == original
    for response, wire in ((zipped, zipped_wire), (plain, plain_wire)):
        assert response.headers["content-type"] == media_type
        assert response.headers["cache-control"] == cache
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["content-length"] == str(len(wire))
        directives = [d.strip() for d in response.headers["content-security-policy"].split(";")]
        assert directives == DIRECTIVES
        assert response.headers["x-content-type-options"] == "nosniff"


def test_files_without_a_gz_sibling_are_sent_as_they_are(client: TestClient, site: Path
                                                         ) -> None:
    for path in (asset_url(site, "js/app.mjs"), PYODIDE + "python_stdlib.zip"):
        response, wire = raw_get(client, path, GZIP)
        assert response.status_code == 200, path
        assert "content-encoding" not in response.headers and "vary" not in response.headers
        assert wire == (site / path.lstrip("/")).read_bytes()


@pytest.mark.parametrize("header, accepted", [
    ("gzip", True), ("br, GZIP", True), ("gzip;q=0.5, br", True), ("deflate, gzip ; q=1", True),
    ("", False), ("identity", False), ("br", False), ("gzip;q=0", False), ("gzip; q=0.0", False),
    ("x-gzip2", False),
])
def test_accepts_gzip(header: str, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


@pytest.mark.parametrize("path", ["/local-models", PYODIDE + "pyodide.asm.wasm"])
def test_head(client: TestClient, path: str) -> None:
    for headers in (GZIP, PLAIN):
        get, wire = raw_get(client, path, headers)
        head = client.head(path, headers=headers)
        assert head.status_code == 200 and head.content == b""
        for name in ("content-type", "content-length", "cache-control", "etag",
                     "content-security-policy"):
            assert head.headers[name] == get.headers[name], (path, name)
        assert head.headers.get("content-encoding") == get.headers.get("content-encoding")
        assert int(head.headers["content-length"]) == len(wire)


@pytest.mark.parametrize("path", ["/local-models", PYODIDE + "pyodide.asm.mjs"])
def test_etag_gives_not_modified(client: TestClient, path: str) -> None:
    for headers in (GZIP, PLAIN):
        first = client.get(path, headers=headers)
        again = client.get(path, headers={**headers, "If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b"", path
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["vary"] == "Accept-Encoding"
    plain, zipped = client.get(path, headers=PLAIN), client.get(path, headers=GZIP)
    assert plain.headers["etag"] != zipped.headers["etag"]


def test_unknown_paths_are_404_with_the_csp(client: TestClient) -> None:
    for path in ("/no-such-file", "/assets/", "/pyodide/314.0.7/pyodide.asm.wasm.gz",
                 "/local-models.html/x", "/local-models.html.gz"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["cache-control"] == "no-cache"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


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

    from server.demo import model as demo_model

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


def test_small_files_come_from_memory_large_ones_from_disk(site: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    app_client = TestClient(create_app(copy))
    module = asset_url(copy, "js/app.mjs")
    wasm = PYODIDE + "pyodide.asm.wasm"
    before = {p: raw_get(app_client, p, PLAIN)[1] for p in (module, wasm)}
    assert len(before[module]) < 1_000_000 < len(before[wasm])
    (copy / module.lstrip("/")).write_bytes(b"changed on disk")
    assert raw_get(app_client, module, PLAIN)[1] == before[module]  # read once, at start
    for path in (module, wasm):
        for headers in (GZIP, PLAIN):
            first = app_client.get(path, headers=headers)
            head = app_client.head(path, headers=headers)
            assert head.status_code == 200 and head.content == b""
            assert head.headers["content-length"] == first.headers["content-length"], path
            again = app_client.get(path, headers={**headers,
                                                  "If-None-Match": first.headers["etag"]})
            assert again.status_code == 304 and again.content == b"", path
