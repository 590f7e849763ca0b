"""A few Hadoop FileSystem operations the batch jobs need beyond :mod:`lakehouse.job` (exists, delete, rename,
list one directory level), through the session's Hadoop configuration so ``s3://``, ``s3a://`` and
``file://`` all work. Driver-side metadata calls only: never use them for data volume.
"""
from __future__ import annotations

from lakehouse.job import _fs_path

__all__ = ["delete", "exists", "is_file", "list_dir", "rename"]


def exists(spark, uri: str) -> bool:
    fs, path = _fs_path(spark, uri)
    return bool(fs.exists(path))


def is_file(spark, uri: str) -> bool:
    fs, path = _fs_path(spark, uri)
    return bool(fs.exists(path) and fs.getFileStatus(path).isFile())


def delete(spark, uri: str, recursive: bool = True) -> bool:
    """Delete ``uri`` (a file, or a directory with ``recursive``); False when it did not exist."""
    fs, path = _fs_path(spark, uri)
    if not fs.exists(path):
        return False
    return bool(fs.delete(path, recursive))


def rename(spark, src: str, dst: str) -> None:
    """Move ``src`` to ``dst`` (replacing ``dst``); creates the parent of ``dst``. On S3 this is copy + delete."""
    fs, source = _fs_path(spark, src)
    _, target = _fs_path(spark, dst)
    if fs.exists(target):
        fs.delete(target, False)
    fs.mkdirs(target.getParent())
    if not fs.rename(source, target):
        raise OSError(f"could not rename {src} to {dst}")


def list_dir(spark, uri: str) -> list[tuple[str, bool]]:
    """``(name, is_directory)`` of the entries directly under ``uri`` (empty when it does not exist), sorted."""
    fs, path = _fs_path(spark, uri)
    if not fs.exists(path):
        return []
    return sorted((status.getPath().getName(), bool(status.isDirectory())) for status in fs.listStatus(path))
