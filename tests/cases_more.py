"""Verification cases for max/min/logsumexp/var, broadcast_to/getitem/concatenate/
stack/pad, and the activations beyond relu.

Inputs come from the generators of oracle.py so that finite differences never
straddle a kink: ``distinct`` for max/min (no ties), ``away_from_zero`` for
leaky_relu and sign-dependent masks.
"""
import warnings

import numpy as np

import chainrule as cr
from oracle import away_from_zero, case, distinct, randn, rng, torch


def _dims(axis, ndim):
    """PyTorch's spelling of a NumPy axis: None is every dimension."""
    return tuple(range(ndim)) if axis is None else axis


# -- max / min -------------------------------------------------------------------
for shape, axis, keepdims in [((2, 3, 4), None, False), ((2, 3, 4), 0, False), ((2, 3, 4), -1, True),
                              ((2, 3, 4), (0, 2), False), ((2, 3, 4), (-1, 1), True), ((3, 1), 1, False),
                              ((0, 3), 1, False), ((5,), 0, True)]:
    tag = f"{shape},axis={axis},keepdims={keepdims}"
    case("max", lambda a, axis=axis, k=keepdims: a.max(axis=axis, keepdims=k),
         lambda a, axis=axis, k=keepdims: a.amax(dim=_dims(axis, a.ndim), keepdim=k),
         distinct(*shape), id=f"max({tag})")
    case("min", lambda a, axis=axis, k=keepdims: cr.min(a, axis=axis, keepdims=k),
         lambda a, axis=axis, k=keepdims: a.amin(dim=_dims(axis, a.ndim), keepdim=k),
         distinct(*shape), id=f"min({tag})")
case("max", lambda x: x - x.max(axis=1, keepdims=True), lambda x: x - x.amax(dim=1, keepdim=True),
     distinct(3, 4), id="max(x - max(x))")
case("min", lambda x: x.min(axis=0) * x, lambda x: x.amin(dim=0) * x, distinct(3, 4), id="min(min(x)*x)")

# -- logsumexp -------------------------------------------------------------------
for shape, axis, keepdims, scale in [((2, 3, 4), None, False, 1.0), ((2, 3, 4), 1, False, 1.0),
                                     ((2, 3, 4), (0, 2), True, 1.0), ((3, 5), -1, False, 300.0),
                                     ((4, 1), 1, True, 1.0), ((0, 3), 1, False, 1.0), ((3, 0), 1, False, 1.0)]:
    tag = f"{shape},axis={axis},keepdims={keepdims},scale={scale}"
    case("logsumexp", lambda a, axis=axis, k=keepdims: a.logsumexp(axis=axis, keepdims=k),
         lambda a, axis=axis, k=keepdims: a.logsumexp(dim=_dims(axis, a.ndim), keepdim=k),
         randn(*shape) * scale, id=f"logsumexp({tag})")
case("logsumexp", lambda x: x - cr.logsumexp(x, axis=1, keepdims=True),
     lambda x: x - x.logsumexp(dim=1, keepdim=True), randn(3, 4), id="logsumexp(x - lse(x))")

# -- var -------------------------------------------------------------------------
def _torch_var(a, axis, keepdims, correction):
    """torch.var, without its warning that an empty input has no degrees of freedom."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "var\\(\\): degrees of freedom", UserWarning)
        return a.var(dim=axis, keepdim=keepdims, correction=correction)


for shape, axis, keepdims, correction in [((2, 3, 4), None, False, 1), ((2, 3, 4), 0, False, 1),
                                          ((2, 3, 4), (0, 2), True, 0), ((2, 3, 4), -1, False, 2),
                                          ((3, 1), 1, False, 0), ((0, 3), 1, True, 0), ((4, 3), 0, False, 0.5)]:
    tag = f"{shape},axis={axis},keepdims={keepdims},correction={correction}"
    case("var", lambda a, axis=axis, k=keepdims, c=correction: a.var(axis=axis, keepdims=k, correction=c),
         lambda a, axis=axis, k=keepdims, c=correction: _torch_var(a, axis, k, c),
         randn(*shape), id=f"var({tag})")
case("var", lambda x: x.var(axis=0) * x, lambda x: x.var(dim=0) * x, randn(3, 4), id="var(var(x)*x)")

# -- broadcast_to ----------------------------------------------------------------
for source, target in [((3, 1), (2, 3, 4)), ((4,), (3, 4)), ((), (2, 2)), ((1, 0), (3, 0)), ((2, 3), (2, 3))]:
    case("broadcast_to", lambda a, t=target: a.broadcast_to(t), lambda a, t=target: a.broadcast_to(t),
         randn(*source), id=f"broadcast_to({source}->{target})")
case("broadcast_to", lambda x: cr.broadcast_to(x, (2, 3)) * x, lambda x: x.broadcast_to((2, 3)) * x,
     randn(3), id="broadcast_to(x)*x")

# -- getitem ---------------------------------------------------------------------
_rows = np.array([True, False, True, True])
_pairs = np.array([[0, 0], [3, 0]])
for tag, index, torch_index in [
    ("int", 1, 1),
    ("slices", (slice(None), slice(1, 3)), (slice(None), slice(1, 3))),
    ("ellipsis,None,step", (Ellipsis, None, slice(None, None, 2)), (Ellipsis, None, slice(None, None, 2))),
    ("negative int", (-1, Ellipsis, 1), (-1, Ellipsis, 1)),
    ("empty slice", slice(2, 2), slice(2, 2)),
    ("repeated ints", [0, 2, 0], [0, 2, 0]),
    ("int pairs", ([0, 1, 1], [2, 2, 0]), ([0, 1, 1], [2, 2, 0])),
    ("repeated columns", (slice(None), [1, 1, 4]), (slice(None), [1, 1, 4])),
    ("2-d index", _pairs, "tensor"),
    ("mask", _rows, "tensor"),
    ("mask and slice", (_rows, slice(1, None)), None),
    ("empty list", [], []),
]:
    if torch_index == "tensor":
        torch_fn = lambda a, i=index: a[torch().as_tensor(i)]  # noqa: E731
    elif torch_index is None:
        torch_fn = lambda a, i=index: a[torch().as_tensor(i[0]), i[1]]  # noqa: E731
    else:
        torch_fn = lambda a, i=torch_index: a[i]  # noqa: E731
    case("getitem", lambda a, i=index: a[i], torch_fn, randn(4, 5), id=f"getitem({tag})")
case("getitem", lambda a: a[::-1], lambda a: a.flip(0), randn(4, 3), id="getitem(reversed)")
case("getitem", lambda a: a[1, 3:0:-2], lambda a: a[1, 1:4:2].flip(0), randn(2, 5), id="getitem(negative step)")
case("getitem", lambda a: a[cr.tensor([1, 1, 0])], lambda a: a[[1, 1, 0]], randn(3, 2), id="getitem(Tensor index)")
case("getitem", lambda a: a[a > 0], lambda a: a[a > 0], away_from_zero(3, 4), id="getitem(x[x > 0])")
case("getitem", lambda x: x[[0, 0, 1]] * x[:3], lambda x: x[[0, 0, 1]] * x[:3], randn(4), id="getitem(x[idx]*x)")
case("getitem", lambda x: x[0] + x[-1, ::-1], lambda x: x[0] + x[-1].flip(0), randn(2, 3),
     id="getitem(x[0]+x[-1,::-1])")

# -- concatenate / stack ---------------------------------------------------------
for shapes, axis in [([(2, 3), (4, 3)], 0), ([(2, 1), (2, 3), (2, 2)], -1), ([(0, 3), (2, 3)], 0),
                     ([(2, 3, 1), (2, 3, 2)], 2)]:
    case("concatenate", lambda *xs, axis=axis: cr.concatenate(xs, axis=axis),
         lambda *xs, axis=axis: torch().cat(xs, dim=axis), *[randn(*s) for s in shapes],
         id=f"concatenate({shapes},axis={axis})")
case("concatenate", lambda x: cr.concatenate([x, x]), lambda x: torch().cat([x, x]), randn(2, 3),
     id="concatenate([x,x])")
case("concatenate", lambda x, y: cr.concatenate([x, y * x, x], axis=1), lambda x, y: torch().cat([x, y * x, x], dim=1),
     randn(3, 2), randn(3, 2), id="concatenate([x,y*x,x])")
for shape, axis, count in [((2, 3), 0, 2), ((2, 3), -1, 3), ((4,), 1, 2), ((), 0, 3), ((0, 2), 1, 2)]:
    case("stack", lambda *xs, axis=axis: cr.stack(xs, axis=axis), lambda *xs, axis=axis: torch().stack(xs, dim=axis),
         *[randn(*shape) for _ in range(count)], id=f"stack({count}x{shape},axis={axis})")
case("stack", lambda x: cr.stack([x, x * 3.0], axis=1), lambda x: torch().stack([x, x * 3.0], dim=1), randn(2, 3),
     id="stack([x,3x])")


# -- pad -------------------------------------------------------------------------
def _torch_pad(pairs):
    """numpy.pad's ((before, after) per axis) in F.pad's order: last axis first, flattened."""
    return [w for before_after in reversed(pairs) for w in before_after]


for shape, width, pairs, value in [((2, 3), 1, [(1, 1), (1, 1)], 0.0),
                                   ((2, 3), ((1, 0), (2, 1)), [(1, 0), (2, 1)], 0.5),
                                   ((2, 3, 2), (0, 2), [(0, 2)] * 3, -1.0),
                                   ((0, 2), ((1, 1), (0, 0)), [(1, 1), (0, 0)], 2.0),
                                   ((4,), ((3, 0),), [(3, 0)], 0.0)]:
    case("pad", lambda a, w=width, v=value: cr.pad(a, w, value=v),
         lambda a, p=pairs, v=value: torch().nn.functional.pad(a, _torch_pad(p), value=v),
         randn(*shape), id=f"pad({shape},{width},value={value})")
case("pad", lambda x: cr.pad(x, 1) * cr.pad(x * x, 1), lambda x: torch().nn.functional.pad(x, [1, 1]) ** 3,
     randn(3), id="pad(x)*pad(x*x)")

# -- activations -----------------------------------------------------------------
for slope in (0.01, 0.2):
    case("leaky_relu", lambda a, s=slope: cr.leaky_relu(a, s), lambda a, s=slope: torch().nn.functional.leaky_relu(a, s),
         away_from_zero(3, 4), id=f"leaky_relu({slope})")
case("leaky_relu", lambda a: a.leaky_relu() * a, lambda a: torch().nn.functional.leaky_relu(a) * a,
     away_from_zero(5), id="leaky_relu(x)*x")
_extremes = np.array([-800.0, -50.0, -3.0, -0.2, 0.3, 4.0, 50.0, 800.0])
for tag, x in [("randn", randn(3, 4) * 3), ("extremes", _extremes), ("empty", randn(0, 2))]:
    case("sigmoid", cr.sigmoid, lambda a: a.sigmoid(), x, id=f"sigmoid({tag})")
    case("tanh", lambda a: a.tanh(), lambda a: a.tanh(), x, id=f"tanh({tag})")
    for approximate in ("none", "tanh"):
        case("gelu", lambda a, m=approximate: cr.gelu(a, approximate=m),
             lambda a, m=approximate: torch().nn.functional.gelu(a, approximate=m), x, id=f"gelu({approximate},{tag})")
    case("softplus", cr.softplus, lambda a: torch().nn.functional.softplus(a), x, id=f"softplus({tag})")
case("softplus", lambda a: a.softplus(beta=2.0, threshold=5.0),
     lambda a: torch().nn.functional.softplus(a, beta=2.0, threshold=5.0),
     np.array([-3.0, -0.5, 0.7, 1.9, 3.2, 6.0]), id="softplus(beta=2,threshold=5)")
case("sigmoid", lambda x: x.sigmoid() * x.tanh(), lambda x: x.sigmoid() * x.tanh(), randn(4), id="sigmoid(x)*tanh(x)")
case("tanh", lambda x: (x * x).tanh(), lambda x: (x * x).tanh(), randn(2, 3), id="tanh(x*x)")
case("gelu", lambda x: x.gelu() * x, lambda x: torch().nn.functional.gelu(x) * x, randn(4), id="gelu(x)*x")
case("softplus", lambda x: x.softplus() - x, lambda x: torch().nn.functional.softplus(x) - x, randn(4),
     id="softplus(x)-x")

for shape, axis, scale in [((3, 4), -1, 1.0), ((3, 4), 0, 1.0), ((2, 3, 4), 1, 1.0), ((3, 5), -1, 300.0),
                           ((3, 1), 1, 1.0), ((0, 4), -1, 1.0)]:
    tag = f"{shape},axis={axis},scale={scale}"
    case("softmax", lambda a, axis=axis: a.softmax(axis=axis), lambda a, axis=axis: a.softmax(dim=axis),
         randn(*shape) * scale, id=f"softmax({tag})")
    case("log_softmax", lambda a, axis=axis: cr.log_softmax(a, axis=axis), lambda a, axis=axis: a.log_softmax(dim=axis),
         randn(*shape) * scale, id=f"log_softmax({tag})")
case("softmax", lambda x: x.softmax() * x, lambda x: x.softmax(dim=-1) * x, randn(2, 3), id="softmax(x)*x")
case("log_softmax", lambda x: x.log_softmax(axis=0).exp() - x.softmax(axis=0), lambda x: x.log_softmax(0).exp() - x.softmax(0),
     randn(3, 2), id="exp(log_softmax(x))-softmax(x)")
case("log_softmax", lambda x, w: x.log_softmax() * w, lambda x, w: x.log_softmax(-1) * w,
     randn(4, 3), rng.uniform(0.0, 1.0, (4, 3)), id="log_softmax(x)*w")

# -- PyTorch's edge classes (issue: five disagreements) ---------------------------------------------
# 0-d inputs: dim 0 or -1 names a scalar's one dim; max/min/logsumexp give x, var nan (one sample,
# correction 1) or 0 (correction 0), softmax 1 and log_softmax 0 (with zero gradients).
for dim in (0, -1):
    case("max", lambda a, d=dim: a.max(axis=d) * a, lambda a, d=dim: a.amax(dim=d) * a, np.array(0.9),
         id=f"max(0-d,dim={dim})")
    case("min", lambda a, d=dim: a.min(axis=d, keepdims=True), lambda a, d=dim: a.amin(dim=d, keepdim=True),
         np.array(-1.1), id=f"min(0-d,dim={dim},keepdim)")
    case("logsumexp", lambda a, d=dim: cr.logsumexp(a, axis=d), lambda a, d=dim: a.logsumexp(dim=d),
         np.array(2.5), id=f"logsumexp(0-d,dim={dim})")
    case("softmax", lambda a, d=dim: a.softmax(axis=d) + a, lambda a, d=dim: a.softmax(dim=d) + a, np.array(0.4),
         id=f"softmax(0-d,dim={dim})")
    case("log_softmax", lambda a, d=dim: a.log_softmax(axis=d) * a, lambda a, d=dim: a.log_softmax(dim=d) * a,
         np.array(1.7), id=f"log_softmax(0-d,dim={dim})")
case("var", lambda a: a.var(axis=0, correction=0) + a, lambda a: a.var(dim=0, correction=0) + a, np.array(0.3),
     id="var(0-d,correction=0)")
# Integer inputs to the float functions give the default float dtype, as in PyTorch (ops/dtypes.py).
_int_logits = np.array([[2, -1, 0, 3], [-4, 1, 1, 0]])
for op, ours, theirs in [
    ("sigmoid", cr.sigmoid, lambda i: i.sigmoid()),
    ("tanh", cr.tanh, lambda i: i.tanh()),
    ("gelu", cr.gelu, lambda i: torch().nn.functional.gelu(i.float())),
    ("softplus", cr.softplus, lambda i: torch().nn.functional.softplus(i.float())),
    ("softmax", lambda i: cr.softmax(i, -1), lambda i: i.softmax(-1, dtype=torch().float32)),
    ("log_softmax", lambda i: cr.log_softmax(i, 0), lambda i: i.log_softmax(0, dtype=torch().float32)),
    ("logsumexp", lambda i: cr.logsumexp(i, 0), lambda i: i.float().logsumexp(0)),
    ("where", lambda i: cr.where(i > 0, i, 0.5), lambda i: torch().where(i > 0, i, 0.5)),
]:
    case(op, lambda i, w, f=ours: f(cr.tensor(i)).astype(w.dtype) * w, lambda i, w, f=theirs: f(i).to(w.dtype) * w,
         _int_logits, randn(1, 4), id=f"{op}(int64)", forward_rtol=1e-6)
# Integers mixed with integer arrays: PyTorch applies the integers first, so x[0, :, [0, 1]] on a
# (3, 4, 5) x is (4, 2) (NumPy: (2, 4)); repeated indices accumulate in the gradient.
_x345 = randn(3, 4, 5)
for tag, index in [
    ("[0,:,[0,1]]", (0, slice(None), [0, 1])),
    ("[0,:,[1,1,3]]", (0, slice(None), [1, 1, 3])),
    ("[-1,[2,2,0],1:3]", (-1, [2, 2, 0], slice(1, 3))),
    ("[[0,1],:,0]", ([0, 1], slice(None), 0)),
    ("[:,0,[4,4]]", (slice(None), 0, [4, 4])),
    ("[1,None,:,[3,0,3]]", (1, None, slice(None), [3, 0, 3])),
    ("[0,...,[2,2]]", (0, Ellipsis, [2, 2])),
    ("[[1,1],0,[0,4]]", ([1, 1], 0, [0, 4])),
]:
    case("getitem", lambda a, i=index: a[i], lambda a, i=index: a[i], _x345, id=f"getitem{tag}")
case("getitem", lambda a, m: a[1, m], lambda a, m: a[1, m], _x345, rng.random((4, 5)) > 0.5, id="getitem[1,mask]")
