"""atomic_write: the destination holds the old bytes or all the new ones, never a part."""
import pytest

from chainrule import data


def test_replaces_the_file_when_the_block_succeeds(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with data.atomic_write(path) as handle:
        handle.write(b"new bytes")
        assert path.read_bytes() == b"old"
    assert path.read_bytes() == b"new bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_a_failing_block_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with data.atomic_write(path) as handle:
            handle.write(b"half")
            raise RuntimeError("disk on fire")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_a_failing_block_creates_nothing_when_there_was_no_file(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with data.atomic_write(tmp_path / "new.bin") as handle:
            handle.write(b"half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
