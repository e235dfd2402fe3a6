"""`localrate build` (server/site/build.py, parts.py, files.py, assets.py).

Builds the small fixture page in tests/data/web_min (with an import cycle) against the
real suites, the real evaluator and the pinned, cached Pyodide and wheels.
"""

from __future__ import annotations

import gzip
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from evaluator.expand import instance_ids
from evaluator.suite import suite_from_json
from server.site import assets
from server.site.build import BuildError, BuildOptions, build_site
from server.site.files import GZIP_MIN_BYTES, check_page, gzip_bytes
from server.site.parts import hash_assets, normalize_base_path

WEB_MIN = Path(__file__).parent / "data" / "web_min"
REAL_WEB = Path(__file__).resolve().parent.parent / "web"
HASHED = re.compile(r"^[\w-]+\.[0-9a-f]{8}\.\w+$")
SPECIFIER = re.compile(r"""["'](\.{1,2}/[\w./-]*\.mjs)["']""")
NO_ENV: dict[str, str] = {}


def build(out: Path, **kw: Any) -> dict[str, Any]:
    kw.setdefault("web_dir", WEB_MIN)
    kw.setdefault("env", NO_ENV)
    return build_site(BuildOptions(out=out, **kw), log=lambda _line: None)


def page_data(site: Path) -> dict[str, Any]:
    html = (site / "local-models.html").read_text("utf-8")
    m = re.search(r'<script type="application/json" id="localrate-data">(.*?)</script>', html,
                  re.DOTALL)
    assert m, "page data script missing"
    return json.loads(m[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("b") / "site"
    build(out, base_path="/base")
    return out


def test_asset_names_are_hashed(site: Path) -> None:
    files = [p for p in (site / "assets").rglob("*") if p.is_file() and p.suffix != ".gz"]
    assert {p.suffix for p in files} == {".mjs", ".css", ".zip"}
    for path in files:
        assert HASHED.match(path.name), path.name
    urls = page_data(site)["assets"]
    assert set(urls) == {"css/app.css", "js/app.mjs", "js/fmt.mjs", "js/util.mjs",
                         "js/worker.mjs"}
    for url in urls.values():
        assert (site / url.removeprefix("/base/")).is_file(), url


def test_gzip_siblings_are_listed_and_deterministic(site: Path) -> None:
    listed = json.loads((site / "build.json").read_text("utf-8"))["gzip"]
    on_disk = sorted(p.relative_to(site).as_posix()[: -len(".gz")] for p in site.rglob("*.gz"))
    assert listed == on_disk
    version = assets.PYODIDE_VERSION
    for rel in ("local-models.html", "local-models/index.html", f"pyodide/{version}/pyodide.mjs",
                f"pyodide/{version}/pyodide.asm.mjs", f"pyodide/{version}/pyodide.asm.wasm",
                f"pyodide/{version}/pyodide-lock.json"):
        assert rel in listed, rel
    for rel in listed:
        original, packed = (site / rel).read_bytes(), (site / f"{rel}.gz").read_bytes()
        assert gzip.decompress(packed) == original, rel
        assert packed[4:8] == b"\0\0\0\0" and len(packed) < len(original), rel  # mtime 0
    assert not [r for r in listed if r.endswith(".zip")]
    small = [p for p in site.rglob("*.mjs") if p.stat().st_size < GZIP_MIN_BYTES]
    assert small and not [p for p in small if p.with_name(p.name + ".gz").exists()]
    wasm = (site / f"pyodide/{version}/pyodide.asm.wasm").read_bytes()
    assert gzip_bytes(wasm) == (site / f"pyodide/{version}/pyodide.asm.wasm.gz").read_bytes()
    assert gzip_bytes(b"x" * 2000) == gzip_bytes(b"x" * 2000)


def test_rewritten_imports_resolve(site: Path) -> None:
    seen = 0
    for path in (site / "assets" / "js").glob("*.mjs"):
        for spec in SPECIFIER.findall(path.read_text("utf-8")):
            target = (path.parent / spec).resolve()
            assert target.is_file(), f"{path.name}: {spec}"
            assert HASHED.match(target.name), spec
            seen += 1
    assert seen == 4  # app -> util, app -> worker (new URL), util <-> fmt (a cycle)


def test_hash_changes_with_a_dependency(tmp_path: Path) -> None:
    web = tmp_path / "web"
    (web / "js").mkdir(parents=True)
    (web / "js" / "a.mjs").write_text('import "./b.mjs";\n')
    (web / "js" / "b.mjs").write_text("export const x = 1;\n")
    before = hash_assets(web)["js/a.mjs"][0]
    (web / "js" / "b.mjs").write_text("export const x = 2;\n")
    after = hash_assets(web)
    assert after["js/a.mjs"][0] != before
    assert after["js/a.mjs"][1] == f'import "./{Path(after["js/b.mjs"][0]).name}";\n'.encode()


def test_unknown_import_is_a_build_error(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.mjs").write_text('import { x } from "./missing.mjs";\n')
    with pytest.raises(BuildError, match=r"web/js/a.mjs: imports ./missing.mjs"):
        hash_assets(tmp_path)


def test_suites_json_loads_with_the_evaluator(site: Path) -> None:
    suites = page_data(site)["suites"]
    assert "local-model-rating" in [s["id"] for s in suites]
    for row in suites:
        obj = json.loads((site / row["url"].removeprefix("/base/")).read_text("utf-8"))
        suite = suite_from_json(obj)
        assert suite.id == row["id"] and suite.sha256 == row["sha256"] == obj["sha256"]
        # concrete cases: a sweep counts once per size
        assert sum(len(instance_ids(c)) for c in suite.cases) == row["case_count"] > 0
        assert row["duration"].startswith(("about ", "at most "))


def test_pyodide_files_match_their_pins(site: Path) -> None:
    info = page_data(site)["pyodide"]
    assert info["mode"] == "vendored" and info["version"] == assets.PYODIDE_VERSION
    assert info["index_url"] == f"/base/pyodide/{assets.PYODIDE_VERSION}/"
    assert set(info["files"]) == {"pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm",
                                  "python_stdlib.zip", "pyodide-lock.json"}
    for name, row in info["files"].items():
        body = (site / row["url"].removeprefix("/base/")).read_bytes()
        assert assets.sri(body) == row["integrity"] == assets.PINS["pyodide"]["files"][name]


def test_tampered_downloads_are_refused(tmp_path: Path) -> None:
    with pytest.raises(assets.AssetError, match="integrity"):
        assets._extract_pyodide(b"not the pinned tarball", tmp_path)
    wheel = assets.fetch_wheels(log=lambda _l: None)[0]
    copy = tmp_path / wheel.name
    copy.write_bytes(wheel.read_bytes() + b"\0")
    assert not assets._wheel_ok(copy, assets.PINS["wheels"][0]["sha256"])
    assert assets._wheel_ok(wheel, assets.PINS["wheels"][0]["sha256"])
    assert assets.sri(b"abc", "sha512") == (
        "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==")


def test_evaluator_zip(site: Path) -> None:
    info = page_data(site)["evaluator_zip"]
    body = (site / info["url"].removeprefix("/base/")).read_bytes()
    assert assets.sri(body) == info["integrity"]
    with zipfile.ZipFile(site / info["url"].removeprefix("/base/")) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in zf.infolist()} == {assets.ZIP_DATE}
        shim = zf.read("rpds/__init__.py").decode()
    for needed in ("evaluator/page_api.py", "jsonschema/__init__.py", "referencing/__init__.py",
                   "attrs/__init__.py", "pyrsistent_as_rpds/pure.py",
                   "jsonschema_specifications/schemas/draft202012/metaschema.json"):
        assert needed in names
    assert not [n for n in names if "/tests/" in n or n.endswith(".pyc")]
    assert "from pyrsistent_as_rpds.pure import HashTrieMap, HashTrieSet, List" in shim
    wheels = assets.fetch_wheels(log=lambda _l: None)
    assert assets.build_evaluator_zip(wheels, Path("evaluator")) == body  # deterministic


def test_base_path_is_respected(site: Path) -> None:
    html = (site / "local-models.html").read_text("utf-8")
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/base/assets/") for u in urls), urls
    data = page_data(site)
    assert data["base_path"] == "/base/" and data["page_url"] == "/base/local-models"
    assert (site / "local-models" / "index.html").read_bytes() == html.encode()
    assert 'url=local-models"' in (site / "index.html").read_text()


def test_csp_meta_and_no_inline_script(site: Path) -> None:
    html = (site / "local-models.html").read_text("utf-8")
    metas = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert len(metas) == 1
    meta = metas[0].replace("&#39;", "'")
    assert "script-src 'self' 'wasm-unsafe-eval'" in meta
    assert "connect-src 'self' http://127.0.0.1:*" in meta
    assert "frame-ancestors" not in meta  # ignored in <meta>; sent as a header instead
    assert "frame-ancestors 'none'" in json.loads((site / "build.json").read_text())["csp"]
    for attrs, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.DOTALL):
        assert "src=" in attrs or 'type="application/json"' in attrs, attrs
        assert "src=" not in attrs or not body.strip()
    assert "<script" not in html.split('id="localrate-data">', 1)[1].split("</script>", 1)[0]


@pytest.mark.parametrize("html, problem", [
    ("<script>alert(1)</script>", "inline <script> code"),
    ('<button onclick="x()">', "inline onclick="),
    ('<p style="color:red">', "inline style="),
])
def test_check_page_rejects_what_the_csp_blocks(html: str, problem: str) -> None:
    with pytest.raises(BuildError, match=problem):
        check_page(f"<html><head></head><body>{html}</body></html>", "t.j2")


def test_build_is_cached_by_input_hash(tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = build(out)
    again = build(out)
    assert not first["skipped"] and again["skipped"]
    assert again["input_hash"] == first["input_hash"]
    changed = build(out, base_path="/other/")
    assert not changed["skipped"] and changed["input_hash"] != first["input_hash"]
    assert page_data(out)["base_path"] == "/other/"
    env = build(out, base_path="/other/", env={"OLLAMA_BASE_URL": "http://10.1.2.3:11434"})
    assert not env["skipped"]
    assert "connect-src 'self' http://127.0.0.1:* http://10.1.2.3:11434" in env["csp"]
    assert page_data(out)["probe_plan"][0]["base_url"] == "http://10.1.2.3:11434"


def test_cdn_mode_pins_sri(tmp_path: Path) -> None:
    manifest = build(tmp_path / "site", pyodide="cdn")
    info = page_data(tmp_path / "site")["pyodide"]
    assert info["mode"] == "cdn" and not (tmp_path / "site" / "pyodide").exists()
    origin = re.match(r"https://[^/]+", info["index_url"])
    assert origin and f"script-src 'self' 'wasm-unsafe-eval' {origin[0]}" in manifest["csp"]
    for name, row in info["files"].items():
        assert row["url"] == info["index_url"] + name
        assert row["integrity"] == assets.PINS["pyodide"]["files"][name]


def test_refuses_to_replace_a_folder_it_did_not_build(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(BuildError, match="not a localrate build"):
        build(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("value", ["base", "//x", "/a b/"])
def test_bad_base_path(value: str) -> None:
    with pytest.raises(BuildError, match="--base-path"):
        normalize_base_path(value)


def test_the_real_web_folder_builds(tmp_path: Path) -> None:
    manifest = build(tmp_path / "site", web_dir=REAL_WEB)
    html = (tmp_path / "site" / manifest["page"]).read_text("utf-8")
    assert 'id="localrate-data"' in html
    assert "js/worker.mjs" in page_data(tmp_path / "site")["assets"]


STATIC_IMPORT = re.compile(r"""^(?:import|export)\b[^;]*?\bfrom\s+["'](\./[\w-]+\.mjs)["']""",
                           re.MULTILINE)


def test_the_page_preloads_exactly_boot_mjs_and_its_static_imports() -> None:
    """The template's modulepreload list is boot.mjs's static import graph: a module the
    first probes need is never fetched level by level, and app.mjs's graph (loaded by
    boot.mjs once the probes have answered) does not compete with it."""
    template = (REAL_WEB / "templates" / "local-models.html.j2").read_text("utf-8")
    listed = re.search(r'\{% for name in \[(.*?)\] %\}\s*<link rel="modulepreload"', template,
                       re.DOTALL)
    assert listed, "modulepreload loop not found in the template"
    preloaded = set(re.findall(r'"([\w-]+)"', listed.group(1)))
    graph, todo = set(), ["boot"]
    while todo:
        name = todo.pop()
        if name in graph:
            continue
        graph.add(name)
        source = (REAL_WEB / "js" / f"{name}.mjs").read_text("utf-8")
        todo += [spec[2:-4] for spec in STATIC_IMPORT.findall(source)]
    assert preloaded == graph
    assert "app" not in graph and 'import("./app.mjs")' in \
        (REAL_WEB / "js" / "boot.mjs").read_text("utf-8")
