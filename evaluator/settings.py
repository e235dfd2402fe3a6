"""The settings of a run: what the user may set, their ranges, and how a record holds them.

``run_settings`` (re-exported by :mod:`evaluator.request`) checks every setting and returns
the ``settings`` object of the run record. A bad value is one :class:`SettingsError` line
naming the field: ``top_p: expected a number above 0 and at most 1, got 0``.

The settings:

* ``temperature`` (0 to 2, default 0) and ``max_tokens`` (1 to ``MAX_TOKENS_LIMIT``,
  default 1024; a case's own smaller cap wins) are always written; ``timeout_s`` (seconds
  allowed per request, at least 0.05, default 120) too.
* ``seed`` — the run seed for drawn values and haystacks (0 to 2**53 - 1). It is NOT sent
  to the model: attempts of a repeated case must be free to differ, and a sampling seed
  would make them copies on the runtimes that honour one.
* ``top_p`` (above 0, at most 1) — sent as ``top_p`` when set; absent: the engine's own.
* ``system`` — a run-level system prompt. It comes first, then the case's own ``system``
  (separated by a blank line), in ONE system message at the start of every request of
  the case; with neither, no system message is sent.
* ``thinking`` — ``default`` (send nothing: the engine decides), ``off``, ``low``,
  ``medium`` or ``high``, sent the way each runtime reads it (:mod:`evaluator.thinking`).
* ``repeat`` — attempts per case: 1, 2, 3 or 5. Each attempt is its own case result
  with an integer ``attempt`` (0-based) when ``repeat`` is above 1.
* ``warmup`` — a short request before a model's first case, left out of the results and
  recorded as the record's ``warmup`` (its cold start); on by default.
* ``from_engine`` — the names of the settings whose values were read from the runtime's
  own defaults (``localrate bench --from-engine``), sorted.

A setting at its default is not written (absent means the default), so a run with nothing
new set makes the same ``settings`` as before these settings existed, and two runs pool
(:func:`evaluator.stats.pool_check`) exactly when they were made with the same settings.
:func:`effective_settings` fills every default back in, for display.
"""

from __future__ import annotations

import math
from typing import Any

from evaluator.casespec import seed_problem

DEFAULT_SETTINGS: dict[str, Any] = {"temperature": 0, "max_tokens": 1024, "timeout_s": 120}
MAX_TOKENS_LIMIT = 131_072  # the largest max_tokens a user may ask for
THINKING_LEVELS = ("default", "off", "low", "medium", "high")
REPEATS = (1, 2, 3, 5)
MAX_SYSTEM_CHARS = 100_000
# The settings written only when they differ from these (module docstring).
OPTIONAL_DEFAULTS: dict[str, Any] = {"top_p": None, "system": "", "thinking": "default",
                                     "repeat": 1, "warmup": True, "from_engine": []}
SETTING_NAMES = ("temperature", "top_p", "max_tokens", "timeout_s", "seed", "system",
                 "thinking", "repeat", "warmup")


class SettingsError(ValueError):
    """A run setting is out of range; the message names it."""


def check_seed(seed: Any) -> int:
    """``seed`` when it is a valid run seed, else SettingsError naming it."""
    problem = seed_problem(seed)
    if problem is not None:
        raise SettingsError(f"seed: {problem}")
    return int(seed)


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) \
        and math.isfinite(value)


def _whole(value: Any) -> Any:
    """A whole float as an int (``1.0`` -> ``1``), so both shells write the same record."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def check_temperature(value: Any) -> Any:
    if not _number(value) or not 0 <= value <= 2:
        raise SettingsError(f"temperature: expected a number from 0 to 2, got {value!r}")
    return _whole(value)


def check_top_p(value: Any) -> Any:
    if not _number(value) or not 0 < value <= 1:
        raise SettingsError(f"top_p: expected a number above 0 and at most 1, got {value!r}")
    return _whole(value)


def check_max_tokens(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) \
            or not 1 <= value <= MAX_TOKENS_LIMIT:
        raise SettingsError(f"max_tokens: expected a whole number from 1 to "
                            f"{MAX_TOKENS_LIMIT}, got {value!r}")
    return value


def check_timeout(value: Any) -> Any:
    if not _number(value) or value < 0.05:
        raise SettingsError(f"timeout_s: expected a number of seconds of at least 0.05, "
                            f"got {value!r}")
    return _whole(value)


def check_system(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_SYSTEM_CHARS:
        raise SettingsError(f"system: expected text of at most {MAX_SYSTEM_CHARS:,} "
                            f"characters, got {str(value)[:40]!r}")
    return value


def check_thinking(value: Any) -> str:
    if value not in THINKING_LEVELS:
        raise SettingsError(f"thinking: expected one of {', '.join(THINKING_LEVELS)}, "
                            f"got {str(value)[:40]!r}")
    return str(value)


def check_repeat(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in REPEATS:
        raise SettingsError(f"repeat: expected one of {', '.join(map(str, REPEATS))}, "
                            f"got {value!r}")
    return value


def check_warmup(value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"warmup: expected true or false, got {value!r}")
    return value


def check_from_engine(value: Any) -> list[str]:
    if not isinstance(value, (list, tuple)) or any(v not in SETTING_NAMES for v in value):
        raise SettingsError(f"from_engine: expected a list of setting names "
                            f"({', '.join(SETTING_NAMES)}), got {value!r}")
    return sorted(set(value))


CHECKS = {"temperature": check_temperature, "top_p": check_top_p,
          "max_tokens": check_max_tokens, "timeout_s": check_timeout, "seed": check_seed,
          "system": check_system, "thinking": check_thinking, "repeat": check_repeat,
          "warmup": check_warmup, "from_engine": check_from_engine}


def run_settings(max_tokens: Any = None, timeout_s: Any = None, seed: Any = None, *,
                 temperature: Any = None, top_p: Any = None, system: Any = None,
                 thinking: Any = None, repeat: Any = None, warmup: Any = None,
                 from_engine: Any = None) -> dict[str, Any]:
    """The ``settings`` of a run record: ``DEFAULT_SETTINGS`` with every given value
    checked and put in, and the optional settings written only when they differ from
    their defaults (module docstring). None means "not given". SettingsError names the
    first bad field."""
    given = {"temperature": temperature, "max_tokens": max_tokens, "timeout_s": timeout_s,
             "seed": seed, "top_p": top_p, "system": system, "thinking": thinking,
             "repeat": repeat, "warmup": warmup, "from_engine": from_engine}
    settings = dict(DEFAULT_SETTINGS)
    for name, value in given.items():
        if value is None:
            continue
        checked = CHECKS[name](value)
        if name in OPTIONAL_DEFAULTS and checked == OPTIONAL_DEFAULTS[name] \
                and type(checked) is type(OPTIONAL_DEFAULTS[name]):
            continue
        settings[name] = checked
    return settings


def settings_from(obj: Any) -> dict[str, Any]:
    """:func:`run_settings` of a mapping of setting names to values (the page's form, the
    ``run_settings`` op); an unknown name is a SettingsError."""
    if not isinstance(obj, dict):
        raise SettingsError("settings: expected an object")
    unknown = [k for k in obj if k not in CHECKS]
    if unknown:
        raise SettingsError(f"{str(unknown[0])[:40]}: not a setting (known: "
                            f"{', '.join(CHECKS)})")
    return run_settings(**{k: v for k, v in obj.items()})


def effective_settings(settings: Any) -> dict[str, Any]:
    """Every setting with its value in this run (absent ones at their defaults), for
    display; ``seed`` only when the run has one."""
    given = settings if isinstance(settings, dict) else {}
    out = {**DEFAULT_SETTINGS, **OPTIONAL_DEFAULTS}
    out.update({k: v for k, v in given.items() if k in CHECKS})
    return out


def system_prompt(run_system: Any, case_system: Any) -> str | None:
    """The one system message of a case's requests: the run's, then the case's, separated
    by a blank line; None when neither has text."""
    parts = [p for p in (run_system, case_system) if isinstance(p, str) and p]
    return "\n\n".join(parts) if parts else None
