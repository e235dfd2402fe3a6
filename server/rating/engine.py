"""The engine behind a run and the machine the CLI ran on: I/O only, decisions in evaluator/.

``engine_report`` sends :func:`evaluator.engine_info.engine_plan`'s requests with
discovery's socket client (``server.rating.discovery.fetch``, off the event loop) and hands
the answers to :func:`evaluator.engine_info.read_engine`. ``machine_note`` gathers raw
facts (``platform``, ``/proc``, ``sysctl``, ``nvidia-smi``, ``system_profiler``) and hands
them to :func:`evaluator.machine.machine_note`. Neither raises: what could not be read is a
note in the answer.
"""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from evaluator.engine_info import engine_plan, read_engine
from evaluator.machine import NVIDIA_SMI_QUERY
from evaluator.machine import machine_note as read_machine
from server.rating.discovery import fetch_all

TOOL_TIMEOUT_S = 5.0  # nvidia-smi and system_profiler can be slow on a busy machine


async def engine_report(runtime: str, base_url: str, model_id: str, timeout: float,
                        headers: dict[str, str] | None = None) -> dict[str, Any]:
    """What ``runtime`` at ``base_url`` tells about the engine serving ``model_id``: the
    evaluator's engine report (version, memory, context, KV cache, details, notes).
    ``headers`` (the endpoint's API key, when it has one) go with every request."""
    plan = [{**row, "headers": dict(headers or {})}
            for row in engine_plan(runtime, base_url, model_id)]
    observations = await asyncio.to_thread(fetch_all, plan, timeout) if plan else []
    answers = [{"key": row["key"], "status": obs["status"], "body": obs["body"],
                "error": obs["error"]} for row, obs in zip(plan, observations)]
    return read_engine(runtime, model_id, answers)


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")[:1_000_000]
    except OSError:
        return None


def _run(cmd: list[str]) -> dict[str, Any]:
    """``{"status", "out", "error"}`` of one command; ``error`` says why it did not run."""
    exe = shutil.which(cmd[0])
    if exe is None:
        return {"status": None, "out": None, "error": "not installed"}
    try:
        done = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return {"status": None, "out": None, "error": f"no answer in {TOOL_TIMEOUT_S:g} s"}
    except OSError as exc:
        return {"status": None, "out": None, "error": f"{type(exc).__name__}: {exc}"}
    return {"status": done.returncode, "out": done.stdout[:1_000_000], "error": None}


def _os_name() -> tuple[str | None, str]:
    """The OS's own name and where it was read."""
    if sys.platform == "darwin":
        release = platform.mac_ver()[0]
        return (f"macOS {release}" if release else None), "platform.mac_ver()"
    try:
        info = platform.freedesktop_os_release()
    except OSError:
        return None, ""
    return info.get("PRETTY_NAME") or None, "/etc/os-release PRETTY_NAME"


def _ram_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def machine_facts() -> dict[str, Any]:
    """The raw facts ``evaluator.machine.machine_note`` reads, from this machine."""
    uname = platform.uname()
    os_name, os_source = _os_name()
    facts: dict[str, Any] = {"system": uname.system, "release": uname.release,
                             "machine": uname.machine, "os_name": os_name,
                             "os_name_source": os_source,
                             "cpu_count": os.cpu_count(), "ram_bytes": _ram_bytes()}
    if sys.platform == "darwin":
        sysctl = {}
        for name in ("machdep.cpu.brand_string", "hw.memsize"):
            answer = _run(["sysctl", "-n", name])
            if answer["status"] == 0:
                sysctl[name] = answer["out"].strip()
        facts["sysctl"] = sysctl
        facts["system_profiler"] = _run(["system_profiler", "-json", "SPDisplaysDataType"])
    else:
        facts["cpuinfo"] = _read("/proc/cpuinfo")
        facts["meminfo"] = _read("/proc/meminfo")
    if sys.platform != "darwin" or shutil.which("nvidia-smi"):
        facts["nvidia_smi"] = _run(["nvidia-smi", *NVIDIA_SMI_QUERY])
    return facts


def machine_note() -> dict[str, Any]:
    """The CLI's machine: OS, CPU model, cores, RAM and GPUs, each with its source."""
    try:
        facts = machine_facts()
    except Exception as exc:  # noqa: BLE001 - a note of the machine must never stop a run
        facts = {}
        note = f"could not read this machine: {type(exc).__name__}: {exc}"
        return {**read_machine(facts), "notes": [note]}
    return read_machine(facts)
