"""Downloads, against a local HTTP server serving files the tests write: success, bad
checksum, refused connection, 404, a connection cut short, and mirror fallback.
None may leave a partial or unverified file behind."""
import numpy
import pytest

import idx_files
import local_http
from chainrule import data

TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")


@pytest.fixture
def served(tmp_path, monkeypatch):
    """The training split of a tiny dataset as gzipped bytes, and an isolated environment."""
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "source"
    source.mkdir()
    x, y = idx_files.images(6), idx_files.labels(6)
    content = {
        TRAIN[0]: idx_files.gz_bytes(source, x, "images.gz"),
        TRAIN[1]: idx_files.gz_bytes(source, y, "labels.gz"),
    }
    return tmp_path, content, (x, y)


def make_class(tmp_path, mirrors, content, **overrides):
    checksums = {name: idx_files.sha256(body) for name, body in content.items()}
    checksums.update(overrides)
    spec = idx_files.tiny_spec(tmp_path / "system", mirrors=mirrors, checksums=checksums)
    return idx_files.dataset_class(spec), data.cache_dir(spec)


def files_at(content: dict) -> dict:
    """URL path -> body, as the mirrors lay the files out."""
    return {f"/{name}.gz": body for name, body in content.items()}


def test_download_fills_the_cache_and_the_cache_is_used_next_time(served):
    tmp_path, content, (x, y) = served
    with local_http.serving(files_at(content)) as (base, requests):
        Tiny, cache = make_class(tmp_path, (base,), content)
        ds = Tiny()
    assert sorted(requests) == [f"/{name}.gz" for name in TRAIN]
    numpy.testing.assert_array_equal(ds.images, x)
    assert ds.labels.tolist() == y.tolist()
    assert sorted(p.name for p in cache.iterdir()) == [f"{name}.gz" for name in TRAIN]
    assert (cache / f"{TRAIN[0]}.gz").read_bytes() == content[TRAIN[0]]
    again = Tiny(download=False)
    assert again.files[0].parent == cache


def test_only_the_missing_file_is_downloaded(served):
    tmp_path, content, _ = served
    with local_http.serving(files_at(content)) as (base, requests):
        Tiny, cache = make_class(tmp_path, (base,), content)
        cache.mkdir(parents=True)
        (cache / f"{TRAIN[1]}.gz").write_bytes(content[TRAIN[1]])
        Tiny()
    assert requests == [f"/{TRAIN[0]}.gz"]


def test_checksum_mismatch_names_url_and_both_sums_and_keeps_nothing(served):
    tmp_path, content, _ = served
    wrong = "0" * 64
    with local_http.serving(files_at(content)) as (base, _):
        Tiny, cache = make_class(tmp_path, (base,), content, **{TRAIN[0]: wrong})
        with pytest.raises(data.DatasetNotFoundError) as info:
            Tiny()
    message = str(info.value)
    assert f"{base}{TRAIN[0]}.gz: SHA-256 mismatch" in message
    assert f"expected {wrong}, got {idx_files.sha256(content[TRAIN[0]])}" in message
    assert f"user cache: {cache} (no such directory)" in message
    assert list(cache.iterdir()) == []


def test_http_404_is_reported_and_keeps_nothing(served):
    tmp_path, content, _ = served
    with local_http.serving({}) as (base, _):
        Tiny, cache = make_class(tmp_path, (base,), content)
        with pytest.raises(data.DatasetNotFoundError, match=f"{base}{TRAIN[0]}.gz: HTTP 404"):
            Tiny()
    assert list(cache.iterdir()) == []


def test_connection_refused_is_reported_and_keeps_nothing(served):
    tmp_path, content, _ = served
    base = local_http.refused_url()
    Tiny, cache = make_class(tmp_path, (base,), content)
    with pytest.raises(data.DatasetNotFoundError, match=f"{base}{TRAIN[0]}.gz: cannot connect") as info:
        Tiny()
    assert "refused" in str(info.value).lower()
    assert isinstance(info.value.__cause__, data.DownloadError)
    assert list(cache.iterdir()) == []


def test_a_connection_cut_short_is_reported_and_keeps_nothing(served):
    tmp_path, content, _ = served
    with local_http.serving(files_at(content), cut_short={f"/{TRAIN[0]}.gz"}) as (base, _):
        Tiny, cache = make_class(tmp_path, (base,), content)
        with pytest.raises(data.DatasetNotFoundError, match=f"{base}{TRAIN[0]}.gz: connection broken during the download"):
            Tiny()
    assert list(cache.iterdir()) == []


def test_the_next_mirror_is_tried_when_one_fails(served):
    tmp_path, content, (x, _) = served
    with local_http.serving({}) as (empty, _), local_http.serving(files_at(content)) as (full, _):
        Tiny, _cache = make_class(tmp_path, (empty, full), content)
        numpy.testing.assert_array_equal(Tiny().images, x)


def test_every_mirror_failure_is_listed(served):
    tmp_path, content, _ = served
    refused = local_http.refused_url()
    with local_http.serving({}) as (empty, _):
        Tiny, _cache = make_class(tmp_path, (empty, refused), content)
        with pytest.raises(data.DatasetNotFoundError) as info:
            Tiny()
    message = str(info.value)
    assert f"{empty}{TRAIN[0]}.gz: HTTP 404" in message and f"{refused}{TRAIN[0]}.gz: cannot connect" in message


def test_a_failed_download_does_not_touch_an_existing_file(tmp_path):
    destination = tmp_path / "kept.gz"
    destination.write_bytes(b"the old, good file")
    with local_http.serving({"/f": b"new bytes"}) as (base, _):
        with pytest.raises(data.DownloadError, match="SHA-256 mismatch"):
            data.download(base + "f", destination, "f" * 64)
        assert destination.read_bytes() == b"the old, good file"
        data.download(base + "f", destination, idx_files.sha256(b"new bytes"))
    assert destination.read_bytes() == b"new bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.gz"]


# -- a download takes no more bytes and no more time than it should ------------------------------
@pytest.mark.parametrize("announced", [True, False])
def test_a_download_stops_at_the_expected_size(tmp_path, announced):
    body = bytes(range(256)) * 4096  # 1 MiB where 4,096 bytes are expected
    destination = tmp_path / "capped.gz"
    unannounced = set() if announced else {"/big"}
    with local_http.serving({"/big": body}, unannounced=unannounced) as (base, _):
        with pytest.raises(data.DownloadError) as info:
            data.download(base + "big", destination, idx_files.sha256(body[:4096]), size=4096)
    expected = "announces 1048576 bytes, expected 4096" if announced else "received more than the expected 4096 bytes"
    assert expected in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_the_timeout_is_a_deadline_for_the_whole_download(tmp_path):
    import time

    body = b"x" * 400  # 20 s at one byte per 0.05 s
    destination = tmp_path / "slow.gz"
    with local_http.serving({"/slow": body}, trickled={"/slow"}) as (base, _):
        started = time.monotonic()
        with pytest.raises(data.DownloadError, match="did not finish in time"):
            data.download(base + "slow", destination, idx_files.sha256(body), timeout=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 3.0, f"a 1 s deadline took {elapsed:.1f} s"
    assert list(tmp_path.iterdir()) == []


def test_every_catalogued_file_has_its_served_size():
    for spec in (data.MNIST.spec, data.FashionMNIST.spec):
        for item in spec.train + spec.test:
            assert item.size > 0
    assert data.FashionMNIST.spec.test[0].size == 4422102
