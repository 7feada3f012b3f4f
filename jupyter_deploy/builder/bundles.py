"""Unpacking an uploaded bundle safely: regular files under the target folder, nothing else.

The tarball is read as a stream and every limit is checked while extracting, before a byte of
a member is written: the sender cannot choose what the bundle becomes on disk (a 279-byte
gzip can declare gigabytes). Files are written 0600 in folders 0700.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from jupyter_deploy.errors import BundleTooLarge, InsufficientStorage, InvalidBundle

MiB = 1024 * 1024
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one bundle may become on disk (builder flags `--max-extracted-mb`, `--max-files`,
    `--max-file-mb`)."""

    total: int = 1024 * MiB
    files: int = 10_000
    per_file: int = 512 * MiB


def unpack(data: bytes, target: Path, limits: Limits | None = None) -> str:
    """Extract a .tar.gz bundle into `target` (made here); the sha256 of its requirements.txt.

    InvalidBundle (400) for anything but plain files and folders inside the bundle,
    BundleTooLarge (413) naming the limit, InsufficientStorage (507) when the disk is full;
    `target` is removed on any failure.
    """
    limits = limits or Limits()
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data), mode="r|*")  # noqa: SIM115
    except (tarfile.TarError, OSError, EOFError):
        raise InvalidBundle("The upload is not a tar.gz bundle: send `bundle.tarball()`.") from None
    try:
        target.mkdir(parents=True, mode=0o700)
        with archive:
            names = _extract(archive, target, limits)
        for required in ("predict.py", "deploy.json"):
            if required not in names:
                raise InvalidBundle(f"The bundle has no {required}: export it with the compiler.")
        return _validate(target)
    except OSError as error:
        shutil.rmtree(target, ignore_errors=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage(
                "The build service's disk is full: the bundle was not stored (nothing else "
                "changed). Free space in its state folder and push again."
            ) from None
        raise InvalidBundle("The bundle tarball is truncated or corrupt.") from None
    except (tarfile.TarError, EOFError, zlib.error):
        shutil.rmtree(target, ignore_errors=True)
        raise InvalidBundle("The bundle tarball is truncated or corrupt.") from None
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _extract(archive: tarfile.TarFile, target: Path, limits: Limits) -> set[str]:
    """Write each member as it comes, after checking it; the relative names written."""
    names: set[str] = set()
    total, count = 0, 0
    for member in archive:
        relative = _relative(member)
        count += 1
        if count > limits.files:
            raise BundleTooLarge(
                f"The bundle has over {limits.files} entries (the limit, --max-files)."
            )
        if member.isdir():
            target.joinpath(*relative.parts).mkdir(parents=True, exist_ok=True, mode=0o700)
            continue
        _check_file(member, limits)
        total += member.size
        if total > limits.total:
            raise BundleTooLarge(
                f"The bundle expands to over {limits.total // MiB} MiB "
                "(the limit on its extracted size, --max-extracted-mb)."
            )
        destination = target.joinpath(*relative.parts)
        destination.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _copy(archive, member, destination)
        names.add(str(relative))
    return names


def _relative(member: tarfile.TarInfo) -> PurePosixPath:
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or member.name.startswith(("/", "\\")):
        raise InvalidBundle(f"The bundle entry {member.name!r} points outside the bundle.")
    if any(ord(c) < 32 for c in member.name):
        raise InvalidBundle(f"The bundle entry {member.name!r} has a control character.")
    return PurePosixPath(*[p for p in path.parts if p not in ("", ".")])


def _check_file(member: tarfile.TarInfo, limits: Limits) -> None:
    if member.issparse():
        raise InvalidBundle(
            f"The bundle entry {member.name!r} is a sparse file: only plain files are allowed."
        )
    if not member.isfile():
        raise InvalidBundle(
            f"The bundle entry {member.name!r} is a link or device: only files are allowed."
        )
    if member.size > limits.per_file:
        raise BundleTooLarge(
            f"The bundle entry {member.name!r} is over {limits.per_file // MiB} MiB "
            "(the limit per file, --max-file-mb)."
        )


def _copy(archive: tarfile.TarFile, member: tarfile.TarInfo, destination: Path) -> None:
    """Copy at most the member's declared size (tarfile reads no more than that)."""
    source = archive.extractfile(member)
    assert source is not None
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with source, open(fd, "wb") as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)


def _validate(target: Path) -> str:
    try:
        json.loads((target / "deploy.json").read_text())
    except (ValueError, UnicodeDecodeError):
        raise InvalidBundle("The bundle's deploy.json is not JSON.") from None
    requirements = target / "requirements.txt"
    data = requirements.read_bytes() if requirements.is_file() else b""
    return hashlib.sha256(data).hexdigest()
