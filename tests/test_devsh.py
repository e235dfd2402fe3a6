"""dev.sh keeps stdout for the command it runs: its own step lines go to stderr, so
`./dev.sh bench --json > run.json` writes only JSON. (Runs `./dev.sh setup`, which is done
by the time tests run, so every step only checks.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_setup_steps_go_to_stderr() -> None:
    done = subprocess.run(["bash", str(ROOT / "dev.sh"), "setup"], capture_output=True, check=False,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "==> setup: done" in done.stderr
    assert done.stdout == ""
