"""Deterministic zip archives: same inputs, same bytes (fixed timestamps and modes, sorted entries)."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__", "tests", ".pytest_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def keep(rel: Path) -> bool:
    return not (set(rel.parts) & _SKIP_DIRS) and rel.suffix not in _SKIP_SUFFIXES


def tree(base: Path, arc_prefix: str) -> dict[str, Path]:
    """Archive name -> file for every file below ``base`` (bytecode and caches left out)."""
    files = {}
    for path in base.rglob("*"):
        rel = path.relative_to(base)
        if path.is_file() and keep(rel):
            files[(arc_prefix + rel.as_posix()).lstrip("/")] = path
    return files


def zip_bytes(files: dict[str, Path]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for arcname, path in sorted(files.items()):
            info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            zf.writestr(info, path.read_bytes(), compresslevel=9)
    return buf.getvalue()


def write_if_changed(target: Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` unless it already holds exactly these bytes (keeps mtimes stable)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_bytes() != data:
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target
