# Shared helpers for scripts/start and scripts/test. Sourced, not run.
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

step() { printf '\n==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }

APT_PACKAGES=(chromium docker.io wrk debootstrap)

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

# ensure_python_env [extra]: editable install of this project (and its extra) into `python`.
ensure_python_env() {
  local extra=${1:-}
  local spec="."
  [ -n "$extra" ] && spec=".[$extra]"
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
