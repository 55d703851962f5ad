"""Files users hand over and files CrossRoute writes: written so that a reader sees the old file or the new one, never
half of one; folders replaced in one step without ever being lost; and files an artifact names read only when they
are plain, regular files inside its folder, no bigger than expected (a router.json may have been edited by hand).
"""
from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

from router_core.errors import RouterInputError


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8, newlines as given) to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(temp, 0o644)  # mkstemp makes it private; the file is meant to be shared like any other output
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def process_running(pid: int) -> bool:
    """Whether a process with this id exists (one owned by another user counts): leftovers of dead runs may go."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


RENAME_EXCHANGE = 2  # linux/fs.h: swap two paths in one step


def plain_name(name, where: str) -> str:
    """`name` if it is a bare file name (no folder part, not . or ..), else RouterInputError naming `where`."""
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise RouterInputError(f"{where}: file entry {name!r} must be a plain file name inside the artifact folder")
    return name


def regular_file_size(path: Path, max_bytes: int) -> int:
    """The size of `path`, refusing a symlink, a device, a folder or anything over `max_bytes` (nothing is read)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise RouterInputError(f"{path}: cannot be read ({e.strerror})") from e
    if stat.S_ISLNK(info.st_mode):
        raise RouterInputError(f"{path}: is a symbolic link; an artifact's files must be regular files in its folder (copy the file in)")
    if not stat.S_ISREG(info.st_mode):
        raise RouterInputError(f"{path}: is not a regular file (a folder or device); an artifact's files must be regular files")
    if info.st_size > max_bytes:
        raise RouterInputError(f"{path}: {info.st_size} bytes, more than the {max_bytes} expected; the file is damaged or not this artifact's")
    return info.st_size


def read_confined(folder: Path, name, max_bytes: int, where: str | None = None) -> bytes:
    """The bytes of file `name` in `folder`, under the rules above; FileNotFoundError when it is absent."""
    path = folder / plain_name(name, where or str(folder / "router.json"))
    size = regular_file_size(path, max_bytes)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise
    except OSError as e:
        raise RouterInputError(f"{path}: cannot be read ({e.strerror})") from e
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped between the check and the open
            raise RouterInputError(f"{path}: is not a regular file")
        data = f.read(size + 1)
    if len(data) > size:
        raise RouterInputError(f"{path}: grew while being read; try again when nothing is writing to it")
    return data


# ---------------------------------------------------------------- replacing a folder


def staging_folder(folder: Path) -> Path:
    """An empty temporary folder beside `folder` (same file system, so it can be renamed into place), named by our pid."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{folder.name}.stage-{os.getpid()}-", dir=folder.parent))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system or file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_cwd = -100
    if renameat2(at_cwd, os.fsencode(a), at_cwd, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def retired_name(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}.old-{os.getpid()}")


def swap_into_place(staging: Path, folder: Path) -> None:
    """Replace `folder` by the fully written `staging`: readers see the old artifact or the new, never half or none.

    An atomic exchange where the system has one; elsewhere two renames, and a kill between them leaves the old folder
    beside, which `recover` puts back.
    """
    try:
        os.chmod(staging, 0o755)
        if folder.exists():
            if _exchange(staging, folder):
                shutil.rmtree(staging, ignore_errors=True)  # now holds the old artifact
                return
            retired = retired_name(folder)
            os.replace(folder, retired)
            os.replace(staging, folder)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?:stage-(?P<stage_pid>\d+)-[^/]*|old-(?P<old_pid>\d+))$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftovers are from an earlier call that failed
    return process_running(pid)


def recover(folder: Path) -> None:
    """Put back an artifact stranded by a kill between two renames, and remove leftovers of runs that died.

    Only folders named by a process that no longer runs are touched, so a save in progress elsewhere is left alone.
    """
    parent = folder.parent
    if not parent.is_dir():
        return
    stranded, leftovers = [], []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        match = _LEFTOVER.match(entry.name)
        if not match or match["name"] != folder.name or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(match["stage_pid"] or match["old_pid"])
        if _alive(pid):
            continue
        (stranded if match["old_pid"] else leftovers).append(Path(entry.path))
    if stranded and not folder.exists():
        newest = max(stranded, key=lambda p: p.stat().st_mtime)
        try:
            os.replace(newest, folder)
            stranded.remove(newest)
        except OSError:
            pass
    if folder.exists():
        for path in stranded + leftovers:
            shutil.rmtree(path, ignore_errors=True)
    else:
        for path in leftovers:
            shutil.rmtree(path, ignore_errors=True)
