"""evaluator.netspace: the address space a fetch names for a URL's host."""

from __future__ import annotations

import pytest

from evaluator.netspace import address_space


@pytest.mark.parametrize(("url", "space"), [
    ("http://127.0.0.1:11434", "loopback"), ("http://127.1.2.3:1", "loopback"),
    ("http://[::1]:8080/v1", "loopback"), ("http://localhost:1234", "loopback"),
    ("http://192.168.1.20:11434", "local"), ("https://10.0.0.5", "local"),
    ("http://172.16.3.4:8000", "local"), ("http://172.32.0.1:8000", None),
    ("http://169.254.1.1", "local"), ("http://100.101.102.103:11434", "local"),
    ("http://[fd12::1]:80", "local"), ("http://8.8.8.8", None),
    ("http://gpu-box.lan:11434", None), ("http://0.0.0.0:1", None), ("not a url", None),
])
def test_address_space(url: str, space: str | None) -> None:
    assert address_space(url) == space
