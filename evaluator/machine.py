"""A short note of the machine a run was measured from, with the source of every figure.

Pure: the shells gather raw facts and hand them here. The CLI (``server/rating/engine.py``)
passes what Python's ``platform`` and ``os`` say, the text of ``/proc/cpuinfo`` and
``/proc/meminfo`` (Linux) or ``sysctl`` (macOS), and what ``nvidia-smi`` or macOS's
``system_profiler`` printed; :func:`machine_note` reads them. The page passes what the
browser exposes to :func:`browser_machine`. Both answer::

    {"label", "os", "cpu", "cores", "ram_bytes": {"value", "source"} | null,
     "gpus": [{"name", "memory_bytes"?, ...: {"value", "source"}}], "notes": [...]}

The label says whose machine it is: the CLI's, or the browser's (the model may run on
another machine than either).
"""

from __future__ import annotations

import json
import re
from typing import Any

from evaluator.engine_answers import number, obj, text

__all__ = ["BROWSER_LABEL", "CLI_LABEL", "NVIDIA_SMI_QUERY", "browser_machine", "machine_note",
           "parse_cpuinfo", "parse_meminfo", "parse_nvidia_smi", "parse_system_profiler"]

CLI_LABEL = "the CLI's machine"
BROWSER_LABEL = "the browser's machine (the model may run on another one)"
# The nvidia-smi arguments the CLI runs; parse_nvidia_smi reads their output.
NVIDIA_SMI_QUERY = ["--query-gpu=name,memory.total,driver_version",
                    "--format=csv,noheader,nounits"]
_MEMTOTAL = re.compile(r"^MemTotal:\s+([0-9]+)\s*kB", re.MULTILINE)
_CPU_KEYS = ("model name", "Model Name", "cpu model", "Hardware", "Model")


def _fig(value: Any, source: str) -> dict[str, Any] | None:
    return None if value is None else {"value": value, "source": source}


def parse_meminfo(body: Any) -> int | None:
    """``MemTotal`` of ``/proc/meminfo``, in bytes."""
    match = _MEMTOTAL.search(body) if isinstance(body, str) else None
    return int(match.group(1)) * 1024 if match else None


def parse_cpuinfo(body: Any) -> tuple[str, str] | None:
    """(CPU model, the key it was under) from ``/proc/cpuinfo``: ``model name`` on x86,
    ``Model``/``Hardware`` on some ARM boards."""
    if not isinstance(body, str):
        return None
    fields: dict[str, str] = {}
    for line in body.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields and value.strip():
            fields[key.strip()] = value.strip()
    for key in _CPU_KEYS:
        name = text(fields.get(key))
        if name:
            return name, key
    return None


def parse_nvidia_smi(body: Any) -> list[dict[str, Any]]:
    """The GPUs in ``nvidia-smi NVIDIA_SMI_QUERY`` output (``name, MiB, driver`` rows)."""
    source = f"nvidia-smi {' '.join(NVIDIA_SMI_QUERY)}"
    gpus = []
    for line in body.splitlines() if isinstance(body, str) else []:
        cells = [c.strip() for c in line.split(",")]
        name = text(cells[0]) if cells else None
        if name is None or len(cells) < 2:
            continue
        gpu = {"name": _fig(name, f"{source} → name")}
        mib = cells[1]
        if mib.isdigit():
            gpu["memory_bytes"] = _fig(int(mib) * 1024 * 1024, f"{source} → memory.total")
        if len(cells) > 2 and text(cells[2]):
            gpu["driver"] = _fig(text(cells[2]), f"{source} → driver_version")
        gpus.append(gpu)
    return gpus


def parse_system_profiler(body: Any) -> list[dict[str, Any]]:
    """The GPUs in ``system_profiler -json SPDisplaysDataType`` output (macOS)."""
    source = "system_profiler -json SPDisplaysDataType"
    try:
        doc = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        return []
    rows = obj(doc).get("SPDisplaysDataType")
    gpus = []
    for row in rows if isinstance(rows, list) else []:
        row = obj(row)
        name = text(row.get("sppci_model")) or text(row.get("_name"))
        if name is None:
            continue
        gpu = {"name": _fig(name, f"{source} → sppci_model")}
        cores = text(row.get("sppci_cores"))
        if cores and cores.isdigit():
            gpu["cores"] = _fig(int(cores), f"{source} → sppci_cores")
        vram = text(row.get("spdisplays_vram")) or text(row.get("spdisplays_vram_shared"))
        if vram:
            gpu["memory"] = _fig(vram, f"{source} → spdisplays_vram")
        gpus.append(gpu)
    return gpus


def _os(facts: dict[str, Any]) -> dict[str, Any] | None:
    system, release, machine = (text(facts.get(k)) for k in ("system", "release", "machine"))
    name = text(facts.get("os_name"))  # "macOS 15.1", or os-release's PRETTY_NAME
    if name is None and system is None:
        return None
    arch = f" ({machine})" if machine else ""
    if name is not None:
        where = text(facts.get("os_name_source")) or "os_name"
        return _fig(name + arch, where + (" and platform.uname().machine" if arch else ""))
    return _fig(" ".join(p for p in (system, release) if p) + arch, "platform.uname()")


def _tool_note(tool: str, answer: Any) -> str | None:
    """Why a GPU tool said nothing useful, or None when it did answer."""
    answer = obj(answer)
    error = text(answer.get("error"))
    if error:
        return f"{tool}: {error}"
    status = answer.get("status")
    if isinstance(status, int) and status != 0:
        return f"{tool} exited with {status}"
    return None


def machine_note(facts: dict[str, Any]) -> dict[str, Any]:
    """The CLI's machine from raw facts: ``system``, ``release``, ``machine``, ``os_name``
    (and ``os_name_source``), ``cpu_count``, ``cpuinfo`` (text), ``meminfo`` (text), ``sysctl`` ({name: text}),
    ``nvidia_smi`` and ``system_profiler`` (each ``{"status", "out", "error"}`` or null
    when not tried). Unknown or missing facts are left out, never an error."""
    facts = obj(facts)
    notes: list[str] = []
    sysctl = obj(facts.get("sysctl"))
    cpu = None
    parsed = parse_cpuinfo(facts.get("cpuinfo"))
    if parsed is not None:
        cpu = _fig(parsed[0], f"/proc/cpuinfo → {parsed[1]}")
    elif text(sysctl.get("machdep.cpu.brand_string")):
        cpu = _fig(text(sysctl["machdep.cpu.brand_string"]), "sysctl machdep.cpu.brand_string")
    ram = None
    total = parse_meminfo(facts.get("meminfo"))
    if total is not None:
        ram = _fig(total, "/proc/meminfo → MemTotal")
    elif str(sysctl.get("hw.memsize", "")).strip().isdigit():
        ram = _fig(int(str(sysctl["hw.memsize"]).strip()), "sysctl hw.memsize")
    elif number(facts.get("ram_bytes")):
        ram = _fig(int(facts["ram_bytes"]), "os.sysconf(SC_PAGE_SIZE × SC_PHYS_PAGES)")
    cores = number(facts.get("cpu_count"))
    gpus: list[dict[str, Any]] = []
    for tool, parse in (("nvidia-smi", parse_nvidia_smi),
                        ("system_profiler", parse_system_profiler)):
        answer = facts.get(tool.replace("-", "_"))
        if answer is None:
            continue
        found = parse(obj(answer).get("out")) if _tool_note(tool, answer) is None else []
        gpus += found
        if not found:
            notes.append(_tool_note(tool, answer) or f"{tool} listed no GPU")
    if not gpus and not notes:
        notes.append("no GPU tool answered (nvidia-smi, system_profiler)")
    return {"label": CLI_LABEL, "os": _os(facts), "cpu": cpu,
            "cores": _fig(int(cores), "os.cpu_count()") if cores else None,
            "ram_bytes": ram, "gpus": gpus, "notes": notes}


def browser_machine(facts: dict[str, Any]) -> dict[str, Any]:
    """The browser's machine from what it exposes: ``hardware_concurrency``
    (``navigator.hardwareConcurrency``), ``device_memory_gb`` (``navigator.deviceMemory``),
    ``platform`` (``navigator.userAgentData.platform`` or ``navigator.platform``) and
    ``gpu`` (WebGPU ``GPUAdapter.info``: ``vendor``, ``architecture``, ``description``)."""
    facts = obj(facts)
    notes = []
    platform = text(facts.get("platform"))
    cores = number(facts.get("hardware_concurrency"))
    memory = number(facts.get("device_memory_gb"))
    ram = None
    if memory:
        ram = _fig(int(memory * 1024 ** 3), "navigator.deviceMemory")
        notes.append("navigator.deviceMemory is rounded and capped by the browser (at most "
                     "8 GB in Chrome): a lower bound")
    gpus = []
    info = obj(facts.get("gpu"))
    name = " ".join(p for p in (text(info.get("vendor")), text(info.get("architecture")),
                                text(info.get("description"))) if p)
    if name:
        gpus.append({"name": _fig(name, "WebGPU GPUAdapter.info")})
    return {"label": BROWSER_LABEL,
            "os": _fig(platform, "navigator.userAgentData.platform") if platform else None,
            "cpu": None, "cores": _fig(int(cores), "navigator.hardwareConcurrency")
            if cores else None, "ram_bytes": ram, "gpus": gpus, "notes": notes}
