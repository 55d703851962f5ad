"""A router artifact as one zip file: how the dashboard hands a router (one with an added model, say) to its user and
takes it back. Unpacking is careful: a zip from elsewhere may hold paths outside the folder or expand to far more
than its size, so members must be the artifact's plain file names and their sizes are checked before a byte is
written. The unpacked folder is then loaded with every check Router.load makes.
"""
from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path

from router_core.errors import RouterInputError

ARTIFACT_FILE = re.compile(r"^(router\.json|router\.safetensors|quality\.safetensors|[a-z0-9_.]+\.onnx)$")
MAX_MEMBERS = 8
MAX_UNPACKED_BYTES = 1_000_000_000  # a router with its ONNX graphs is ~100 MB; far more is not an artifact


def router_zip(router) -> bytes:
    """The router saved as an artifact and zipped (flat: the artifact's files at the top level)."""
    with tempfile.TemporaryDirectory(prefix="crossroute-zip-") as tmp:
        folder = router.save(Path(tmp) / "router")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, arcname=path.name)
    return buffer.getvalue()


def router_from_zip(data: bytes, name: str = "router.zip", backend: str = "auto"):
    """A Router from a zip made by router_zip.

    Raises:
        RouterInputError naming the zip and the member or size that is wrong, or what Router.load refused.
    """
    from router_core.router import Router

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise RouterInputError(f"{name}: not a readable zip file ({e})") from e
    if len(members) > MAX_MEMBERS:
        raise RouterInputError(f"{name}: {len(members)} entries; a router artifact has at most {MAX_MEMBERS} files")
    for member in members:
        if member.is_dir() or not ARTIFACT_FILE.match(member.filename):
            raise RouterInputError(f"{name}: entry {member.filename[:80]!r} is not a router artifact file (router.json, "
                                   "router.safetensors, quality.safetensors or an .onnx graph, at the top level)")
    if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
        raise RouterInputError(f"{name}: unpacks to over {MAX_UNPACKED_BYTES / 1e9:g} GB; not a router artifact")
    if "router.json" not in {m.filename for m in members}:
        raise RouterInputError(f"{name}: has no router.json; export the router from the dashboard or zip the files of "
                               "a folder `python -m router_core train` wrote")
    with tempfile.TemporaryDirectory(prefix="crossroute-unzip-") as tmp:
        folder = Path(tmp) / "router"
        folder.mkdir()
        try:
            for member in members:
                with archive.open(member) as source:
                    content = source.read(member.file_size + 1)
                if len(content) != member.file_size:
                    raise RouterInputError(f"{name}: entry {member.filename} is not the size its header says")
                (folder / member.filename).write_bytes(content)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as e:  # RuntimeError: encrypted entries
            raise RouterInputError(f"{name}: could not unpack ({type(e).__name__}: {e})") from e
        return Router.load(folder, backend=backend)  # reads everything it needs now: the folder can go
