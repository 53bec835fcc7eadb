"""chainrule.optim against torch.optim: updates, state, state dicts and LR schedules.

Each optimizer runs next to its PyTorch twin on identical parameters and an identical
gradient sequence; parameters and state must agree after every step to float32
rounding (PyTorch fuses some multiply-adds, so the last bit may differ) and to 1e-12
in float64.
"""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule import kernels
from chainrule.optim import flatten_state, unflatten_state

from optim_options import sgd_options

torch = pytest.importorskip("torch")

SHAPES = [(4,), (5, 3), (2,), ()]  # small, larger, small again, 0-d: the scratch space regrows mid-step
STEPS = 7
TOLERANCE = {np.float32: dict(rtol=2e-6, atol=2e-7), np.float64: dict(rtol=1e-12, atol=1e-13)}
STATE_NAMES = {"momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}


def make_params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    ours = [cr.Tensor(array.copy(), requires_grad=True) for array in arrays]
    theirs = [torch.nn.Parameter(torch.from_numpy(array.copy())) for array in arrays]
    return ours, theirs


def gradient_sequence(dtype, steps=STEPS, seed=1):
    """Per step, one gradient per parameter; parameter 1 has none at step 3 (skipped)."""
    rng = np.random.default_rng(seed)
    sequence = []
    for step in range(steps):
        grads = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
        if step == 3:
            grads[1] = None
        sequence.append(grads)
    return sequence


def set_grads(ours, theirs, grads):
    for p, tp, g in zip(ours, theirs, grads):
        p.grad = None if g is None else g.copy()
        tp.grad = None if g is None else torch.from_numpy(g.copy())


def assert_same_state(ours, theirs, opt, topt, dtype):
    for p, tp in zip(ours, theirs):
        assert p.data.dtype == dtype
        np.testing.assert_allclose(p.data, tp.detach().numpy(), **TOLERANCE[dtype])
        state, tstate = opt.state.get(p, {}), topt.state.get(tp, {})
        assert {k for k in state if k in STATE_NAMES} == {k for k in tstate if k in STATE_NAMES}
        for name in state:
            if name == "step":
                assert state["step"] == int(tstate["step"])
            else:
                assert state[name].dtype == dtype
                np.testing.assert_allclose(state[name], tstate[name].numpy(), **TOLERANCE[dtype])


def run_against_torch(make_ours, make_theirs, dtype):
    ours, theirs = make_params(dtype)
    opt, topt = make_ours(ours), make_theirs(theirs)
    for grads in gradient_sequence(dtype):
        set_grads(ours, theirs, grads)
        kept = [None if g is None else g.copy() for g in grads]
        opt.step()
        topt.step()
        for p, g in zip(ours, kept):
            if g is not None:
                np.testing.assert_array_equal(p.grad, g)  # a step never writes to a gradient
        assert_same_state(ours, theirs, opt, topt, dtype)
    return ours


SGD_PATHS = [False] + ([True] if kernels.AVAILABLE else [])
"""fused=False: the NumPy ufunc chain; fused=True: the compiled kernel (when built)."""


@pytest.mark.parametrize("fused", SGD_PATHS, ids=lambda fused: "kernel" if fused else "numpy")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", list(sgd_options()), ids=str)
def test_sgd_matches_torch(options, dtype, fused):
    run_against_torch(lambda ps: optim.SGD(ps, **options, fused=fused), lambda ps: torch.optim.SGD(ps, **options), dtype)


def adam_options():
    for amsgrad, weight_decay, maximize, betas in itertools.product(
        (False, True), (0.0, 0.1), (False, True), ((0.9, 0.999), (0.3, 0.5))
    ):
        # beta1 = 0.3 takes PyTorch's other lerp branch (weight 0.7 >= 0.5).
        yield dict(lr=0.05, betas=betas, eps=1e-6, amsgrad=amsgrad, weight_decay=weight_decay, maximize=maximize)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", list(adam_options()), ids=str)
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_matches_torch(name, options, dtype):
    ours_cls, theirs_cls = getattr(optim, name), getattr(torch.optim, name)
    run_against_torch(lambda ps: ours_cls(ps, **options), lambda ps: theirs_cls(ps, **options), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_with_beta1_zero_keeps_the_gradient_exactly(dtype):
    # lerp with weight 1 must give its end point exactly, as PyTorch's does: m_t = g_t.
    ours, theirs = make_params(dtype)
    opt, topt = optim.Adam(ours, betas=(0.0, 0.99)), torch.optim.Adam(theirs, betas=(0.0, 0.99))
    for grads in gradient_sequence(dtype):
        set_grads(ours, theirs, grads)
        opt.step()
        topt.step()
        for p, tp, g in zip(ours, theirs, grads):
            if g is not None:
                np.testing.assert_array_equal(opt.state[p]["exp_avg"], g)
                np.testing.assert_array_equal(opt.state[p]["exp_avg"], topt.state[tp]["exp_avg"].numpy())


def test_adam_defaults_match_torch():
    run_against_torch(optim.Adam, torch.optim.Adam, np.float32)
    run_against_torch(optim.AdamW, torch.optim.AdamW, np.float32)


def grouped(params, specs):
    return [{"params": [params[i] for i in indices], **options} for indices, options in specs]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name, defaults, specs",
    [
        ("SGD", dict(lr=0.1, momentum=0.9),
         [([0, 2], dict(lr=0.01)), ([1], dict(nesterov=True)), ([3], dict(momentum=0.0, weight_decay=0.1))]),
        ("Adam", dict(lr=0.01),
         [([0], dict(lr=0.1, betas=(0.8, 0.99))), ([1, 2, 3], dict(amsgrad=True, weight_decay=0.01))]),
        ("AdamW", dict(lr=0.01),
         [([3, 1], dict(lr=0.003)), ([0, 2], dict(weight_decay=0.5, maximize=True))]),
    ],
)
def test_param_groups_match_torch(name, defaults, specs, dtype):
    run_against_torch(
        lambda ps: getattr(optim, name)(grouped(ps, specs), **defaults),
        lambda ps: getattr(torch.optim, name)(grouped(ps, specs), **defaults),
        dtype,
    )


def test_float32_update_of_float64_like_options_stays_float32():
    # NumPy float64 scalars as options must not turn the update into float64 arithmetic.
    ours, theirs = make_params(np.float32)
    opt = optim.SGD(ours, lr=np.float64(0.1), momentum=np.float64(0.9), weight_decay=np.float64(0.01))
    topt = torch.optim.SGD(theirs, lr=0.1, momentum=0.9, weight_decay=0.01)
    for grads in gradient_sequence(np.float32):
        set_grads(ours, theirs, grads)
        opt.step()
        topt.step()
    assert_same_state(ours, theirs, opt, topt, np.float32)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: optim.Adam(ps, amsgrad=True),
    lambda ps: optim.AdamW(ps),
], ids=["sgd_momentum", "sgd_nesterov_decay", "adam_amsgrad", "adamw"])
@pytest.mark.filterwarnings("ignore:.*same gradients as the previous step:UserWarning")  # one gradient, stepped on again
def test_steps_after_the_first_allocate_no_parameter_sized_array(make):
    tracemalloc = pytest.importorskip("tracemalloc")
    rng = np.random.default_rng(0)
    params = [cr.Tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
              for shape in [(300, 200), (1000,), (50, 300)]]
    for p in params:
        p.grad = rng.standard_normal(p.shape).astype(np.float32)
    opt = make(params)
    opt.step()  # allocates the state and the scratch space
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1000 * 4  # not even one temporary the size of the smallest parameter


# -- state dicts -----------------------------------------------------------------

OPTIMIZERS = {
    "sgd_nesterov": lambda ps: optim.SGD(
        [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.05}], lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam_amsgrad": lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
    "adamw": lambda ps: optim.AdamW([{"params": ps[:3]}, {"params": ps[3:], "betas": (0.5, 0.9)}], lr=0.02),
    "adagrad": lambda ps: optim.Adagrad(ps, lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1),
    "rmsprop_centered_momentum": lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True),
    "nadam": lambda ps: optim.NAdam(ps, lr=0.01, weight_decay=0.01),
    "radam": lambda ps: optim.RAdam(ps, lr=0.01, betas=(0.9, 0.6)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", sorted(OPTIMIZERS))
def test_state_dict_round_trip_through_npz_resumes_bit_identically(kind, dtype, tmp_path):
    make = OPTIMIZERS[kind]
    grads = gradient_sequence(dtype, steps=8)
    straight, _ = make_params(dtype)
    opt = make(straight)
    for step_grads in grads:
        for p, g in zip(straight, step_grads):
            p.grad = g
        opt.step()

    first, _ = make_params(dtype)
    opt_first = make(first)
    for step_grads in grads[:4]:
        for p, g in zip(first, step_grads):
            p.grad = g
        opt_first.step()
    path = tmp_path / "optim.npz"
    flat = flatten_state(opt_first.state_dict(), prefix="optimizer.")
    assert all(isinstance(v, np.ndarray) for v in flat.values())
    np.savez(path, **flat, model_weight=np.zeros(3))

    resumed = [cr.Tensor(p.data.copy(), requires_grad=True) for p in first]
    opt_resumed = make(resumed)
    with np.load(path, allow_pickle=False) as saved:
        restored = unflatten_state(saved, prefix="optimizer.")
    opt_resumed.load_state_dict(restored)
    for step_grads in grads[4:]:
        for p, g in zip(resumed, step_grads):
            p.grad = g
        opt_resumed.step()
    for p, q in zip(straight, resumed):
        assert q.data.dtype == dtype
        np.testing.assert_array_equal(p.data, q.data)
    assert_state_dicts_equal(opt.state_dict(), opt_resumed.state_dict())


def assert_state_dicts_equal(a, b):
    assert a["param_groups"] == b["param_groups"]
    assert [type(v) for g in a["param_groups"] for v in g.values()] == [
        type(v) for g in b["param_groups"] for v in g.values()]
    assert a["state"].keys() == b["state"].keys()
    for index in a["state"]:
        assert a["state"][index].keys() == b["state"][index].keys()
        for name, value in a["state"][index].items():
            other = b["state"][index][name]
            assert type(value) is type(other)
            if isinstance(value, np.ndarray):
                assert value.dtype == other.dtype
                np.testing.assert_array_equal(value, other)
            else:
                assert value == other


def test_flatten_unflatten_keeps_every_type():
    params = [cr.Tensor(np.ones((2, 3), np.float32), requires_grad=True), cr.Tensor(np.float32(2.0))]
    opt = optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.5, "amsgrad": True}], eps=1e-7)
    for p in params:
        p.grad = np.full(p.shape, 0.5, np.float32)
    opt.step()
    optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    sd = opt.state_dict()
    flat = flatten_state(sd)
    assert flat["param_groups.1.lr"].shape == () and flat["param_groups.0.betas"].shape == (2,)
    assert flat["state.0.step"].dtype == np.int64 and flat["state.1.exp_avg"].shape == ()
    back = unflatten_state(flat)
    assert_state_dicts_equal(sd, back)
    assert isinstance(back["param_groups"][0]["betas"], tuple) and back["param_groups"][1]["params"] == [1]
    assert back["param_groups"][1]["amsgrad"] is True and isinstance(back["state"][0]["step"], int)


@pytest.mark.filterwarnings("ignore:.*same gradients as the previous step:UserWarning")  # one gradient, stepped on again
def test_state_dict_is_a_snapshot():
    p = cr.Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones(3, np.float32)
    opt.step()
    sd = opt.state_dict()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], np.ones(3, np.float32))


def test_load_state_dict_rejects_mismatches():
    a, b = (cr.Tensor(np.ones(3, np.float32), requires_grad=True) for _ in range(2))
    sgd = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad = b.grad = np.ones(3, np.float32)
    sgd.step()
    with pytest.raises(ValueError, match="this optimizer has 2"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match="has 1 parameters"):
        optim.SGD([a], lr=0.1).load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match="another optimizer"):
        optim.Adam([a, b]).load_state_dict(sgd.state_dict())
    c = cr.Tensor(np.ones(4, np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="shape"):
        optim.SGD([a, c], lr=0.1, momentum=0.9).load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match="not an optimizer state key"):
        unflatten_state({"state.x.momentum_buffer": np.ones(3)})


def test_load_casts_buffers_to_the_parameter_dtype():
    p = cr.Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.load_state_dict({"state": {0: {"momentum_buffer": np.ones(3)}},
                         "param_groups": [{**opt.state_dict()["param_groups"][0]}]})
    assert opt.state[p]["momentum_buffer"].dtype == np.float32


# -- construction, zero_grad -----------------------------------------------------

def test_zero_grad_sets_none():
    p = cr.Tensor(np.ones(3, np.float32), requires_grad=True)
    p.grad = np.ones(3, np.float32)
    optim.SGD([p], lr=0.1).zero_grad()
    assert p.grad is None


def test_generator_of_params_is_accepted():
    params, _ = make_params(np.float32)
    opt = optim.SGD((p for p in params), lr=0.1)
    assert len(opt.param_groups[0]["params"]) == len(params)


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda p: optim.SGD(p, lr=-1.0), ValueError, "learning rate"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), ValueError, "Nesterov"),
        (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "Nesterov"),
        (lambda p: optim.SGD([{"params": p, "momentum": -1.0}], lr=0.1), ValueError, "momentum"),
        (lambda p: optim.Adam(p, betas=(0.9, 1.0)), ValueError, "beta2"),
        (lambda p: optim.Adam(p, eps=-1.0), ValueError, "eps"),
        (lambda p: optim.AdamW(p, weight_decay=-1.0), ValueError, "weight_decay"),
        (lambda p: optim.SGD([], lr=0.1), ValueError, "empty"),
        (lambda p: optim.SGD(p[0], lr=0.1), TypeError, "single"),
        (lambda p: optim.SGD([p[0], p[0]], lr=0.1), ValueError, "twice"),
        (lambda p: optim.SGD([{"params": p}, {"params": p[:1]}], lr=0.1), ValueError, "more than one"),
        (lambda p: optim.SGD([np.ones(3)], lr=0.1), TypeError, "Tensors"),
        (lambda p: optim.SGD([cr.Tensor(np.arange(3))], lr=0.1), TypeError, "floating"),
    ],
)
def test_invalid_construction_raises(build, error, match):
    params, _ = make_params(np.float32)
    with pytest.raises(error, match=match):
        build(params)


# -- learning-rate schedules -----------------------------------------------------

def schedule_pair(make_ours, make_theirs, optimizer="sgd"):
    ps, tps = make_params(np.float64)
    groups = [{"params": ps[:2], "lr": 0.1}, {"params": ps[2:], "lr": 0.03}]
    tgroups = [{"params": tps[:2], "lr": 0.1}, {"params": tps[2:], "lr": 0.03}]
    if optimizer == "sgd":
        opt, topt = optim.SGD(groups, lr=0.1, momentum=0.9), torch.optim.SGD(tgroups, lr=0.1, momentum=0.9)
    else:
        opt, topt = optim.Adam(groups), torch.optim.Adam(tgroups)
    return opt, topt, make_ours(opt), make_theirs(topt)


def assert_same_schedule(opt, topt, sched, tsched, steps, option=None):
    """Compare the learning rates (and momenta) of steps 0 to ``steps``."""
    for step in range(steps + 1):
        if step > 0:
            topt.step()  # no gradients: nothing moves, but torch wants step() before sched.step()
            sched.step()
            tsched.step()
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
        for group, tgroup in zip(opt.param_groups, topt.param_groups):
            assert group["lr"] == pytest.approx(tgroup["lr"], rel=1e-12, abs=1e-15)
            if option == "betas":
                assert group["betas"] == pytest.approx(tgroup["betas"], rel=1e-12)
            elif option == "momentum":
                assert group["momentum"] == pytest.approx(tgroup["momentum"], rel=1e-12)


SCHEDULES = {
    "step": (lambda o: optim.StepLR(o, step_size=3, gamma=0.5),
             lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 20),
    "cosine_past_T_max": (lambda o: optim.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
                          lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 35),
    "linear_warmup": (lambda o: optim.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=6),
                      lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=6),
                      12),
    "linear_decay": (lambda o: optim.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=5),
                     lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=5),
                     9),
    "exponential": (lambda o: optim.ExponentialLR(o, gamma=0.9),
                    lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), 15),
    "multistep": (lambda o: optim.MultiStepLR(o, milestones=[6, 2, 9], gamma=0.3),
                  lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[6, 2, 9], gamma=0.3), 14),
    "lambda": (lambda o: optim.LambdaLR(o, lambda t: 1.0 / (1 + t) ** 0.5),
               lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 1.0 / (1 + t) ** 0.5), 10),
    "lambda_per_group": (lambda o: optim.LambdaLR(o, [lambda t: 0.95**t, lambda t: 1 + t]),
                         lambda o: torch.optim.lr_scheduler.LambdaLR(o, [lambda t: 0.95**t, lambda t: 1 + t]), 8),
    "warm_restarts": (lambda o: optim.CosineAnnealingWarmRestarts(o, T_0=3, eta_min=0.01),
                      lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3, eta_min=0.01), 14),
    "warm_restarts_growing": (lambda o: optim.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=3),
                              lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=3), 40),
}


@pytest.mark.parametrize("kind", sorted(SCHEDULES))
def test_schedule_matches_torch(kind):
    ours, theirs, steps = SCHEDULES[kind]
    opt, topt, sched, tsched = schedule_pair(ours, theirs)
    assert_same_schedule(opt, topt, sched, tsched, steps)


@pytest.mark.parametrize("optimizer, option", [("sgd", "momentum"), ("adam", "betas")])
@pytest.mark.parametrize("anneal_strategy", ["cos", "linear"])
def test_one_cycle_matches_torch_with_momentum_cycling(optimizer, option, anneal_strategy):
    options = dict(max_lr=[0.5, 0.2], total_steps=23, pct_start=0.25, anneal_strategy=anneal_strategy)
    opt, topt, sched, tsched = schedule_pair(
        lambda o: optim.OneCycleLR(o, **options),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, **options),
        optimizer,
    )
    assert_same_schedule(opt, topt, sched, tsched, 23, option)  # step total_steps is allowed, as in PyTorch
    with pytest.raises(ValueError, match="total_steps"):
        sched.step()


def test_one_cycle_defaults_match_torch():
    opt, topt, sched, tsched = schedule_pair(
        lambda o: optim.OneCycleLR(o, max_lr=1.0, total_steps=50),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=50),
    )
    assert_same_schedule(opt, topt, sched, tsched, 50, "momentum")


def test_warmup_then_cosine_matches_torch_sequential_lr():
    def ours(o):
        warmup = optim.LinearLR(o, start_factor=0.01, total_iters=5)
        decay = optim.CosineAnnealingLR(o, T_max=15, eta_min=1e-4)
        return optim.SequentialLR(o, [warmup, decay], milestones=[5])

    def theirs(o):
        warmup = torch.optim.lr_scheduler.LinearLR(o, start_factor=0.01, total_iters=5)
        decay = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=15, eta_min=1e-4)
        return torch.optim.lr_scheduler.SequentialLR(o, [warmup, decay], milestones=[5])

    opt, topt, sched, tsched = schedule_pair(ours, theirs)
    assert_same_schedule(opt, topt, sched, tsched, 25)


def test_three_stage_sequential_lr_matches_torch():
    def build(lib):
        def make(o):
            stages = [lib.LinearLR(o, start_factor=0.5, total_iters=3), lib.StepLR(o, step_size=2, gamma=0.7),
                      lib.CosineAnnealingLR(o, T_max=6)]
            return lib.SequentialLR(o, stages, milestones=[4, 9])
        return make

    opt, topt, sched, tsched = schedule_pair(build(optim.lr_scheduler), build(torch.optim.lr_scheduler))
    assert_same_schedule(opt, topt, sched, tsched, 20)


def sequential_warmup_cosine(o):
    return optim.SequentialLR(
        o, [optim.LinearLR(o, start_factor=0.1, total_iters=4), optim.CosineAnnealingLR(o, T_max=10)], [4])


@pytest.mark.parametrize("make", [
    lambda o: optim.StepLR(o, step_size=2, gamma=0.3),
    lambda o: optim.OneCycleLR(o, max_lr=0.4, total_steps=20),
    sequential_warmup_cosine,
    lambda o: optim.MultiStepLR(o, milestones=[3, 7], gamma=0.5),
    lambda o: optim.ExponentialLR(o, gamma=0.8),
    lambda o: optim.LambdaLR(o, lambda t: 1 / (t + 1)),
], ids=["step", "one_cycle", "sequential", "multistep", "exponential", "lambda"])
def test_schedule_state_dict_survives_json_and_resumes(make):
    def fresh():
        params, _ = make_params(np.float64)
        opt = optim.SGD(params, lr=0.1, momentum=0.9)
        return opt, make(opt)

    opt, sched = fresh()
    for _ in range(6):
        sched.step()
    saved_sched = json.dumps(sched.state_dict())
    saved_opt = opt.state_dict()
    expected = []
    for _ in range(8):
        sched.step()
        expected.append((sched.get_last_lr(), [dict(g, params=None) for g in opt.param_groups]))

    opt2, sched2 = fresh()
    sched2.load_state_dict(json.loads(saved_sched))
    opt2.load_state_dict(saved_opt)
    for lrs, groups in expected:
        sched2.step()
        assert sched2.get_last_lr() == lrs
        assert [dict(g, params=None) for g in opt2.param_groups] == groups


def test_schedule_rejects_bad_arguments():
    params, _ = make_params(np.float64)
    opt = optim.SGD(params, lr=0.1)
    with pytest.raises(TypeError, match="Optimizer"):
        optim.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="start_factor"):
        optim.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="milestone"):
        optim.SequentialLR(opt, [optim.StepLR(opt, 2), optim.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="keys"):
        optim.StepLR(opt, 2).load_state_dict({"last_epoch": 3})
    with pytest.raises(ValueError, match="momentum or betas"):
        optim.OneCycleLR(_NoMomentum(params), max_lr=0.1, total_steps=10)


class _NoMomentum(optim.Optimizer):
    def __init__(self, params):
        super().__init__(params, {"lr": 0.1})

    def step(self, closure=None):
        return None


# -- steps that would follow nothing, stale gradients, or non-finite options ---------------------
OPTIMIZER_CLASSES = [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.Adam(ps),
                     lambda ps: optim.AdamW(ps)]


@pytest.mark.parametrize("make", OPTIMIZER_CLASSES, ids=["sgd", "adam", "adamw"])
def test_a_step_before_any_backward_warns_and_changes_nothing(make):
    p = cr.Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = make([p])
    with pytest.warns(UserWarning, match=r"step\(\) found no gradient on any parameter.*call loss.backward\(\)"):
        opt.step()
    np.testing.assert_array_equal(p.data, np.ones(3, np.float32))


@pytest.mark.parametrize("make", OPTIMIZER_CLASSES, ids=["sgd", "adam", "adamw"])
def test_a_second_step_on_the_same_gradients_warns(make):
    p = cr.Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = make([p])
    (p * p).sum().backward()
    opt.step()
    with pytest.warns(UserWarning, match="same gradients as the previous step"):
        opt.step()
    opt.zero_grad()
    (p * p).sum().backward()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()  # a fresh backward: no warning


@pytest.mark.parametrize("build, match", [
    (lambda ps: optim.SGD(ps, lr=float("nan")), "SGD: invalid learning rate nan"),
    (lambda ps: optim.SGD(ps, lr=float("inf")), "SGD: invalid learning rate inf"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=float("nan")), "SGD: invalid momentum nan"),
    (lambda ps: optim.SGD(ps, lr=0.1, dampening=float("-inf")), "SGD: invalid dampening -inf"),
    (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=float("nan")), "SGD: invalid weight_decay nan"),
    (lambda ps: optim.Adam(ps, lr=float("nan")), "Adam: invalid learning rate nan"),
    (lambda ps: optim.Adam(ps, eps=float("nan")), "Adam: invalid eps nan"),
    (lambda ps: optim.Adam(ps, betas=(float("nan"), 0.9)), "Adam: invalid beta1 nan"),
    (lambda ps: optim.AdamW(ps, weight_decay=float("inf")), "AdamW: invalid weight_decay inf"),
    (lambda ps: optim.SGD([{"params": ps, "lr": float("nan")}], lr=0.1), "SGD: invalid learning rate nan"),
])
def test_non_finite_hyperparameters_are_refused(build, match):
    p = cr.Tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(ValueError, match=match):
        build([p])


@pytest.mark.parametrize("build, match", [
    (lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=float("nan")), "eta_min must be finite"),
    (lambda o: optim.lr_scheduler.StepLR(o, step_size=2, gamma=float("nan")), "gamma must be finite"),
    (lambda o: optim.lr_scheduler.StepLR(o, step_size=2, gamma=float("inf")), "gamma must be finite"),
    (lambda o: optim.lr_scheduler.OneCycleLR(o, max_lr=float("inf"), total_steps=10), "max_lrs must be finite"),
    (lambda o: optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, div_factor=0.0),
     "div_factor must be a positive finite number"),
    (lambda o: optim.lr_scheduler.OneCycleLR(o, max_lr=1e308, total_steps=10, div_factor=1e-308),
     "min_lrs must be finite"),
    (lambda o: optim.lr_scheduler.StepLR(o, step_size=2).load_state_dict(
        {"last_epoch": 3, "base_lrs": [float("nan")], "step_size": 2, "gamma": 0.1}),
     "gives parameter group 0 the learning rate nan at step 3"),
])
def test_schedules_refuse_options_that_give_a_non_finite_rate(build, match):
    p = cr.Tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(ValueError, match=match):
        build(optim.SGD([p], lr=0.1, momentum=0.9))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [
    {}, dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3, maximize=True),
], ids=str)
def test_adagrad_matches_torch(options, dtype):
    run_against_torch(lambda ps: optim.Adagrad(ps, **options), lambda ps: torch.optim.Adagrad(ps, **options), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [
    {}, dict(lr=0.05, alpha=0.9, momentum=0.8), dict(lr=0.02, centered=True, weight_decay=0.1),
    dict(lr=0.03, centered=True, momentum=0.5, maximize=True),
], ids=str)
def test_rmsprop_matches_torch(options, dtype):
    run_against_torch(lambda ps: optim.RMSprop(ps, **options), lambda ps: torch.optim.RMSprop(ps, **options), dtype)


@pytest.fixture
def torch_default_dtype_of(request):
    """Run with torch's default dtype set to the test's ``dtype``: NAdam keeps its momentum product in
    torch's default floating dtype, so a float64 comparison needs float64 there too."""
    def set_to(dtype):
        torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    yield set_to
    torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [
    {}, dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1, momentum_decay=0.01),
    dict(lr=0.02, weight_decay=0.05, decoupled_weight_decay=True, maximize=True),
], ids=str)
def test_nadam_matches_torch(options, dtype, torch_default_dtype_of):
    torch_default_dtype_of(dtype)
    run_against_torch(lambda ps: optim.NAdam(ps, **options), lambda ps: torch.optim.NAdam(ps, **options), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [
    {}, dict(lr=0.01, betas=(0.3, 0.5), weight_decay=0.1),  # β₂ = 0.5 rectifies from the third step on
    dict(lr=0.02, weight_decay=0.05, decoupled_weight_decay=True, maximize=True, betas=(0.9, 0.6)),
], ids=str)
def test_radam_matches_torch(options, dtype):
    run_against_torch(lambda ps: optim.RAdam(ps, **options), lambda ps: torch.optim.RAdam(ps, **options), dtype)


@pytest.mark.parametrize("options", [
    dict(), dict(mode="max", factor=0.5, patience=1, threshold=0.1, threshold_mode="abs", cooldown=2, min_lr=0.02),
], ids=str)
def test_reduce_on_plateau_matches_torch_and_resumes_from_json(options):
    metrics = [1.0, 0.9, 0.95, 0.9, 0.91, 0.92, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.6, 0.7,
               0.8, 0.9] * 2
    options = dict(options, patience=options.get("patience", 3))
    p, tp = cr.Tensor(np.ones(2), requires_grad=True), torch.ones(2, requires_grad=True)
    opt, topt = optim.SGD([p], lr=0.1), torch.optim.SGD([tp], lr=0.1)
    sched, tsched = optim.ReduceLROnPlateau(opt, **options), torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **options)
    for i, metric in enumerate(metrics):
        sched.step(metric)
        tsched.step(metric)
        assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12), f"step {i}"
        if i == len(metrics) // 2:
            restored = optim.ReduceLROnPlateau(opt, **options)
            restored.load_state_dict(json.loads(json.dumps(sched.state_dict())))
            sched = restored
