"""Tiny MNIST-format datasets and IDX files that the data tests write themselves."""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy

from chainrule import data


def images(count: int, offset: int = 0) -> numpy.ndarray:
    """``count`` distinct uint8 28×28 images; ``offset`` makes another set."""
    values = numpy.arange(count * 28 * 28, dtype=numpy.int64) + 7 * offset
    return (values % 251).astype(numpy.uint8).reshape(count, 28, 28)


def labels(count: int, offset: int = 0) -> numpy.ndarray:
    return ((numpy.arange(count) + offset) % 10).astype(numpy.uint8)


def write_split(directory: Path, spec: data.DatasetSpec, train: bool, count: int, offset: int = 0,
                gzip: bool = True) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Write the two IDX files of one split into ``directory``; return (images, labels)."""
    directory.mkdir(parents=True, exist_ok=True)
    image_file, label_file = spec.split(train)
    suffix = ".gz" if gzip else ""
    x, y = images(count, offset), labels(count, offset)
    data.write_idx(directory / f"{image_file.name}{suffix}", x, gzip=gzip)
    data.write_idx(directory / f"{label_file.name}{suffix}", y, gzip=gzip)
    return x, y


def gz_bytes(tmp_path: Path, array: numpy.ndarray, name: str) -> bytes:
    """The bytes of ``array`` as a gzipped IDX file (written to ``tmp_path/name``)."""
    path = tmp_path / name
    data.write_idx(path, array, gzip=True)
    return path.read_bytes()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def tiny_spec(system_dir: Path, mirrors: tuple[str, ...] = (), checksums: dict | None = None) -> data.DatasetSpec:
    """MNIST's spec with test mirrors, test checksums (by file name) and a test system dir."""
    checksums = checksums or {}

    def with_sum(item: data.IdxFile) -> data.IdxFile:
        return dataclasses.replace(item, sha256=checksums.get(item.name, item.sha256))

    spec = data.MNIST.spec
    return dataclasses.replace(
        spec,
        name="tiny-mnist",
        mirrors=mirrors,
        train=tuple(map(with_sum, spec.train)),
        test=tuple(map(with_sum, spec.test)),
        system_dirs=(str(system_dir),),
    )


def dataset_class(spec: data.DatasetSpec) -> type:
    """A subclass of data.MNIST that uses ``spec``."""
    return type("TinyMNIST", (data.MNIST,), {"spec": spec})
