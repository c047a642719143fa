"""Where surgsteer finds shipped data and keeps user data and caches."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from surgsteer_cli.errors import SurgsteerError

_PACKAGE = Path(__file__).resolve().parent
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)  # POSIX; Windows has none
_PARTIAL = ".partial"


def resource_dir(name: str) -> Path:
    """Shipped top-level folder ``vectors`` or ``prompts``: inside the wheel or the checkout."""
    packaged = _PACKAGE / "_data" / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name


def home_dir() -> Path:
    """User data root: ``$SURGSTEER_HOME``, else ``$XDG_DATA_HOME/surgsteer`` (~/.local/share)."""
    override = os.environ.get("SURGSTEER_HOME")
    if override:
        return Path(override)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "surgsteer"


def user_vectors_dir() -> Path:
    """Vectors the user extracted or downloaded (searched after the shipped ones)."""
    return home_dir() / "vectors"


def cache_dir() -> Path:
    """Re-creatable artifacts: the assembled default model, converted HF checkpoints."""
    override = os.environ.get("SURGSTEER_HOME")
    if override:
        return Path(override) / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "surgsteer"


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A fresh temporary file beside ``path`` to write to; on success it becomes ``path`` in
    one rename (readable by all, like a shared artifact), so ``path`` is never seen
    half-written. Its name is unique, so concurrent writers do not collide; on error it is
    removed. A temporary file a killed writer left (its process gone) is removed here. OS
    errors (disk full, read-only folder) name ``path``, not the temporary file."""
    prefix = f".{path.name}.{os.getpid()}."
    remove_orphan_partials(path)
    try:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=_PARTIAL, dir=path.parent)
    except OSError as exc:
        exc.filename, exc.filename2 = str(path), None
        raise
    os.close(fd)
    partial = Path(name)
    try:
        with naming(path, partial):
            yield partial
            partial.chmod(0o644)  # mkstemp makes 0600
            os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def remove_orphan_partials(path: Path) -> None:
    """Delete ``atomic_output``'s temporary files for ``path`` whose writing process no longer
    runs (it was killed mid-write); files of live writers are left alone."""
    for partial in path.parent.glob(f".{glob.escape(path.name)}.*{_PARTIAL}"):
        pid = partial.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            partial.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


@contextlib.contextmanager
def naming(path: Path, *temporary: Path) -> Iterator[None]:
    """OS errors in the block that name no file (a failed write or flush), or only one of the
    ``temporary`` files, name ``path`` instead: the file the user knows."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None or Path(exc.filename) in temporary:
            exc.filename, exc.filename2 = str(path), None
        raise


def no_follow(path: str | Path, flags: int, mode: int = 0o644) -> int:
    """``os.open`` that refuses a symbolic link at ``path`` (a SurgsteerError) instead of
    writing through it, dangling or not. Also an ``opener`` for ``open()``."""
    try:
        return os.open(path, flags | _NO_FOLLOW, mode)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise SurgsteerError(f"{path} is a symbolic link; not writing through it") from None
