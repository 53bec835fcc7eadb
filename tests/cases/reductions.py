"""Verification cases for the ops of ``chainrule/ops/reductions.py``."""
import warnings

import numpy as np

import chainrule as cr
from oracle import away_from_zero, case, distinct, randn

# -- reductions ------------------------------------------------------------------
for axis, keepdims in [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)]:
    case("sum", lambda a, axis=axis, k=keepdims: a.sum(axis=axis, keepdims=k),
         lambda a, axis=axis, k=keepdims: a.sum(dim=axis, keepdim=k) if axis is not None else a.sum(),
         randn(2, 3, 4), id=f"sum(axis={axis},keepdims={keepdims})")
    case("mean", lambda a, axis=axis, k=keepdims: a.mean(axis=axis, keepdims=k),
         lambda a, axis=axis, k=keepdims: a.mean(dim=axis, keepdim=k) if axis is not None else a.mean(),
         randn(2, 3, 4), id=f"mean(axis={axis},keepdims={keepdims})")
case("sum", lambda a: a.sum(axis=1), lambda a: a.sum(dim=1), randn(0, 3), id="sum(empty)")

# -- PyTorch's edge classes: 0-d inputs ---------------------------------------------
# 0-d inputs: a scalar has one reducible dim, named 0 or -1; reducing over it leaves the value.
for dim in (0, -1):
    case("sum", lambda a, d=dim: a.sum(axis=d), lambda a, d=dim: a.sum(dim=d), np.array(1.3), id=f"sum(0-d,dim={dim})")
    case("mean", lambda a, d=dim: a.mean(axis=d, keepdims=True), lambda a, d=dim: a.mean(dim=d, keepdim=True),
         np.array(-0.7), id=f"mean(0-d,dim={dim},keepdim)")

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

# -- PyTorch's edge classes ------------------------------------------------------------------
# 0-d inputs: dim 0 or -1 names a scalar's one dim; max/min/logsumexp give x, var nan (one sample,
# correction 1) or 0 (correction 0).
for dim in (0, -1):
    case("max", lambda a, d=dim: a.max(axis=d) * a, lambda a, d=dim: a.amax(dim=d) * a, np.array(0.9),
         id=f"max(0-d,dim={dim})")
    case("min", lambda a, d=dim: a.min(axis=d, keepdims=True), lambda a, d=dim: a.amin(dim=d, keepdim=True),
         np.array(-1.1), id=f"min(0-d,dim={dim},keepdim)")
    case("logsumexp", lambda a, d=dim: cr.logsumexp(a, axis=d), lambda a, d=dim: a.logsumexp(dim=d),
         np.array(2.5), id=f"logsumexp(0-d,dim={dim})")
case("var", lambda a: a.var(axis=0, correction=0) + a, lambda a: a.var(dim=0, correction=0) + a, np.array(0.3),
     id="var(0-d,correction=0)")
# An integer input gives the default float dtype, as in PyTorch (ops/dtypes.py).
case("logsumexp", lambda i, w: cr.logsumexp(cr.tensor(i), 0).astype(w.dtype) * w,
     lambda i, w: i.float().logsumexp(0).to(w.dtype) * w,
     np.array([[2, -1, 0, 3], [-4, 1, 1, 0]]), randn(1, 4), id="logsumexp(int64)", forward_rtol=1e-6)

# -- norm and std (compositions of sum or var with sqrt, abs, pow): filed under sum and var --------------
for p, dim, keepdim in [(2, None, False), (2, 1, True), (1, 0, False), (3, (0, 1), False)]:
    case("sum", lambda a, p=p, d=dim, k=keepdim: a.norm(p, d, k), lambda a, p=p, d=dim, k=keepdim: a.norm(p, d, k),
         away_from_zero(3, 4), id=f"norm(p={p},dim={dim},keepdim={keepdim})")
case("max", lambda a: a.norm(float("inf"), 1), lambda a: a.norm(float("inf"), 1), distinct(3, 4) - 5.0,
     id="norm(inf)")  # all negative and distinct: no tie in |a|
case("var", lambda a: a.std(1), lambda a: a.std(1), randn(3, 5), id="std(dim=1)")
case("var", lambda a: cr.std(a, (0, 1), keepdim=True, correction=0), lambda a: a.std((0, 1), keepdim=True, correction=0),
     randn(2, 4), id="std(correction=0)")

# -- prod, cumsum, cumprod (zeros included: the gradients are products of the others, never y/x) -------
_with_zeros = np.array([[0.5, 0.0, 1.5, -2.0], [1.2, -0.7, 0.0, 0.0], [0.9, 1.1, -1.3, 0.6]])
for tag, x in [("randn", randn(3, 4)), ("zeros", _with_zeros)]:
    case("prod", lambda a: a.prod(), lambda a: a.prod(), x, id=f"prod({tag})")
    case("prod", lambda a: a.prod(1), lambda a: a.prod(1), x, id=f"prod(dim=1,{tag})")
    case("prod", lambda a: cr.prod(a, 0, keepdim=True), lambda a: a.prod(0, keepdim=True), x, id=f"prod(dim=0,keepdim,{tag})")
    case("cumprod", lambda a: a.cumprod(1), lambda a: a.cumprod(1), x, id=f"cumprod(dim=1,{tag})")
    case("cumprod", lambda a: a.cumprod(0), lambda a: a.cumprod(0), x, id=f"cumprod(dim=0,{tag})")
case("prod", lambda a: a.prod(), lambda a: a.prod(), randn(), id="prod(0-d)")
case("prod", lambda a: a.prod(1), lambda a: a.prod(1), randn(2, 0), id="prod(empty axis)")
for dim in (0, 1, -1):
    case("cumsum", lambda a, d=dim: a.cumsum(d), lambda a, d=dim: a.cumsum(d), randn(3, 4), id=f"cumsum(dim={dim})")
case("cumsum", lambda a: cr.cumsum(a * a, 0), lambda a: (a * a).cumsum(0), randn(5), id="cumsum(x*x)")
