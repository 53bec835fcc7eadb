"""MNIST / FashionMNIST: where the files are looked for, in which order, and what is refused."""
import numpy
import pytest

import idx_files
from chainrule import data


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Empty stand-ins for every place a dataset is looked for, wired into the environment."""
    dirs = {name: tmp_path / name for name in ("root", "data_home", "cache", "system", "home")}
    monkeypatch.setenv("CHAINRULE_DATA", str(dirs["data_home"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(dirs["cache"]))
    monkeypatch.setenv("HOME", str(dirs["home"]))
    spec = idx_files.tiny_spec(dirs["system"])
    dirs["env"] = dirs["data_home"] / spec.name
    dirs["user_cache"] = dirs["cache"] / "chainrule" / spec.name
    return dirs, idx_files.dataset_class(spec)


def test_loads_arrays_with_the_promised_types(places):
    dirs, Tiny = places
    x, y = idx_files.write_split(dirs["root"], Tiny.spec, train=True, count=5)
    ds = Tiny(root=dirs["root"], download=False)
    assert ds.images.dtype == numpy.uint8 and ds.images.shape == (5, 28, 28)
    assert ds.labels.dtype == numpy.int64 and ds.labels.tolist() == [0, 1, 2, 3, 4]
    numpy.testing.assert_array_equal(ds.images, x)
    assert len(ds) == 5
    image, label = ds[-1]
    numpy.testing.assert_array_equal(image, x[4])
    assert label == 4 and isinstance(label, int)
    assert ds.files == (dirs["root"] / "train-images-idx3-ubyte.gz", dirs["root"] / "train-labels-idx1-ubyte.gz")


def test_the_test_split_uses_the_t10k_files(places):
    dirs, Tiny = places
    idx_files.write_split(dirs["root"], Tiny.spec, train=False, count=3)
    ds = Tiny(root=dirs["root"], train=False, download=False)
    assert len(ds) == 3 and ds.files[0].name == "t10k-images-idx3-ubyte.gz"
    with pytest.raises(data.DatasetNotFoundError, match="training files not found"):
        Tiny(root=dirs["root"], train=True, download=False)


def test_uncompressed_files_are_found_too(places):
    dirs, Tiny = places
    idx_files.write_split(dirs["root"], Tiny.spec, train=True, count=2, gzip=False)
    ds = Tiny(root=dirs["root"], download=False)
    assert ds.files[0].name == "train-images-idx3-ubyte" and len(ds) == 2


def test_each_place_is_used_in_order_root_env_cache_system(places):
    dirs, Tiny = places
    order = ["root", "env", "user_cache", "system"]
    for offset, place in enumerate(order):
        idx_files.write_split(dirs[place], Tiny.spec, train=True, count=4 + offset, offset=offset)
    for offset, place in enumerate(order):
        ds = Tiny(root=dirs["root"], download=False)
        assert ds.files[0].parent == dirs[place]
        assert len(ds) == 4 + offset
        numpy.testing.assert_array_equal(ds.images, idx_files.images(4 + offset, offset))
        for path in ds.files:
            path.unlink()


def test_without_root_the_environment_variable_comes_first(places):
    dirs, Tiny = places
    idx_files.write_split(dirs["env"], Tiny.spec, train=True, count=2)
    idx_files.write_split(dirs["system"], Tiny.spec, train=True, count=3)
    assert Tiny(download=False).files[0].parent == dirs["env"]


def test_cache_defaults_to_dot_cache_under_home(places, monkeypatch):
    dirs, Tiny = places
    monkeypatch.delenv("XDG_CACHE_HOME")
    home_cache = dirs["home"] / ".cache" / "chainrule" / Tiny.spec.name
    assert data.cache_dir(Tiny.spec) == home_cache
    idx_files.write_split(home_cache, Tiny.spec, train=True, count=2)
    assert Tiny(download=False).files[0].parent == home_cache


def test_relative_xdg_cache_home_is_ignored_as_the_spec_says(places, monkeypatch):
    dirs, Tiny = places
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert data.cache_dir(Tiny.spec) == dirs["home"] / ".cache" / "chainrule" / Tiny.spec.name


def test_a_place_with_only_one_of_the_two_files_is_skipped(places):
    dirs, Tiny = places
    idx_files.write_split(dirs["root"], Tiny.spec, train=True, count=2)
    (dirs["root"] / "train-labels-idx1-ubyte.gz").unlink()
    idx_files.write_split(dirs["system"], Tiny.spec, train=True, count=3)
    assert Tiny(root=dirs["root"], download=False).files[0].parent == dirs["system"]


def test_nothing_found_lists_every_place_looked(places):
    dirs, Tiny = places
    dirs["root"].mkdir()
    (dirs["root"] / "train-images-idx3-ubyte.gz").write_bytes(b"")
    with pytest.raises(data.DatasetNotFoundError) as info:
        Tiny(root=dirs["root"], download=False)
    message = str(info.value)
    assert f"root argument: {dirs['root']} (missing train-labels-idx1-ubyte[.gz])" in message
    assert f"$CHAINRULE_DATA: {dirs['env']} (no such directory)" in message
    assert f"user cache: {dirs['user_cache']} (no such directory)" in message
    assert f"system package: {dirs['system']} (no such directory)" in message
    assert "download=False" in message
    assert isinstance(info.value, FileNotFoundError)


def test_real_mnist_spec_says_no_system_package_provides_it(places):
    with pytest.raises(data.DatasetNotFoundError, match="system package: none is known to provide MNIST"):
        data.MNIST(download=False)


def test_images_and_labels_counts_must_match(places):
    dirs, Tiny = places
    idx_files.write_split(dirs["root"], Tiny.spec, train=True, count=3)
    data.write_idx(dirs["root"] / "train-labels-idx1-ubyte.gz", idx_files.labels(4), gzip=True)
    with pytest.raises(data.DataFormatError, match="holds 3 images but .* holds 4 labels") as info:
        Tiny(root=dirs["root"], download=False)
    assert str(dirs["root"] / "train-images-idx3-ubyte.gz") in str(info.value)


@pytest.mark.parametrize(
    "file, array, phrase",
    [
        ("train-images-idx3-ubyte.gz", numpy.zeros((2, 28, 27), numpy.uint8), "expected uint8 images of shape (N, 28, 28)"),
        ("train-images-idx3-ubyte.gz", numpy.zeros((2, 28, 28), numpy.float32), "found float32"),
        ("train-labels-idx1-ubyte.gz", numpy.zeros((2, 1), numpy.uint8), "expected uint8 labels of shape (N,)"),
        ("train-labels-idx1-ubyte.gz", numpy.array([3, 10], numpy.uint8), "expected labels in 0..9, found 10"),
    ],
)
def test_files_of_the_wrong_kind_are_refused(places, file, array, phrase):
    dirs, Tiny = places
    idx_files.write_split(dirs["root"], Tiny.spec, train=True, count=2)
    data.write_idx(dirs["root"] / file, array, gzip=True)
    with pytest.raises(data.DataFormatError) as info:
        Tiny(root=dirs["root"], download=False)
    assert phrase in str(info.value) and str(dirs["root"] / file) in str(info.value)


def test_getitem_applies_the_transform_to_one_sample(places):
    dirs, Tiny = places
    x, _ = idx_files.write_split(dirs["root"], Tiny.spec, train=True, count=3)
    ds = Tiny(root=dirs["root"], download=False, transform=data.Compose([data.ToFloat(), data.Flatten()]))
    image, label = ds[1]
    assert image.shape == (784,) and image.dtype == numpy.float32
    numpy.testing.assert_array_equal(image, x[1].reshape(-1) / numpy.float32(255))
    assert label == 1
    with pytest.raises(IndexError, match="index 3 is out of range for 3 samples"):
        ds[3]
    with pytest.raises(IndexError):
        ds[-4]


def test_class_names():
    assert data.FashionMNIST.spec.classes == (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    )
    assert data.MNIST.spec.classes == tuple("0123456789")


def test_official_sources_are_https_and_pinned():
    for spec in (data.MNIST.spec, data.FashionMNIST.spec):
        assert spec.mirrors and all(url.startswith("https://") and url.endswith("/") for url in spec.mirrors)
        for item in spec.train + spec.test:
            assert len(item.sha256) == 64 and int(item.sha256, 16) >= 0
    assert data.FashionMNIST.spec.system_dirs == ("/usr/share/datasets/fashion-mnist",)
    assert data.FashionMNIST.spec.name == "fashion-mnist" and data.MNIST.spec.name == "mnist"
