"""Fault injection: what an uploaded bundle may become (a real builder process, local backend).

The sender must not choose what a bundle becomes on disk: limits on the extracted size, the
number of entries and the size of one file are checked while extracting (413 naming the
limit), and only plain files and folders inside the bundle are written (400 otherwise).
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from builder_helpers import BuilderProcess, bundle_tarball, cleanup

pytestmark = pytest.mark.slow

PREDICT = b"def predict(x):\n    return x\n"
LIMITS = ("--max-extracted-mb", "8", "--max-file-mb", "4", "--max-files", "1000")


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuilderProcess]:
    """One builder with small limits for every bundle of this module."""
    state = tmp_path_factory.mktemp("limits") / "state"
    process = BuilderProcess(state, options=("--reuse-site-packages", *LIMITS)).start()
    try:
        yield process
    finally:
        process.stop()
        cleanup(state)


def post(builder: BuilderProcess, data: bytes, name: str = "bad") -> requests.Response:
    """POST /v1/builds with a raw body."""
    return requests.post(
        f"{builder.url}/v1/builds",
        params={"name": name},
        data=data,
        headers={"Authorization": f"Bearer {builder.token}"},
        timeout=60,
    )


def tarball(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    """A .tar.gz of these members (plus predict.py and deploy.json, so only they are wrong)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in (("predict.py", PREDICT), ("deploy.json", b"{}")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def zeros(name: str, size: int) -> tuple[tarfile.TarInfo, bytes]:
    """A member of `size` zero bytes (gzip makes it tiny on the wire)."""
    info = tarfile.TarInfo(name)
    info.size = size
    return info, bytes(size)


def assert_refused(answer: requests.Response, status: int, *words: str) -> None:
    """The answer is `status` with a message naming each of `words`."""
    assert answer.status_code == status, answer.text
    message = answer.json()["message"]
    for word in words:
        assert word in message, message


def assert_nothing_left(builder: BuilderProcess) -> None:
    """No bundle folder and no half-unpacked folder remains."""
    assert list((builder.state / "tmp").iterdir()) == []
    assert not (builder.state / "bundles" / "bad").exists()


def test_a_tar_bomb_is_refused_with_413_naming_the_limit(limited: BuilderProcess) -> None:
    # Given three 3 MiB files of zeros: 9 MiB unpacked, a few KiB on the wire
    bomb = tarball([zeros(f"data/{i}.bin", 3 * 1024 * 1024) for i in range(3)])
    assert len(bomb) < 100_000
    # When it is pushed to a builder that allows 8 MiB unpacked
    answer = post(limited, bomb)
    # Then 413 names the limit and nothing is left on disk
    assert_refused(answer, 413, "8 MiB", "--max-extracted-mb")
    assert answer.json()["error"] == "bundle_too_large"
    assert_nothing_left(limited)


def test_one_file_over_the_per_file_limit_gets_413(limited: BuilderProcess) -> None:
    answer = post(limited, tarball([zeros("model.bin", 5 * 1024 * 1024)]))
    assert_refused(answer, 413, "model.bin", "4 MiB", "--max-file-mb")
    assert_nothing_left(limited)


def test_a_member_declaring_a_huge_size_is_refused_before_its_data_is_read(
    limited: BuilderProcess,
) -> None:
    # Given a header that declares 300 GB followed by almost nothing (the sender picks sizes)
    raw = io.BytesIO()
    tar = tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT)  # noqa: SIM115
    for name in ("predict.py", "deploy.json"):
        info = tarfile.TarInfo(name)
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    huge = tarfile.TarInfo("huge.bin")
    huge.size = 300 * 1024**3
    stream = raw.getvalue() + huge.tobuf(format=tarfile.GNU_FORMAT) + bytes(1024)
    # When it is pushed, then it is refused with 413 at once, naming the member
    assert_refused(post(limited, gzip.compress(stream)), 413, "huge.bin")
    assert_nothing_left(limited)


def test_a_sparse_member_is_refused(limited: BuilderProcess, tmp_path: Path) -> None:
    # Given a 300 MB sparse file packed by GNU tar as a sparse member (a few hundred bytes)
    folder = tmp_path / "sparse"
    folder.mkdir()
    (folder / "predict.py").write_text("def predict(x):\n    return x\n")
    (folder / "deploy.json").write_text("{}")
    with open(folder / "hole.bin", "wb") as file:
        file.truncate(300 * 1024 * 1024)
    archive = tmp_path / "sparse.tar.gz"
    subprocess.run(["tar", "-C", str(folder), "-S", "-czf", str(archive), "."], check=True)
    assert archive.stat().st_size < 2000
    # When it is pushed, then it is refused as a sparse member, and nothing was written
    assert_refused(post(limited, archive.read_bytes()), 400, "hole.bin", "sparse")
    assert_nothing_left(limited)


def test_a_bundle_of_100k_files_is_refused(limited: BuilderProcess) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1) as tar:
        for index in range(100_000):
            tar.addfile(tarfile.TarInfo(f"f/{index}"), io.BytesIO(b""))
    answer = post(limited, raw.getvalue())
    assert_refused(answer, 413, "1000 entries", "--max-files")
    assert_nothing_left(limited)


def _member(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info, None


ESCAPES = {
    "a .. entry": ([(tarfile.TarInfo("../escape.txt"), b"")], "outside the bundle"),
    "an absolute entry": ([(tarfile.TarInfo("/tmp/abs-i12.txt"), b"")], "outside the bundle"),
    "a symbolic link": ([_member("link", tarfile.SYMTYPE, "/etc/passwd")], "link or device"),
    "a hard link": ([_member("hard", tarfile.LNKTYPE, "predict.py")], "link or device"),
    "a device": ([_member("dev", tarfile.CHRTYPE)], "link or device"),
    "a fifo": ([_member("fifo", tarfile.FIFOTYPE)], "link or device"),
    "a newline in a name": ([(tarfile.TarInfo("a\nb.py"), b"")], "control character"),
}


@pytest.mark.parametrize("kind", list(ESCAPES))
def test_members_that_are_not_plain_files_inside_the_bundle_get_400(
    kind: str, limited: BuilderProcess
) -> None:
    members, words = ESCAPES[kind]
    answer = post(limited, tarball(members))
    assert_refused(answer, 400, words)
    assert answer.json()["error"] == "invalid_bundle"
    assert not Path("/tmp/abs-i12.txt").exists()
    assert not (limited.state / "bundles" / "escape.txt").exists()
    assert_nothing_left(limited)


@pytest.mark.parametrize("name", ["svc\n", "svc%0A", "svc\r", "-svc", "a" * 64, "Svc"])
def test_a_name_that_breaks_the_rule_gets_400_and_makes_nothing(
    name: str, limited: BuilderProcess
) -> None:
    answer = post(limited, bundle_tarball(), name=name.replace("%0A", "\n"))
    assert_refused(answer, 400, "cannot name a deployment")
    names = [d["name"] for d in limited.client().deployments()]
    assert all(n.strip() == n and n.islower() for n in names)
    assert not any(p.name.startswith("svc") for p in (limited.state / "logs").iterdir())


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs to use as a state folder (root only)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    folder = tmp_path / "tiny"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)])
    if done.returncode != 0:
        pytest.skip("mount -t tmpfs is not allowed here")
    try:
        yield folder
    finally:
        cleanup(folder / "state")
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_while_unpacking_fails_the_push_and_loses_nothing(tiny_disk: Path) -> None:
    # Given a builder whose state folder is a 2 MiB disk, with one version live
    builder = BuilderProcess(tiny_disk / "state").start()
    try:
        client = builder.client()
        live = client.wait(client.create_build("double", bundle_tarball(2))["id"])
        assert live["phase"] == "live", client.logs(live["id"]).text
        # When a bundle that unpacks to 3 MiB (incompressible) is pushed
        big = tarball([(_sized("model.bin", 3 * 1024 * 1024), os.urandom(3 * 1024 * 1024))])
        answer = post(builder, big, name="double")
        # Then the push fails with 507 saying the disk is full, and nothing half-written stays
        assert_refused(answer, 507, "disk is full")
        assert list((builder.state / "tmp").iterdir()) == []
        # And the live version still serves, its state intact, and a small push still works
        reply = requests.post(f"{live['url']}/predict", json={"x": 4}, timeout=10)
        assert reply.json() == {"prediction": 8}
        deployment = client.deployment("double")
        assert deployment["status"] == "live" and deployment["live_version"] == 1
        again = client.wait(client.create_build("double", bundle_tarball(3))["id"])
        assert again["phase"] == "live", again
        reply = requests.post(f"{live['url']}/predict", json={"x": 4}, timeout=10)
        assert reply.json() == {"prediction": 12}
    finally:
        builder.stop()


def _sized(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info
