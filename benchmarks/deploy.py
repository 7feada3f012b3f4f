"""Push-to-live time: a first deploy and a code-only redeploy, per backend.

    python benchmarks/deploy.py [--backend local docker] [--isolated]

Starts `jupyter deploy builder` (a real process) with a fresh state folder, exports the iris
model (scikit-learn) and times `create_build` -> phase `live` for version 1, then for a
version whose predict code changed (same requirements). Local runs with
`--reuse-site-packages` (the embedded builder's default); `--isolated` adds a run where the
first deploy builds a virtualenv from the package index. Docker uses the offline base image
made by scripts/make-base-image (a running engine is needed: scripts/dockerd-up).
Targets: code-only redeploy under 2 s local, under 5 s Docker.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from iris import PREDICT, iris_bundle

from jupyter_deploy.builder.client import BuilderClient

ROOT = Path(__file__).resolve().parent.parent


def tarball(suffix: str) -> bytes:
    """The iris bundle; `suffix` changes only the code."""
    return iris_bundle(PREDICT.rstrip("\n") + suffix + "\n").tarball()


def start_builder(state: Path, options: list[str]) -> tuple[subprocess.Popen[bytes], BuilderClient]:
    """A build service process and a client for it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = secrets.token_hex(8)
    command = [sys.executable, "-m", "jupyter_deploy", "builder", "--port", str(port)]
    command += ["--state", str(state), "--token", token, *options]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    client = BuilderClient(f"http://127.0.0.1:{port}", token)
    deadline = time.monotonic() + 30
    while not client.health():
        if time.monotonic() > deadline:
            raise RuntimeError("the builder did not start")
        time.sleep(0.1)
    return process, client


def push(client: BuilderClient, data: bytes) -> float:
    """Seconds from upload to live."""
    started = time.perf_counter()
    build = client.wait(client.create_build("iris", data)["id"], timeout=1800, interval=0.05)
    seconds = time.perf_counter() - started
    if build["phase"] != "live":
        raise RuntimeError(f"build failed: {build['error']}\n{client.logs(build['id']).text}")
    assert requests.post(f"{build['url']}/predict", json={"features": [6.7, 3.0, 5.2, 2.3]}).ok
    return seconds


def measure(label: str, options: list[str]) -> None:
    """First deploy, then a code-only redeploy, on a fresh state folder."""
    state = Path(tempfile.mkdtemp(prefix="jd-bench-deploy-"))
    process, client = start_builder(state, options)
    try:
        first = push(client, tarball(""))
        again = push(client, tarball("  # code-only change"))
        print(f"{label:<40} first deploy {first:6.1f} s   code-only redeploy {again:5.2f} s")
        client.delete("iris")
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    """Run the chosen backends."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", nargs="+", default=["local", "docker"])
    parser.add_argument("--isolated", action="store_true", help="also a local run with a venv")
    args = parser.parse_args()
    if "local" in args.backend:
        measure("local (reuse site packages)", ["--reuse-site-packages"])
        if args.isolated:
            measure("local (isolated virtualenv)", [])
    if "docker" in args.backend:
        base = "local/python3-bookworm:base"
        subprocess.run([str(ROOT / "scripts" / "make-base-image"), base], check=True)
        measure("docker (offline base image)", ["--backend", "docker", "--base-image", base])


if __name__ == "__main__":
    main()
