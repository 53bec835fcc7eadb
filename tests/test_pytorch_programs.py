"""A dozen small PyTorch programs (tests/pytorch_programs/) run twice, with PyTorch and with their
imports changed to chainrule's, from the same data and starting weights: the figures each leaves in
``result`` (losses after training, accuracies, learning rates) must agree."""
import pathlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")

PROGRAMS = sorted((pathlib.Path(__file__).parent / "pytorch_programs").glob("p*.py"))
CHAINRULE_IMPORTS = {
    "import torch\n": "import chainrule as torch\n",
    "from torch import nn, optim\n": "from chainrule import nn, optim\n",
    "import torch.nn.functional as F\n": "import chainrule.nn.functional as F\n",
    "from torch.utils.data import DataLoader, TensorDataset\n": "from chainrule.data import DataLoader, TensorDataset\n",
}


def _data() -> dict:
    rng = np.random.default_rng(2026)
    return {
        "x": rng.standard_normal((24, 3)).astype(np.float32),
        "y": rng.standard_normal((24, 1)).astype(np.float32),
        "labels": rng.integers(0, 4, 24),
        "images": rng.standard_normal((8, 1, 8, 8)).astype(np.float32),
        "tokens": rng.integers(0, 20, (6, 5)),
        "signals": rng.standard_normal((6, 2, 12)).astype(np.float32),
        "alpha": rng.uniform(0, 1, (24, 1)).astype(np.float32),
    }


def _init_state(tensor):
    """The same starting weights in both libraries: a seeded draw per state entry, by name."""
    def init_state(model):
        state = {}
        for index, (name, value) in enumerate(model.state_dict().items()):
            array = np.asarray(value)
            if array.dtype.kind != "f":
                state[name] = tensor(array.copy())
                continue
            draw = np.random.default_rng(index).standard_normal(array.shape).astype(array.dtype) * 0.4
            state[name] = tensor(np.abs(draw) + 0.5 if name.endswith("running_var") else draw)
        return state
    return init_state


def _run(source: str, library, tmp_path) -> dict:
    namespace = {"data": _data(), "init_state": _init_state(library.from_numpy),
                 "path": lambda name: str(tmp_path / f"{library.__name__}-{name}.npz")}
    exec(compile(source, "program", "exec"), namespace)
    return namespace["result"]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda path: path.stem)
def test_the_program_runs_with_its_imports_changed_and_agrees_with_torch(program, tmp_path):
    import chainrule

    source = program.read_text(encoding="utf-8")
    ported = source
    for theirs, ours in CHAINRULE_IMPORTS.items():
        ported = ported.replace(theirs, ours)
    assert "torch" not in ported.replace("import chainrule as torch", "").replace("torch.", "").replace("torch\n", "")
    expected = _run(source, torch, tmp_path)
    got = _run(ported, chainrule, tmp_path)
    assert set(got) == set(expected)
    for name in expected:
        assert got[name] == pytest.approx(expected[name], rel=2e-4, abs=2e-5), f"{program.stem}: {name}"


def test_there_are_a_dozen_programs():
    assert len(PROGRAMS) == 12
