"""Determinism: the same seed gives bit-identical weights after training, run to run.

Each run is a fresh process (so nothing is shared but the seed and the files) with
a fixed thread count and a different hash seed. It reads a small MNIST-format
dataset written by the test as IDX files, shuffles it, uses dropout and SGD with
momentum through ``chainrule.train.fit``, and saves its final weights. Oracle: the
two runs' arrays are equal byte for byte; a run with another seed differs (so the
weights do depend on the seed, and the comparison can fail).
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np

from chainrule import data

THREADS = "2"

TRAIN = textwrap.dedent("""
    import sys
    import numpy as np
    import chainrule as cr
    from chainrule import data, nn, optim
    from chainrule.train import fit

    root, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cr.manual_seed(seed)
    dataset = data.MNIST(root=root, train=True, download=False)
    transform = data.Compose([data.ToFloat(), data.Normalize(0.5, 0.25), data.Flatten()])
    loader = data.DataLoader(dataset, batch_size=16, shuffle=True, seed=seed, transform=transform)
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10))
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    fit(model, optimizer, loader, epochs=2, progress=False, log=lambda line: None)
    np.savez(out, **model.state_dict())
""")


def write_dataset(root) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (200, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 200).astype(np.uint8)
    image_file, label_file = data.MNIST.spec.split(True)
    data.write_idx(root / f"{image_file.name}.gz", images, gzip=True)
    data.write_idx(root / f"{label_file.name}.gz", labels, gzip=True)


def train_in_fresh_processes(root, tmp_path, runs: list[tuple[str, int, str]]) -> dict:
    """Start one process per (name, seed, hash seed) at once; return each run's weights."""
    processes = {}
    for name, seed, hash_seed in runs:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "OMP_NUM_THREADS": THREADS,
               "OPENBLAS_NUM_THREADS": THREADS, "MKL_NUM_THREADS": THREADS}
        command = [sys.executable, "-c", TRAIN, str(root), str(tmp_path / f"{name}.npz"), str(seed)]
        processes[name] = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    weights = {}
    for name, process in processes.items():
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output.decode()
        with np.load(tmp_path / f"{name}.npz") as saved:
            weights[name] = {key: saved[key] for key in saved.files}
    return weights


def test_same_seed_gives_bit_identical_weights_run_to_run(tmp_path):
    root = tmp_path / "mnist"
    root.mkdir()
    write_dataset(root)
    weights = train_in_fresh_processes(root, tmp_path, [("first", 7, "1"), ("second", 7, "2"), ("other", 8, "1")])
    first, second, other = weights["first"], weights["second"], weights["other"]
    assert list(first) == list(second) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    for key in first:
        assert first[key].dtype == second[key].dtype == np.float32
        assert first[key].tobytes() == second[key].tobytes(), f"{key} differs between two runs with seed 7"
    assert any(first[key].tobytes() != other[key].tobytes() for key in first), "seed 8 trained the same weights"
