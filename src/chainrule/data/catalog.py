"""What MNIST and Fashion-MNIST are made of: file names, checksums, mirrors, classes.

Checksums are the SHA-256 of the gzipped files exactly as the mirrors serve them;
every download is verified against them before it is kept.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IdxFile:
    """One IDX file of a dataset."""

    name: str
    """File name without ``.gz``; mirrors serve ``name + ".gz"``, and a local copy
    may be either."""
    sha256: str
    """SHA-256 of ``name + ".gz"`` as served by the mirrors."""
    size: int
    """Bytes of ``name + ".gz"`` as served: a download stops as soon as it gets more."""


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find, download and check one dataset."""

    name: str
    """Directory name under ``$CHAINRULE_DATA`` and the cache, e.g. ``"fashion-mnist"``."""
    title: str
    mirrors: tuple[str, ...]
    """URL bases (ending in ``/``), tried in order."""
    train: tuple[IdxFile, IdxFile]
    """(images, labels) of the training split."""
    test: tuple[IdxFile, IdxFile]
    """(images, labels) of the test split."""
    classes: tuple[str, ...]
    system_dirs: tuple[str, ...] = ()
    """Where an operating-system package installs the files."""

    def split(self, train: bool) -> tuple[IdxFile, IdxFile]:
        return self.train if train else self.test


# SHA-256 and sizes from TensorFlow Datasets, tensorflow_datasets/url_checksums/mnist.txt
# (https://github.com/tensorflow/datasets), for the files at the first mirror. The
# second mirror (the one torchvision uses) serves the same original files (same sizes
# and MD5 as LeCun's originals); a mirror that served anything else would fail the
# check and the next one would be tried.
MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    mirrors=(
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ),
    train=(
        IdxFile("train-images-idx3-ubyte", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
        IdxFile("train-labels-idx1-ubyte", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
    ),
    test=(
        IdxFile("t10k-images-idx3-ubyte", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
        IdxFile("t10k-labels-idx1-ubyte", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
    ),
    classes=tuple(str(digit) for digit in range(10)),
)

# SHA-256 from TensorFlow Datasets, tensorflow_datasets/url_checksums/fashion_mnist.txt,
# for Zalando's official files (MD5 8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd...
# in the zalandoresearch/fashion-mnist README), which that repository also serves over
# HTTPS. Debian's dataset-fashion-mnist package recompresses them without the file name
# in the gzip header, so its .gz files hash differently while the IDX content inside
# is the same; local copies are read, not re-hashed.
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    mirrors=("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",),
    train=(
        IdxFile("train-images-idx3-ubyte", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
        IdxFile("train-labels-idx1-ubyte", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
    ),
    test=(
        IdxFile("t10k-images-idx3-ubyte", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
        IdxFile("t10k-labels-idx1-ubyte", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148),
    ),
    classes=(
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
)
