"""End to end on the real Fashion-MNIST installed by Debian's dataset-fashion-mnist
package (scripts/install-data.sh installs it). Skipped where it is missing, except
under CI, where a skip would hide that the real data was never read."""
import gzip
import hashlib
import os
from pathlib import Path

import numpy
import pytest

from chainrule import data

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

# SHA-256 of the IDX content (after gunzip) of Debian's files, computed once with
# `zcat FILE | sha256sum`. The .gz files themselves hash differently from the upstream
# mirrors' (Debian recompressed them), so the content is what is pinned here.
CONTENT_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A scratch directory, with every other source of the data switched off."""
    if not DEBIAN_DIR.is_dir():
        message = f"{DEBIAN_DIR} is missing: apt-get install dataset-fashion-mnist"
        if os.environ.get("CI"):
            pytest.fail(f"CI must read the real data, but {message}")
        pytest.skip(message)
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    return tmp_path


@pytest.mark.slow
def test_real_fashion_mnist_from_the_debian_package(scratch):
    for name, expected in CONTENT_SHA256.items():
        content = gzip.decompress((DEBIAN_DIR / f"{name}.gz").read_bytes())
        assert hashlib.sha256(content).hexdigest() == expected, name

    for train, count in ((True, 60_000), (False, 10_000)):
        ds = data.FashionMNIST(train=train, download=False)
        assert ds.files[0].parent == DEBIAN_DIR
        assert ds.images.shape == (count, 28, 28) and ds.images.dtype == numpy.uint8
        assert ds.labels.shape == (count,) and ds.labels.dtype == numpy.int64
        assert numpy.bincount(ds.labels).tolist() == [count // 10] * 10
        # What the reader returned, written back as IDX, is byte for byte the file's content.
        images_name, labels_name = (item.name for item in ds.spec.split(train))
        data.write_idx(scratch / "images.idx", ds.images)
        data.write_idx(scratch / "labels.idx", ds.labels.astype(numpy.uint8))
        assert hashlib.sha256((scratch / "images.idx").read_bytes()).hexdigest() == CONTENT_SHA256[images_name]
        assert hashlib.sha256((scratch / "labels.idx").read_bytes()).hexdigest() == CONTENT_SHA256[labels_name]
        if train:
            pixels = data.ToFloat(numpy.float64)(ds.images)
            assert pixels.mean() == pytest.approx(data.FASHION_MNIST_MEAN, abs=1e-12)
            assert pixels.std() == pytest.approx(data.FASHION_MNIST_STD, abs=1e-12)

    loader = data.DataLoader(ds, batch_size=128, shuffle=True, seed=0,
                             transform=data.Compose([data.ToFloat(), data.Flatten()]))
    xb, yb = next(iter(loader))
    assert xb.shape == (128, 784) and xb.dtype == numpy.float32 and yb.dtype == numpy.int64
    assert 0.0 <= xb.numpy().min() and xb.numpy().max() <= 1.0
