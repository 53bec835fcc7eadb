"""Checkpoints that are truncated, corrupt, unsafe, or made for another model.

Oracle: the error type (``cr.CheckpointError``), the file's name in its message,
and the exact differences listed (names, shapes, dtypes); for unsafe files, that a
command hidden in a pickle never runs (a marker file it would create stays absent).
"""
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import load_checkpoint, save_checkpoint


def small_model():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))


@pytest.fixture
def checkpoint(tmp_path):
    model = small_model()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(cr.randn(6, 4)).sum().backward()
    optimizer.step()
    path = tmp_path / "model.npz"
    save_checkpoint(path, model.state_dict(), optim.flatten_state(optimizer.state_dict()), {"epoch": 3})
    return path


def test_round_trip(checkpoint):
    model_state, optim_state, meta = load_checkpoint(checkpoint)
    fresh = small_model()
    fresh.load_state_dict(model_state)
    assert meta == {"epoch": 3}
    assert optim_state and all(isinstance(v, np.ndarray) for v in optim_state.values())


# -- loading into a model validates names, shapes and dtypes -----------------------------
def test_a_different_architecture_lists_every_difference_and_changes_nothing(checkpoint):
    model_state, _, _ = load_checkpoint(checkpoint)
    other = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Linear(5, 2), nn.Linear(2, 2))
    before = {k: v.copy() for k, v in other.state_dict().items()}
    with pytest.raises(cr.CheckpointError) as info:
        other.load_state_dict(model_state)
    message = str(info.value)
    assert "missing keys: 3.weight, 3.bias" in message
    assert "shape mismatches: 0.weight: model (5, 4), state_dict (3, 4)" in message
    for name in ("0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "2.weight"):
        assert f"{name}: model" in message
    for name, value in other.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=f"{name} changed although loading failed")


def test_unexpected_keys_are_named(checkpoint):
    model_state, _, _ = load_checkpoint(checkpoint)
    model_state["4.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(cr.CheckpointError, match=r"unexpected keys: 4\.weight"):
        small_model().load_state_dict(model_state)


def test_another_floating_dtype_is_cast_as_pytorch_and_another_kind_is_named(checkpoint):
    model_state, _, _ = load_checkpoint(checkpoint)
    model = small_model().to(np.float64)
    model.load_state_dict(model_state)  # float32 into float64: cast, as torch's load_state_dict does
    assert model.state_dict()["0.weight"].dtype == np.float64
    np.testing.assert_array_equal(model.state_dict()["0.weight"], model_state["0.weight"].astype(np.float64))
    model_state["0.weight"] = model_state["0.weight"].astype(np.int32)
    with pytest.raises(cr.CheckpointError, match=r"dtype mismatches: 0\.weight: model float64, state_dict int32"):
        model.load_state_dict(model_state)


def test_a_renamed_entry_shows_as_missing_and_unexpected(checkpoint):
    model_state, _, _ = load_checkpoint(checkpoint)
    model_state["0.W"] = model_state.pop("0.weight")
    with pytest.raises(cr.CheckpointError) as info:
        small_model().load_state_dict(model_state)
    assert "missing keys: 0.weight" in str(info.value) and "unexpected keys: 0.W" in str(info.value)


# -- damaged files -------------------------------------------------------------------------
def test_every_truncation_is_refused_naming_the_file(checkpoint, tmp_path):
    content = checkpoint.read_bytes()
    damaged = tmp_path / "truncated.npz"
    for size in range(0, len(content), max(len(content) // 97, 1)):
        damaged.write_bytes(content[:size])
        with pytest.raises(cr.CheckpointError, match=rf"^{damaged}: "):
            load_checkpoint(damaged)


def test_flipped_bytes_are_refused_naming_the_file(checkpoint, tmp_path):
    content = checkpoint.read_bytes()
    damaged = tmp_path / "corrupt.npz"
    rng = np.random.default_rng(0)
    for at in rng.choice(len(content), 40, replace=False):
        changed = bytearray(content)
        changed[at] ^= 0xFF
        damaged.write_bytes(bytes(changed))
        try:
            load_checkpoint(damaged)  # a flip in a zip comment or padding is harmless
        except cr.CheckpointError as error:
            assert str(error).startswith(f"{damaged}: ")


@pytest.mark.parametrize("content, message", [
    (b"", "truncated or corrupt checkpoint"),
    (b"not a checkpoint at all", r"truncated or corrupt checkpoint \(not an \.npz archive: it starts with b'not a '\)"),
    (b"PK\x03\x04" + b"\x00" * 40, "truncated or corrupt checkpoint"),
])
def test_garbage_is_refused(tmp_path, content, message):
    path = tmp_path / "garbage.npz"
    path.write_bytes(content)
    with pytest.raises(cr.CheckpointError, match=rf"{path}: .*{message}"):
        load_checkpoint(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(cr.CheckpointError, match=rf"{tmp_path / 'nope.npz'}: no such checkpoint file"):
        load_checkpoint(tmp_path / "nope.npz")


def test_a_lone_npy_array_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.npy"
    np.save(path, np.ones(3))
    with pytest.raises(cr.CheckpointError, match=rf"{path}: not a checkpoint: a single \.npy array"):
        load_checkpoint(path)


def test_an_archive_without_metadata_is_not_a_chainrule_checkpoint(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, **{"model/w": np.ones(2)})
    with pytest.raises(cr.CheckpointError, match=rf"{path}: not a chainrule checkpoint \(no meta\.json entry\)"):
        load_checkpoint(path)


def test_metadata_must_be_a_json_object(tmp_path):
    path = tmp_path / "list-meta.npz"
    np.savez(path, **{"meta.json": np.array("[1, 2]")})
    with pytest.raises(cr.CheckpointError, match=rf"{path}: meta\.json holds a JSON list, expected a JSON object"):
        load_checkpoint(path)


def test_unknown_entries_are_refused(tmp_path):
    path = tmp_path / "extra.npz"
    np.savez(path, **{"meta.json": np.array("{}"), "secret": np.ones(2)})
    with pytest.raises(cr.CheckpointError, match=rf"{path}: unexpected entry 'secret'"):
        load_checkpoint(path)


def test_a_member_that_is_not_an_array_is_refused(tmp_path):
    path = tmp_path / "raw-member.npz"
    meta = io.BytesIO()
    np.save(meta, np.array("{}"))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("meta.json.npy", meta.getvalue())
        archive.writestr("model/w", b"raw bytes, not .npy")
    with pytest.raises(cr.CheckpointError, match=rf"{path}: entry 'model/w' is not a \.npy array"):
        load_checkpoint(path)


def test_a_header_claiming_an_absurd_shape_is_corrupt_not_a_memory_error(tmp_path):
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }"
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\x00" * 64
    meta = io.BytesIO()
    np.save(meta, np.array("{}"))
    path = tmp_path / "absurd.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("meta.json.npy", meta.getvalue())
        archive.writestr("model/w.npy", member)
    with pytest.raises(cr.CheckpointError, match=rf"{path}: truncated or corrupt checkpoint"):
        load_checkpoint(path)


# -- pickles never run ---------------------------------------------------------------------
class RunsACommand:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_the_marker_command_really_runs_when_unpickled(tmp_path):
    """Proves the payload of the next tests is live: plain pickle.loads runs it."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(RunsACommand(marker)))
    assert marker.exists()


@pytest.mark.parametrize("protocol, message", [
    (pickle.HIGHEST_PROTOCOL, "refused to load, it is a pickle"),
    (2, "refused to load, it is a pickle"),
    (0, r"not an \.npz archive"),  # protocol 0 has no marker byte; it is still never unpickled
])
def test_a_pickle_file_is_refused_and_its_command_never_runs(tmp_path, protocol, message):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps({"model/w": RunsACommand(marker)}, protocol=protocol))
    with pytest.raises(cr.CheckpointError, match=rf"{path}: .*{message}"):
        load_checkpoint(path)
    assert not marker.exists()


def test_an_object_array_inside_the_archive_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil-member.npz"
    np.savez(path, **{"meta.json": np.array("{}"), "model/w": np.array([RunsACommand(marker)], dtype=object)})
    with pytest.raises(cr.CheckpointError, match=rf"{path}: refused to load, it contains pickled objects"):
        load_checkpoint(path)
    assert not marker.exists()


def test_saving_an_object_array_is_refused_before_writing(tmp_path):
    path = tmp_path / "never.npz"
    with pytest.raises(cr.CheckpointError, match=r"entry 'model/w' is an object array, which would need a pickle"):
        save_checkpoint(path, {"w": np.array([None, 1], dtype=object)})
    assert not path.exists()


# -- atomic writes --------------------------------------------------------------------------
def test_a_failure_while_writing_keeps_the_previous_checkpoint(checkpoint, monkeypatch):
    before = checkpoint.read_bytes()

    def write_half_then_fail(handle, **arrays):
        handle.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", write_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(checkpoint, {"w": np.ones(2)}, meta={"epoch": 4})
    monkeypatch.undo()
    assert checkpoint.read_bytes() == before
    assert load_checkpoint(checkpoint)[2] == {"epoch": 3}
    assert sorted(p.name for p in checkpoint.parent.iterdir()) == ["model.npz"]


# -- sizes and names are checked in the zip's directory before any array is built ------------------
def _member(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_duplicate_member_names_are_refused(tmp_path):
    path = tmp_path / "twice.npz"
    with zipfile.ZipFile(path, "w") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("meta.json.npy", _member(np.array("{}")))
        archive.writestr("model/w.npy", _member(np.zeros(3)))
        archive.writestr("model/w.npy", _member(np.ones(3)))
    with pytest.raises(cr.CheckpointError, match=rf"{path}: the entry 'model/w' appears twice"):
        load_checkpoint(path)


def test_a_member_that_decompresses_far_beyond_its_size_is_refused_before_allocating(tmp_path):
    import tracemalloc

    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.json.npy", _member(np.array("{}")))
        archive.writestr("model/w.npy", _member(np.zeros(50_000_000, np.float32)))  # 200 MB → about 200 kB
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(cr.CheckpointError, match="refused as a zip bomb"):
            load_checkpoint(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_a_compressed_checkpoint_of_ordinary_weights_still_loads(tmp_path):
    path = tmp_path / "compressed.npz"
    weights = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)
    np.savez_compressed(path, **{"meta.json": np.array("{}"), "model/w": weights})
    model_state, _, meta = load_checkpoint(path)
    np.testing.assert_array_equal(model_state["w"], weights)
