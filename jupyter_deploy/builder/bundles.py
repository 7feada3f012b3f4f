"""Unpacking an uploaded bundle safely: regular files under the target folder, nothing else."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from jupyter_deploy.errors import InvalidBundle

MAX_FILES = 10_000


def unpack(data: bytes, target: Path) -> str:
    """Extract a .tar.gz bundle into `target`; the sha256 of its requirements.txt."""
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115
    except (tarfile.TarError, OSError, EOFError):
        raise InvalidBundle("The upload is not a tar.gz bundle: send `bundle.tarball()`.") from None
    with archive:
        members = _checked(archive)
        target.mkdir(parents=True)
        try:
            for member, relative in members:
                destination = target.joinpath(*relative.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                with source, open(destination, "wb") as out:
                    shutil.copyfileobj(source, out)
        except (tarfile.TarError, OSError, EOFError):
            shutil.rmtree(target, ignore_errors=True)
            raise InvalidBundle("The bundle tarball is truncated or corrupt.") from None
    return _validate(target)


def _checked(archive: tarfile.TarFile) -> list[tuple[tarfile.TarInfo, PurePosixPath]]:
    try:
        members = archive.getmembers()
    except (tarfile.TarError, OSError, EOFError):
        raise InvalidBundle("The bundle tarball is truncated or corrupt.") from None
    if len(members) > MAX_FILES:
        raise InvalidBundle(f"The bundle has over {MAX_FILES} entries.")
    files = []
    for member in members:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or member.name.startswith(("/", "\\")):
            raise InvalidBundle(f"The bundle entry {member.name!r} points outside the bundle.")
        if member.isdir():
            continue
        if not member.isfile():
            raise InvalidBundle(
                f"The bundle entry {member.name!r} is a link or device: only files are allowed."
            )
        clean = PurePosixPath(*[p for p in path.parts if p not in ("", ".")])
        files.append((member, clean))
    names = {str(relative) for _, relative in files}
    for required in ("predict.py", "deploy.json"):
        if required not in names:
            raise InvalidBundle(f"The bundle has no {required}: export it with the compiler.")
    return files


def _validate(target: Path) -> str:
    try:
        json.loads((target / "deploy.json").read_text())
    except (ValueError, UnicodeDecodeError):
        shutil.rmtree(target, ignore_errors=True)
        raise InvalidBundle("The bundle's deploy.json is not JSON.") from None
    requirements = target / "requirements.txt"
    data = requirements.read_bytes() if requirements.is_file() else b""
    return hashlib.sha256(data).hexdigest()
