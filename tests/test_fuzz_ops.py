"""Ops fuzzed against PyTorch at the edges: extreme values, both float dtypes, empty arrays.

Hypothesis draws the op, the dtype (float32 or float64), shapes (broadcasting
against each other, with size-0 axes) and values mixing ordinary numbers with the
extremes ±0, ±1e30, ±1e-30, the smallest normal, denormals and ±inf. Each example
compares the forward value and the gradient of ⟨G, f(x…)⟩ (G random) with PyTorch
autograd (see ``compare_with_torch`` for the tolerances and why). Inf must match
inf and NaN match NaN.

Left out, on purpose: NaN inputs (PyTorch and chainrule route the gradient of
max/min at a NaN differently, and neither is wrong) and ±inf inside logsumexp,
softmax and the losses (the gradient there is NaN or 0 by convention, and PyTorch
itself uses both).

Each target runs at least MIN_EXAMPLES examples (counted, and asserted).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

torch = pytest.importorskip("torch")

MIN_EXAMPLES = 2000
FUZZ = settings(max_examples=MIN_EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DTYPES = (np.float32, np.float64)
RTOL = {np.float32: 2e-5, np.float64: 1e-11}

# Warnings about overflow and division by zero are the point of these inputs.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny tensors gain nothing from threads, and on a busy machine each hand-off to
    PyTorch's thread pool waits for a scheduler time slice (tens of ms per example)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def extremes(dtype, infinite: bool = True) -> list[float]:
    """±0, ±1e30, ±1e-30, the smallest normal number, denormals, and (unless told not) ±inf.

    Not the largest finite number: next to it, whether an intermediate step overflows
    depends on the order of evaluation (2·(dy·x) or (2·x)·dy), and either order is right.
    """
    info = np.finfo(dtype)
    values = [0.0, 1e30, 1e-30, float(info.tiny), float(info.smallest_subnormal), float(info.smallest_subnormal) * 7]
    values += [np.inf] if infinite else []
    return values + [-v for v in values]


def values(dtype, ordinary: tuple[float, float] = (-3.0, 3.0), infinite: bool = True):
    """Ordinary numbers most of the time, an extreme one often enough to matter."""
    width = 32 if dtype == np.float32 else 64
    ordinary = st.floats(*ordinary, width=width)
    return st.one_of(ordinary, ordinary, st.sampled_from(extremes(dtype, infinite)))


def array(draw, dtype, shape, ordinary=(-3.0, 3.0), infinite: bool = True):
    return draw(hnp.arrays(dtype, shape, elements=values(dtype, ordinary, infinite)))


def finite_magnitude(arrays) -> float:
    """The largest finite |value| among the inputs (0 if none)."""
    finite = [np.abs(a[np.isfinite(a)]).max() for a in arrays if np.isfinite(a).any()]
    return float(max(finite, default=0.0))


def assert_close(ours, theirs, dtype, what: str, scale: float = 0.0) -> None:
    """Equal infinities and NaNs; finite values within RTOL relatively, or within RTOL·scale
    absolutely (the rounding error of a result computed by cancellation from numbers of
    size ``scale``), or within a few smallest normals (denormals keep few digits).

    Next to the overflow threshold whether a partial result overflows depends on the
    order of evaluation, so there a huge finite value and an infinity of its sign agree.
    """
    theirs = np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} vs torch {theirs.dtype}"
    huge = float(np.finfo(dtype).max) / 1024
    both_overflow = (np.abs(ours) >= huge) & (np.abs(theirs) >= huge) & (np.sign(ours) == np.sign(theirs))
    atol = max(RTOL[dtype] * scale, 8 * float(np.finfo(dtype).tiny))
    np.testing.assert_allclose(np.where(both_overflow, np.inf, ours), np.where(both_overflow, np.inf, theirs),
                               rtol=RTOL[dtype], atol=atol, equal_nan=True, err_msg=what)


def torch_results(torch_fn, inputs: list, G, dtype) -> list:
    """PyTorch's forward value and input gradients of ⟨G, f(inputs)⟩, computed in ``dtype``."""
    ts = [torch.tensor(a.astype(dtype), requires_grad=True) for a in inputs]
    out = torch_fn(*ts)
    out.backward(torch.tensor(G.astype(dtype)))
    grads = [t.grad.numpy() if t.grad is not None else np.zeros(t.shape, dtype) for t in ts]
    return [out.detach().numpy()] + grads


def compare_with_torch(cr_fn, torch_fn, inputs: list, dtype, cancels: bool = False,
                       backward_cancels: bool | None = None) -> None:
    """Forward values and the gradients of ⟨G, f(inputs)⟩ agree with PyTorch's.

    For float32 a result may match either PyTorch's float32 result or its float64 one
    rounded to float32: PyTorch's float32 kernels differ among themselves (its
    vectorised GELU and its scalar one disagree in the fifth digit at x = −2.7) and
    overflow in other places than chainrule's, while its float64 result is close to
    the exact one.

    ``cancels``: the op subtracts nearly equal numbers (a sum, x − logsumexp,
    dy − softmax·Σdy), so its rounding error scales with the largest input, not the
    result: compare absolutely at that scale (the inputs' for the forward value, the
    upstream gradient's for the gradients). ``backward_cancels``: the same for the
    gradients alone, when only the backward cancels (softmax: y·(dy − Σ y·dy)).
    """
    xs = [cr.tensor(a, dtype=dtype, requires_grad=True) for a in inputs]
    out = cr_fn(*xs)
    G = np.random.default_rng(out.size).standard_normal(out.shape).astype(dtype)
    out.backward(G)
    ours = [out.data] + [x.grad for x in xs]
    whats = ["forward"] + [f"gradient of input {i}" for i in range(len(xs))]
    backward_cancels = cancels if backward_cancels is None else backward_cancels
    scales = [finite_magnitude(inputs) if cancels else 0.0]
    scales += [finite_magnitude([G]) if backward_cancels else 0.0] * len(xs)
    references = [torch_results(torch_fn, inputs, G, dtype)]
    if dtype == np.float32:
        with np.errstate(over="ignore"):
            references.append([r.astype(np.float32) for r in torch_results(torch_fn, inputs, G, np.float64)])
    for mine, what, scale, candidates in zip(ours, whats, scales, zip(*references)):
        failures = []
        for reference in candidates:
            try:
                assert_close(mine, reference, dtype, what, scale)
                break
            except AssertionError as failure:
                failures.append(failure)
        else:
            raise failures[0]


def against_torch(table: dict):
    """The check of an example (name, dtype, inputs) drawn for an op of ``table``
    (name -> (chainrule function, torch function))."""
    def check(example):
        name, dtype, inputs = example
        compare_with_torch(*table[name], inputs, dtype)

    return check


def run(target, strategy) -> int:
    """Run ``target`` on MIN_EXAMPLES drawn examples; return how many ran."""
    ran = []

    @FUZZ
    @given(strategy)
    def one(example):
        ran.append(1)
        target(example)

    one()
    return len(ran)


# -- elementwise, two inputs broadcast against each other ---------------------------------
BINARY = {
    "add": (cr.add, torch.add),
    "sub": (cr.sub, torch.sub),
    "mul": (cr.mul, torch.mul),
    "div": (cr.div, torch.div),
    "maximum": (cr.maximum, torch.maximum),
    "minimum": (cr.minimum, torch.minimum),
}


@st.composite
def binary_examples(draw):
    name = draw(st.sampled_from(sorted(BINARY)))
    dtype = draw(st.sampled_from(DTYPES))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3))
    return name, dtype, [array(draw, dtype, shape) for shape in shapes.input_shapes]


def test_fuzz_binary_elementwise_against_torch():
    assert run(against_torch(BINARY), binary_examples()) >= MIN_EXAMPLES


# -- elementwise, one input ---------------------------------------------------------------
UNARY = {
    "neg": (cr.neg, torch.neg),
    "exp": (cr.exp, torch.exp),
    "log": (cr.log, torch.log),
    "sqrt": (cr.sqrt, torch.sqrt),
    "abs": (cr.abs, torch.abs),
    "square": (lambda a: a ** 2, lambda a: a ** 2),
    "relu": (cr.relu, torch.relu),
    "leaky_relu": (lambda a: cr.leaky_relu(a, 0.1), lambda a: torch.nn.functional.leaky_relu(a, 0.1)),
    "sigmoid": (cr.sigmoid, torch.sigmoid),
    "tanh": (cr.tanh, torch.tanh),
    "softplus": (cr.softplus, torch.nn.functional.softplus),
    "gelu": (cr.gelu, torch.nn.functional.gelu),
    "clip": (lambda a: cr.clip(a, -1.0, 0.5), lambda a: a.clamp(-1.0, 0.5)),
}


@st.composite
def unary_examples(draw):
    name = draw(st.sampled_from(sorted(UNARY)))
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    return name, dtype, [array(draw, dtype, shape)]


def test_fuzz_unary_elementwise_against_torch():
    assert run(against_torch(UNARY), unary_examples()) >= MIN_EXAMPLES


# -- reductions over random axes --------------------------------------------------------------
REDUCTIONS = {
    "sum": (lambda x, axis, k: x.sum(axis=axis, keepdims=k), lambda t, dims, k: t.sum(dim=dims, keepdim=k)),
    "mean": (lambda x, axis, k: x.mean(axis=axis, keepdims=k), lambda t, dims, k: t.mean(dim=dims, keepdim=k)),
    "max": (lambda x, axis, k: x.max(axis=axis, keepdims=k), lambda t, dims, k: t.amax(dim=dims, keepdim=k)),
    "min": (lambda x, axis, k: x.min(axis=axis, keepdims=k), lambda t, dims, k: t.amin(dim=dims, keepdim=k)),
    "logsumexp": (lambda x, axis, k: x.logsumexp(axis=axis, keepdims=k), lambda t, dims, k: logsumexp(t, dims, k)),
}


def logsumexp(t, dims, keepdim):
    """torch.logsumexp's value, with the gradient of m + log Σ exp(x − m) for m = max(x) held
    constant, which is softmax(x) exactly. torch.logsumexp's own backward, exp(x − result),
    loses the share of tied maxima far from 0: for [1e30, 1e30] it gives [1, 1], not [½, ½]."""
    if t.numel() == 0:
        return torch.logsumexp(t, dim=dims, keepdim=keepdim)
    m = t.amax(dim=dims, keepdim=True).detach()
    m = torch.where(m.isfinite(), m, 0)  # an all −∞ slice
    shifted = (t - m).exp().sum(dim=dims, keepdim=True).log() + m
    value = shifted if keepdim else shifted.squeeze(dims)
    return value + (torch.logsumexp(t, dim=dims, keepdim=keepdim) - value).detach()


@st.composite
def reduction_examples(draw):
    name = draw(st.sampled_from(sorted(REDUCTIONS)))
    dtype = draw(st.sampled_from(DTYPES))
    # Max and min over an empty axis are errors in both libraries: only they get size ≥ 1.
    min_side = 1 if name in ("max", "min") else 0
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=min_side, max_side=4))
    axes = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=len(shape), unique_by=lambda a: a % len(shape)))
    axis = None if draw(st.booleans()) else tuple(axes)
    # With +inf in a slice the gradient of logsumexp is NaN or 0 by convention; torch has both.
    x = array(draw, dtype, shape, infinite=name != "logsumexp")
    return name, dtype, shape, axis, draw(st.booleans()), [x]


def test_fuzz_reductions_against_torch():
    def check(example):
        name, dtype, shape, axis, keepdims, inputs = example
        cr_fn, torch_fn = REDUCTIONS[name]
        dims = tuple(range(len(shape))) if axis is None else axis
        compare_with_torch(lambda t: cr_fn(t, axis, keepdims), lambda t: torch_fn(t, dims, keepdims), inputs, dtype,
                           cancels=name in ("sum", "mean", "logsumexp"))

    assert run(check, reduction_examples()) >= MIN_EXAMPLES


# -- softmax and the classification losses, on extreme logits ----------------------------------
@st.composite
def logits_examples(draw):
    name = draw(st.sampled_from(["softmax", "log_softmax", "cross_entropy", "nll_of_log_softmax"]))
    dtype = draw(st.sampled_from(DTYPES))
    n, c = draw(st.integers(0 if name in ("softmax", "log_softmax") else 1, 5)), draw(st.integers(1, 5))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)
    # ±inf logits make both libraries produce NaN gradients by different routes; ±1e30 is extreme enough.
    return name, dtype, labels, [array(draw, dtype, (n, c), ordinary=(-30.0, 30.0), infinite=False)]


LOGITS = {
    "softmax": (lambda labels: (lambda z: cr.softmax(z, axis=1)), lambda labels: (lambda z: torch.softmax(z, dim=1))),
    "log_softmax": (lambda labels: (lambda z: cr.log_softmax(z, axis=1)),
                    lambda labels: (lambda z: torch.log_softmax(z, dim=1))),
    "cross_entropy": (lambda labels: (lambda z: cr.softmax_cross_entropy(z, labels)),
                      lambda labels: (lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(labels)))),
    "nll_of_log_softmax": (lambda labels: (lambda z: cr.nll_loss(cr.log_softmax(z, axis=1), labels)),
                           lambda labels: (lambda z: torch.nn.functional.nll_loss(torch.log_softmax(z, dim=1),
                                                                                  torch.tensor(labels)))),
}


def test_fuzz_softmax_and_losses_on_extreme_logits_against_torch():
    def check(example):
        name, dtype, labels, inputs = example
        ours, theirs = LOGITS[name]
        compare_with_torch(ours(labels), theirs(labels), inputs, dtype, cancels=name != "softmax",
                           backward_cancels=True)

    assert run(check, logits_examples()) >= MIN_EXAMPLES
