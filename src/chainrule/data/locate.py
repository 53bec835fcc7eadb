"""Find a dataset's IDX files on disk, or download them into the cache.

Places are tried in this order, and the first that holds both files of the split
wins: (1) the ``root`` argument, (2) ``$CHAINRULE_DATA/<dataset>``, (3) the user
cache ``$XDG_CACHE_HOME/chainrule/<dataset>`` (default ``~/.cache/...``), (4) the
directories where an operating-system package installs the files, then (5) a
download from the mirrors into the cache.
"""
from __future__ import annotations

import os
from pathlib import Path

from .catalog import DatasetSpec, IdxFile
from .download import DownloadError, download


class DatasetNotFoundError(FileNotFoundError):
    """The files are nowhere on disk and could not be downloaded (lists every place looked)."""


def cache_dir(spec: DatasetSpec) -> Path:
    """Where downloads of ``spec`` go: ``$XDG_CACHE_HOME/chainrule/<name>`` or ``~/.cache/...``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says a relative $XDG_CACHE_HOME is invalid and must be ignored.
    cache = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return cache / "chainrule" / spec.name


def places(spec: DatasetSpec, root: str | os.PathLike | None) -> list[tuple[str, Path]]:
    """The directories to search, in order, each with a label saying why it is searched."""
    found = []
    if root is not None:
        found.append(("root argument", Path(root)))
    data_home = os.environ.get("CHAINRULE_DATA", "")
    if data_home:
        found.append(("$CHAINRULE_DATA", Path(data_home) / spec.name))
    found.append(("user cache", cache_dir(spec)))
    found.extend(("system package", Path(directory)) for directory in spec.system_dirs)
    return found


def locate(spec: DatasetSpec, root: str | os.PathLike | None, train: bool, download_missing: bool,
           search: bool = True) -> tuple[Path, ...]:
    """Paths of the (images, labels) files of one split, downloading them if allowed.

    With ``search=False`` and a ``root``, only ``root`` is looked in: a missing or
    incomplete root is an error, never a fallback to another copy of the data.
    Raises DatasetNotFoundError listing every place looked (and every failed
    download) when the files cannot be had.
    """
    wanted = spec.split(train)
    if root is not None and not search:
        directory = Path(root)
        paths = [_find(directory, item) for item in wanted]
        if all(paths):
            return tuple(paths)
        raise DatasetNotFoundError(
            f"{spec.title} {'training' if train else 'test'} files not found in the data root {directory} "
            f"({_what_is_missing(directory, wanted, paths)}); no other place was searched"
        )
    report = []
    for label, directory in places(spec, root):
        paths = [_find(directory, item) for item in wanted]
        if all(paths):
            return tuple(paths)
        report.append(f"  {label}: {directory} ({_what_is_missing(directory, wanted, paths)})")
    if not spec.system_dirs:
        report.append(f"  system package: none is known to provide {spec.title}")
    split = "training" if train else "test"
    if not download_missing:
        raise DatasetNotFoundError(
            f"{spec.title} {split} files not found. Looked in:\n" + "\n".join(report)
            + "\nDownloading is off (download=False): pass download=True, or put the files in one of these places."
        )
    try:
        return _download_into_cache(spec, wanted)
    except DownloadError as exc:
        raise DatasetNotFoundError(
            f"{spec.title} {split} files not found. Looked in:\n" + "\n".join(report)
            + f"\nand the download into {cache_dir(spec)} failed:\n{exc}"
        ) from exc


def _find(directory: Path, item: IdxFile) -> Path | None:
    for candidate in (directory / f"{item.name}.gz", directory / item.name):
        if candidate.is_file():
            return candidate
    return None


def _what_is_missing(directory: Path, wanted, paths) -> str:
    if not directory.is_dir():
        return "no such directory"
    missing = [item.name for item, path in zip(wanted, paths) if path is None]
    return "missing " + " and ".join(f"{name}[.gz]" for name in missing)


def _download_into_cache(spec: DatasetSpec, wanted) -> tuple[Path, ...]:
    directory = cache_dir(spec)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in wanted:
        path = _find(directory, item) or _download_from_mirrors(spec, item, directory / f"{item.name}.gz")
        paths.append(path)
    return tuple(paths)


def _download_from_mirrors(spec: DatasetSpec, item: IdxFile, destination: Path) -> Path:
    failures = []
    for base in spec.mirrors:
        try:
            return download(base + f"{item.name}.gz", destination, item.sha256, size=item.size)
        except DownloadError as exc:
            failures.append(f"  {exc}")
    raise DownloadError("\n".join(failures) if failures else f"  no mirror is known for {spec.title}")
