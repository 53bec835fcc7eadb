"""cr.save / cr.load: state dicts and nested containers through one .npz, no pickle.

Oracles: the object saved (a round trip gives it back, types included), and an uninterrupted
training run (a run saved and restored through cr.save continues with the same bits)."""
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import CheckpointError


def test_a_nested_object_comes_back_as_it_was(tmp_path):
    obj = {"weights": cr.tensor(np.arange(6, dtype=np.float64).reshape(2, 3), requires_grad=True),
           "mask": np.array([True, False]), 7: (1, 2.5, float("nan"), float("-inf"), None, True),
           "names": ["a", "b"], "empty": {}, "counts": np.arange(3, dtype=np.int32)}
    back = cr.load(cr.save(obj, tmp_path / "obj.npz"))
    assert set(back) == set(obj) and isinstance(back[7], tuple)
    assert isinstance(back["weights"], cr.Tensor) and back["weights"].requires_grad
    np.testing.assert_array_equal(back["weights"].numpy(), obj["weights"].numpy())
    assert back["weights"].dtype == np.float64 and back["counts"].dtype == np.int32
    assert back[7][:2] == (1, 2.5) and np.isnan(back[7][2]) and back[7][3] == -np.inf and back[7][4:] == (None, True)
    assert back["names"] == ["a", "b"] and back["empty"] == {}
    np.testing.assert_array_equal(back["mask"], [True, False])


def _run(steps, resume_at=None, path=None):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    schedule = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    data = np.random.default_rng(1)
    batches = [(cr.tensor(data.standard_normal((5, 4)).astype(np.float32)), cr.tensor(data.integers(0, 3, 5)))
               for _ in range(steps)]
    for i, (x, y) in enumerate(batches):
        if i == resume_at:
            cr.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                     "scheduler": schedule.state_dict(), "step": i}, path)
            cr.manual_seed(5)
            model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
            opt = optim.Adam(model.parameters(), lr=1e-2)
            schedule = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
            saved = cr.load(path)
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["optimizer"])
            schedule.load_state_dict(saved["scheduler"])
            assert saved["step"] == i
        loss = nn.CrossEntropyLoss()(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    return [p.data for p in model.parameters()]


def test_a_run_saved_and_restored_continues_with_the_same_bits(tmp_path):
    for got, want in zip(_run(6, resume_at=3, path=tmp_path / "run.npz"), _run(6)):
        np.testing.assert_array_equal(got, want)


def test_what_cannot_be_saved_or_loaded_is_named(tmp_path):
    with pytest.raises(TypeError, match=r"cr.save: obj\['model'\] is a Linear"):
        cr.save({"model": nn.Linear(2, 2)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match=r"obj\[0\] is an object array"):
        cr.save([np.array([{}], dtype=object)], tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(CheckpointError, match="it is a pickle"):
        cr.load(tmp_path / "pickle.npz")
    from chainrule.train import save_checkpoint

    save_checkpoint(tmp_path / "checkpoint.npz", {"w": np.zeros(2)})
    with pytest.raises(CheckpointError, match=r"checkpoint.npz: not written by cr.save"):
        cr.load(tmp_path / "checkpoint.npz")
    with pytest.raises(CheckpointError, match="no such file"):
        cr.load(tmp_path / "missing.npz")


def test_save_checkpoint_takes_an_optimizer_state_dict_as_it_is(tmp_path):
    from chainrule.train import load_checkpoint, save_checkpoint

    cr.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)
    nn.MSELoss()(model(cr.ones(4, 3)), cr.zeros(4, 2)).backward()
    opt.step()
    save_checkpoint(tmp_path / "c.npz", model.state_dict(), opt.state_dict())
    _, optim_state, _ = load_checkpoint(tmp_path / "c.npz")
    fresh = optim.Adam(nn.Linear(3, 2).parameters(), lr=0.1)
    fresh.load_state_dict(optim.unflatten_state(optim_state))
    for want, got in zip(opt.state.values(), fresh.state.values()):
        np.testing.assert_array_equal(got["exp_avg"], want["exp_avg"])
