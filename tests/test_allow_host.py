"""Hosts beyond loopback: `--allow-host` checked (evaluator.endpoints), turned into the
page's Content-Security-Policy connect-src and page data by the build (never silently),
and custom endpoints on an allowed host accepted by check_endpoint / probe_plan."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evaluator.discovery import check_endpoint, probe_plan
from evaluator.endpoints import EndpointError, csp_sources, host_allowed, parse_allowed_host
from server.cli.main import main
from server.site.build import BuildError, BuildOptions, build_site
from tests.test_build import WEB_MIN, page_data


@pytest.mark.parametrize(("text", "host", "port", "schemes"), [
    ("192.168.1.20:11434", "192.168.1.20", 11434, ["http", "https"]),
    ("192.168.1.20", "192.168.1.20", None, ["http", "https"]),
    ("GPU-Box.lan:8000", "gpu-box.lan", 8000, ["http", "https"]),
    ("https://models.example.org", "models.example.org", None, ["https"]),
    ("http://10.0.0.7:1234/", "10.0.0.7", 1234, ["http"]),
    ("[fe80::1]:8080", "[fe80::1]", 8080, ["http", "https"]),
    ("tunnel", "tunnel", None, ["http", "https"]),
])
def test_valid_hosts(text: str, host: str, port: int | None, schemes: list[str]) -> None:
    got = parse_allowed_host(text)
    assert (got["host"], got["port"], got["schemes"]) == (host, port, schemes)


@pytest.mark.parametrize(("text", "says"), [
    ("*.lan", "wildcards are not allowed"),
    ("192.168.1.*:80", "wildcards are not allowed"),
    ("ftp://box.lan", "only http:// and https:// are allowed"),
    ("javascript:alert(1)", "only http:// and https:// schemes are allowed"),
    ("file:///etc/passwd", "only http:// and https:// are allowed"),
    ("box.lan:0", "the port must be a number from 1 to 65535"),
    ("box.lan:99999", "the port must be a number from 1 to 65535"),
    ("user@box.lan", "only a host and a port"),
    ("box.lan/v1", "only a host and a port"),
    ("box.lan?x=1", "only a host and a port"),
    ("box lan", "no spaces"),
    ("", "no spaces"),
    ("-bad-.lan", "is not a host name or IP address"),
    ("999.1.1.1", "is not a host name or IP address"),
])
def test_invalid_hosts_are_one_line_errors(text: str, says: str) -> None:
    with pytest.raises(EndpointError) as err:
        parse_allowed_host(text)
    assert says in str(err.value) and str(err.value).startswith("--allow-host")
    assert "\n" not in str(err.value)


def test_csp_sources() -> None:
    assert csp_sources(["192.168.1.20:11434", "https://gpu.lan", "192.168.1.20:11434"]) == [
        "http://192.168.1.20:11434", "https://192.168.1.20:11434", "https://gpu.lan:*"]


@pytest.mark.parametrize(("text", "base_url"), [
    ("192.168.1.20:11434", "http://192.168.1.20:11434"),
    ("http://192.168.1.20:11434/v1", "http://192.168.1.20:11434"),
    ("https://gpu.lan:8443", "https://gpu.lan:8443"),
    ("gpu.lan", None),                      # the dialect's default port is 11434: allowed
    ("http://gpu.lan:8000", None),          # gpu.lan is https only
    ("192.168.1.20:1234", None),            # only port 11434 of that address
    ("192.168.1.21:11434", None),           # another address
])
def test_check_endpoint_accepts_allowed_hosts_only(text: str, base_url: str | None) -> None:
    allowed = ["192.168.1.20:11434", "https://gpu.lan"]
    got = check_endpoint(text, "ollama", allowed)
    if text == "gpu.lan":
        assert got["base_url"] is None and "a host this page allows" in str(got["problem"])
        return
    assert got["base_url"] == base_url, got
    if base_url is None:
        assert "only this computer or a host this page allows" in str(got["problem"])
    plain = check_endpoint(text, "ollama")
    assert plain["base_url"] is None and "only this computer can be reached" in \
        str(plain["problem"])


def test_probe_plan_keeps_allowed_custom_endpoints() -> None:
    custom = [{"runtime": "vllm", "base_url": "10.0.0.7:8000"},
              {"runtime": "vllm", "base_url": "10.0.0.8:8000"}]
    plan = probe_plan({}, only=["vllm"], custom=custom, allowed_hosts=["10.0.0.7"])
    assert [row["url"] for row in plan] == ["http://127.0.0.1:8000/v1/models",
                                            "http://10.0.0.7:8000/v1/models"]
    assert host_allowed("http", "10.0.0.7", 8000, ["10.0.0.7"])


def _build(out: Path, lines: list[str], **kw: Any) -> dict[str, Any]:
    return build_site(BuildOptions(out=out, web_dir=WEB_MIN, env={}, **kw), log=lines.append)


def test_build_widens_the_csp_and_says_so(tmp_path: Path) -> None:
    lines: list[str] = []
    manifest = _build(tmp_path / "site", lines,
                      allowed_hosts=["192.168.1.20:11434", "https://gpu.lan"])
    sources = "http://192.168.1.20:11434 https://192.168.1.20:11434 https://gpu.lan:*"
    assert f"connect-src 'self' http://127.0.0.1:* {sources}" in manifest["csp"]
    html = (tmp_path / "site" / "local-models.html").read_text("utf-8")
    meta = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert sources in meta[0]
    assert page_data(tmp_path / "site")["allowed_hosts"] == ["192.168.1.20:11434",
                                                             "https://gpu.lan"]
    assert f"allow-host: the page may also connect to {sources.replace(' ', ', ')} " \
           "(Content-Security-Policy connect-src; listed in the page data)" in lines
    headers = (tmp_path / "site" / "_headers").read_text()
    assert sources in headers
    lines.clear()  # a rebuild with other hosts is not skipped
    again = _build(tmp_path / "site", lines)
    assert again["skipped"] is False and "192.168.1.20" not in again["csp"]
    assert not any(line.startswith("allow-host") for line in lines)
    assert json.loads((tmp_path / "site" / "build.json").read_text())["allowed_hosts"] == []


def test_build_refuses_a_bad_host(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"^--allow-host '\*\.lan': wildcards are not allowed"):
        _build(tmp_path / "site", [], allowed_hosts=["*.lan"])
    result = CliRunner().invoke(main, ["build", "--out", str(tmp_path / "s"), "--allow-host",
                                       "ftp://box.lan"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == ("Error: --allow-host 'ftp://box.lan': only http:// and https:// "
                             "are allowed\n")
    assert not (tmp_path / "s").exists()


def test_serve_refuses_a_bad_host_before_it_starts() -> None:
    result = CliRunner().invoke(main, ["serve", "--port", "1", "--allow-host", "*.lan"],
                                catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == "Error: --allow-host '*.lan': wildcards are not allowed; name " \
        "each host\n"
