"""The note of the machine: evaluator.machine's parsers on recorded tool output, the browser's
facts, and server.rating.engine.machine_note on this machine (fields present, their types)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import pytest

from evaluator.machine import (
    BROWSER_LABEL,
    CLI_LABEL,
    browser_machine,
    machine_note,
    parse_cpuinfo,
    parse_meminfo,
    parse_nvidia_smi,
    parse_system_profiler,
)
from server.rating import engine

CPUINFO_X86 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\n" \
    "processor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
CPUINFO_PI = "processor\t: 0\nBogoMIPS\t: 108.00\n\nHardware\t: BCM2835\n" \
    "Model\t\t: Raspberry Pi 4 Model B Rev 1.4\n"
MEMINFO = "MemTotal:       24684084 kB\nMemFree:         1000 kB\n"
NVIDIA = "NVIDIA GeForce RTX 4090, 24564, 550.54.14\nNVIDIA A100-SXM4-80GB, 81920, 550.54.14\n"
PROFILER = json.dumps({"SPDisplaysDataType": [{
    "_name": "Apple M2 Pro", "sppci_model": "Apple M2 Pro", "sppci_cores": "19",
    "spdisplays_vendor": "sppci_vendor_Apple", "sppci_device_type": "spdisplays_gpu"}]})


@pytest.mark.parametrize(("text", "expected"), [
    (CPUINFO_X86, ("AMD EPYC 7B13", "model name")),
    (CPUINFO_PI, ("BCM2835", "Hardware")),
    ("processor : 0\n", None), (None, None), ("model name\t: \x01\n", None),
])
def test_cpuinfo(text: Any, expected: Any) -> None:
    assert parse_cpuinfo(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    (MEMINFO, 24684084 * 1024), ("MemFree: 1 kB\n", None), (None, None), ("", None)])
def test_meminfo(text: Any, expected: Any) -> None:
    assert parse_meminfo(text) == expected


def test_nvidia_smi_rows() -> None:
    source = "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader," \
        "nounits"
    assert parse_nvidia_smi(NVIDIA) == [
        {"name": {"value": "NVIDIA GeForce RTX 4090", "source": f"{source} → name"},
         "memory_bytes": {"value": 24564 * 2**20, "source": f"{source} → memory.total"},
         "driver": {"value": "550.54.14", "source": f"{source} → driver_version"}},
        {"name": {"value": "NVIDIA A100-SXM4-80GB", "source": f"{source} → name"},
         "memory_bytes": {"value": 81920 * 2**20, "source": f"{source} → memory.total"},
         "driver": {"value": "550.54.14", "source": f"{source} → driver_version"}}]
    assert parse_nvidia_smi("NVIDIA-SMI has failed because it couldn't communicate\n") == []
    assert parse_nvidia_smi(None) == []


def test_system_profiler() -> None:
    source = "system_profiler -json SPDisplaysDataType"
    assert parse_system_profiler(PROFILER) == [
        {"name": {"value": "Apple M2 Pro", "source": f"{source} → sppci_model"},
         "cores": {"value": 19, "source": f"{source} → sppci_cores"}}]
    assert parse_system_profiler("not json") == []
    assert parse_system_profiler('{"SPDisplaysDataType": "x"}') == []


def test_machine_note_from_macos_facts() -> None:
    note = machine_note({
        "system": "Darwin", "release": "24.1.0", "machine": "arm64", "os_name": "macOS 15.1",
        "os_name_source": "platform.mac_ver()", "cpu_count": 12,
        "sysctl": {"machdep.cpu.brand_string": "Apple M2 Pro", "hw.memsize": "34359738368"},
        "system_profiler": {"status": 0, "out": PROFILER, "error": None}})
    assert note["label"] == CLI_LABEL
    assert note["os"] == {"value": "macOS 15.1 (arm64)",
                          "source": "platform.mac_ver() and platform.uname().machine"}
    assert note["cpu"] == {"value": "Apple M2 Pro", "source": "sysctl machdep.cpu.brand_string"}
    assert note["ram_bytes"] == {"value": 34359738368, "source": "sysctl hw.memsize"}
    assert note["cores"] == {"value": 12, "source": "os.cpu_count()"}
    assert [g["name"]["value"] for g in note["gpus"]] == ["Apple M2 Pro"]
    assert note["notes"] == []


def test_machine_note_says_why_there_is_no_gpu() -> None:
    base = {"system": "Linux", "release": "6.1.0", "machine": "x86_64", "cpuinfo": CPUINFO_X86,
            "meminfo": MEMINFO, "cpu_count": 2}
    missing = machine_note({**base, "nvidia_smi": {"status": None, "out": None,
                                                   "error": "not installed"}})
    assert missing["gpus"] == [] and missing["notes"] == ["nvidia-smi: not installed"]
    assert missing["os"] == {"value": "Linux 6.1.0 (x86_64)", "source": "platform.uname()"}
    failed = machine_note({**base, "nvidia_smi": {"status": 9, "out": "", "error": None}})
    assert failed["notes"] == ["nvidia-smi exited with 9"]
    found = machine_note({**base, "nvidia_smi": {"status": 0, "out": NVIDIA, "error": None}})
    assert len(found["gpus"]) == 2 and found["notes"] == []
    assert machine_note({})["notes"] == ["no GPU tool answered (nvidia-smi, system_profiler)"]
    assert machine_note("garbage")["os"] is None  # type: ignore[arg-type]


def test_browser_machine() -> None:
    note = browser_machine({"hardware_concurrency": 8, "device_memory_gb": 8,
                            "platform": "macOS",
                            "gpu": {"vendor": "apple", "architecture": "metal-3"}})
    assert note["label"] == BROWSER_LABEL
    assert note["cores"] == {"value": 8, "source": "navigator.hardwareConcurrency"}
    assert note["ram_bytes"] == {"value": 8 * 2**30, "source": "navigator.deviceMemory"}
    assert note["os"] == {"value": "macOS", "source": "navigator.userAgentData.platform"}
    assert note["gpus"] == [{"name": {"value": "apple metal-3",
                                      "source": "WebGPU GPUAdapter.info"}}]
    assert "lower bound" in note["notes"][0]
    empty = browser_machine({"hardware_concurrency": "many", "gpu": []})
    assert (empty["cores"], empty["ram_bytes"], empty["gpus"]) == (None, None, [])


def test_machine_note_on_this_machine() -> None:
    note = engine.machine_note()
    assert note["label"] == CLI_LABEL
    assert set(note) == {"label", "os", "cpu", "cores", "ram_bytes", "gpus", "notes"}
    assert note["cores"] == {"value": os.cpu_count(), "source": "os.cpu_count()"}
    assert isinstance(note["os"]["value"], str) and note["os"]["value"]
    assert isinstance(note["ram_bytes"]["value"], int) and note["ram_bytes"]["value"] > 2**28
    if sys.platform.startswith("linux"):
        assert note["ram_bytes"]["source"] == "/proc/meminfo → MemTotal"
        assert note["cpu"]["source"].startswith("/proc/cpuinfo → ")
    assert isinstance(note["gpus"], list) and all(isinstance(n, str) for n in note["notes"])
    assert note["gpus"] or note["notes"]  # a GPU, or the reason there is none
    json.dumps(note, allow_nan=False)


def test_tool_runs_report_why_they_did_not(monkeypatch: pytest.MonkeyPatch) -> None:
    assert engine._run(["localrate-no-such-tool-xyz"])["error"] == "not installed"
    done = engine._run([sys.executable, "-c", "print('hi'); raise SystemExit(3)"])
    assert (done["status"], done["out"], done["error"]) == (3, "hi\n", None)
    monkeypatch.setattr(engine, "TOOL_TIMEOUT_S", 0.2)
    slow = engine._run([sys.executable, "-c", "import time; time.sleep(5)"])
    assert slow["error"] == "no answer in 0.2 s"
