"""Data: the IDX reader, MNIST and Fashion-MNIST, the classic MNIST pickle, text corpora, and DataLoader.

    from chainrule import data
    train = data.FashionMNIST(train=True)
    loader = data.DataLoader(train, batch_size=128, shuffle=True, seed=0)
    for x, y in loader:     # x: float32 Tensor (128, 28, 28) in [0, 1]; y: int64 Tensor (128,)
        ...
"""
from ..errors import DataFormatError
from .atomic import atomic_write
from .catalog import DatasetSpec, IdxFile
from .datasets import MNIST, FashionMNIST
from .download import DownloadError, download
from .idx import read_idx, write_idx
from .loader import DataLoader, TensorDataset
from .locate import DatasetNotFoundError, cache_dir
from .mnist_pickle import load_mnist_pickle
from .sampler import DistributedSampler
from .text import CharDataset, CharVocabulary, fortunes_text, read_text, split_text, words_text
from .transforms import (
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    MNIST_MEAN,
    MNIST_STD,
    Compose,
    Flatten,
    Normalize,
    ToFloat,
)

__all__ = [
    "DataFormatError", "DataLoader", "DatasetNotFoundError", "DatasetSpec", "DistributedSampler", "DownloadError",
    "CharDataset", "CharVocabulary", "FashionMNIST", "IdxFile", "MNIST", "TensorDataset", "atomic_write", "cache_dir", "download",
    "fortunes_text", "load_mnist_pickle", "read_idx", "read_text", "split_text", "words_text", "write_idx",
    "Compose", "Flatten", "Normalize", "ToFloat",
    "FASHION_MNIST_MEAN", "FASHION_MNIST_STD", "MNIST_MEAN", "MNIST_STD",
]
