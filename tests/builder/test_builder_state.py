"""The builder's state: what changes together is seen together, and the folder is private."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from builder_helpers import BuilderProcess, bundle_tarball, cleanup

from jupyter_deploy.builder.state import State


def test_a_reader_never_sees_a_failed_build_without_its_error(tmp_path: Path) -> None:
    # Given builds that a writer fails while a reader polls them
    state = State(tmp_path / "state")
    builds = [state.new_build("svc", n, "build")["id"] for n in range(1, 201)]
    seen: list[dict[str, object]] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            for build_id in builds[::7]:
                seen.append(state.build(build_id))

    reader = threading.Thread(target=read)
    reader.start()
    for build_id in builds:
        state.set_phase(build_id, "building")
        state.fail(build_id, "building", "pip failed")
    done.set()
    reader.join()
    # Then every failed build anyone saw already carried its error
    failed = [b for b in seen if b["phase"] == "failed"]
    assert failed and all(
        b["error"] == {"phase": "building", "message": "pip failed"} for b in failed
    )


def test_the_state_folder_is_0700_and_its_files_0600(tmp_path: Path) -> None:
    # Given a builder that has run one version
    builder = BuilderProcess(tmp_path / "state").start()
    try:
        client = builder.client()
        assert (
            client.wait(client.create_build("double", bundle_tarball(2))["id"])["phase"] == "live"
        )
    finally:
        builder.stop()
        cleanup(builder.state)
    # Then no one but its owner can read anything in it
    assert stat.S_IMODE(builder.state.stat().st_mode) == 0o700
    for path in builder.state.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode & 0o077 == 0, path
        elif path.is_file():
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
