#!/usr/bin/env bash
# dev.sh: set localrate up and run it. Debian/Ubuntu or macOS, Python >= 3.11.
#
#   ./dev.sh serve   set up, then `localrate serve` (http://127.0.0.1:8765/local-models)
#   ./dev.sh test    set up (plus Chromium and Node for the browser and Pyodide tests),
#                    then run the whole test suite; exits with pytest's code
#
# Safe to run again: every step checks first and skips what is already done.
# The [mlx] extra (MLX bridge, demo model conversion) is installed where mlx has wheels
# (Linux x86_64/aarch64, macOS arm64); LOCALRATE_WITH_MLX=0 leaves it out.
set -euo pipefail
cd "$(dirname "$0")"

STAMP=.venv/.localrate-install
APT_UPDATED=

step() { printf '==> %s\n' "$*"; }
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

pip_install() {  # pip_install EXTRAS: install the project with those extras, quietly
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$1]" >.venv/pip.log 2>&1
}

install_package() {
  local extras=dev
  [ "$1" = serve ] && extras=
  if [ "${LOCALRATE_WITH_MLX:-auto}" != 0 ] && mlx_supported; then extras=${extras:+$extras,}mlx; fi
  local want
  want="$(.venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest())') $extras"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x .venv/bin/localrate ]; then
    step "install: localrate[$extras] up to date"
    return
  fi
  step "install: pip install -e .[$extras]"
  if ! pip_install "$extras"; then
    case "$extras" in
      *mlx*)
        step "install: MLX did not install here (see .venv/pip.log); going on without it"
        extras=${extras%mlx}; extras=${extras%,}
        want="${want% *} $extras"
        pip_install "$extras" || { tail -n 20 .venv/pip.log >&2; die "pip install failed (full log: .venv/pip.log)"; } ;;
      *) tail -n 20 .venv/pip.log >&2; die "pip install failed (full log: .venv/pip.log)" ;;
    esac
  fi
  printf '%s\n' "$want" > "$STAMP"
}

setup_test_tools() {
  if [ -x /usr/bin/chromium ]; then step "chromium: /usr/bin/chromium ok"
  elif command -v apt-get >/dev/null 2>&1; then step "chromium: installing (apt-get)"; apt_install chromium
  else step "chromium: not found and no apt-get: the browser tests will say so"
  fi
  if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    step "node: $(node --version) with npm ok"
  elif command -v apt-get >/dev/null 2>&1; then
    step "node: installing nodejs and npm (apt-get)"
    command -v node >/dev/null 2>&1 || apt_install nodejs
    command -v npm >/dev/null 2>&1 || apt_install npm
  else step "node: not found and no apt-get: the Pyodide tests will say so"
  fi
  step "assets: Pyodide and wheels (localrate build, cached)"
  .venv/bin/localrate build --out _site
  step "model: the demo model for the real llama.cpp and MLX tests (cached)"
  .venv/bin/localrate demo-model
}

main() {
  local cmd=${1:-}
  case "$cmd" in
    serve|test) ;;
    *) die "usage: ./dev.sh serve | ./dev.sh test" ;;
  esac
  shift
  setup_venv
  install_package "$cmd"
  if [ "$cmd" = serve ]; then
    step "serve: localrate serve $*"
    exec .venv/bin/localrate serve "$@"
  fi
  setup_test_tools
  step "test: pytest -q tests playwright"
  local code=0
  .venv/bin/pytest -q tests playwright "$@" || code=$?
  if [ "$code" -eq 5 ]; then echo "dev.sh: pytest collected no tests" >&2; exit 1; fi
  exit "$code"
}

main "$@"
