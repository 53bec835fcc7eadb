"""Verification cases for the ops of ``chainrule/ops/shape.py``."""
import numpy as np

import chainrule as cr
from oracle import away_from_zero, case, randn, rng, torch, torch_gradient_of

# -- shape -----------------------------------------------------------------------
case("reshape", lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1), randn(2, 3, 4))
case("reshape", lambda a: a.reshape(()), lambda a: a.reshape(()), randn(1, 1), id="reshape(to scalar)")
case("reshape", lambda a: a.reshape(0, 5), lambda a: a.reshape(0, 5), randn(5, 0), id="reshape(empty)")
case("reshape", lambda a: a.reshape(6) * a.reshape(2, 3).sum(axis=0).reshape(1, 3).reshape(3).sum(),
     lambda a: a.reshape(6) * a.reshape(2, 3).sum(dim=0).reshape(1, 3).reshape(3).sum(), randn(3, 2),
     id="reshape(x used twice)")
case("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), randn(2, 3, 4))
case("permute", lambda a: a.T, lambda a: a.T, randn(2, 5), id="permute(T)")
case("permute", lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2), randn(2, 3, 4), id="transpose(0,2)")

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

# -- PyTorch's edge classes ------------------------------------------------------------------
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

# -- getitem_backward: getitem's gradient as an op (linear in dy), against torch's gradient of a[index] ---------
for tag, index, torch_index in [
    ("int", 1, 1),
    ("slices", (slice(None), slice(1, 3)), (slice(None), slice(1, 3))),
    ("repeated ints", [0, 2, 0], [0, 2, 0]),
    ("int pairs", ([0, 1, 1], [2, 2, 0]), ([0, 1, 1], [2, 2, 0])),
    ("mask", _rows, "tensor"),
    ("empty list", [], []),
]:
    def forward(a, i=torch_index if torch_index != "tensor" else index, as_tensor=torch_index == "tensor"):
        return a[torch().as_tensor(i)] if as_tensor else a[i]
    dy_shape = cr.zeros(4, 5)[index].shape
    case("getitem_backward", lambda dy, i=index: cr.ops.shape.GetItemBackward((4, 5), i)(dy),
         torch_gradient_of(forward, (4, 5)), randn(*dy_shape), id=f"getitem_backward({tag})")
case("getitem_backward", lambda dy: cr.ops.shape.GetItemBackward((3, 4, 5), (0, slice(None), [0, 1, 1]))(dy),
     torch_gradient_of(lambda a: a[0, :, [0, 1, 1]], (3, 4, 5)), randn(4, 3), id="getitem_backward(int then array)")

# -- PyTorch's views and selections (compositions of reshape, broadcast_to and getitem) --------------
_ints = np.array([[2, 0, 1, 1], [0, 2, 2, 1]])
for op, ours, theirs, x in [
    ("broadcast_to", lambda a: a.expand(2, -1, 4), lambda a: a.expand(2, -1, 4), randn(3, 1)),
    ("broadcast_to", lambda a: cr.expand(a, (3, 2)), lambda a: a.expand(3, 2), randn(2)),
    ("reshape", lambda a: a.repeat(2, 3), lambda a: a.repeat(2, 3), randn(2, 3)),
    ("reshape", lambda a: a.repeat(2, 1, 2), lambda a: a.repeat(2, 1, 2), randn(3, 2)),
    ("getitem", lambda a: a.flip(0), lambda a: a.flip(0), randn(3, 4)),
    ("getitem", lambda a: a.flip((0, 2)), lambda a: a.flip((0, 2)), randn(2, 3, 4)),
    ("getitem", lambda a: a.roll(1, 0), lambda a: a.roll(1, 0), randn(4, 3)),
    ("getitem", lambda a: a.roll((2, -1), (1, 0)), lambda a: a.roll((2, -1), (1, 0)), randn(3, 5)),
    ("getitem", lambda a: a.roll(3), lambda a: a.roll(3), randn(2, 3)),
    ("getitem", lambda a: a.narrow(1, 1, 2), lambda a: a.narrow(1, 1, 2), randn(3, 4)),
    ("getitem", lambda a: cr.cat(a.split(2, 1), 0), lambda a: torch().cat(a.split(2, 1), 0), randn(3, 4)),
    ("getitem", lambda a: cr.cat(a.split([1, 3], 1)[::-1], 1), lambda a: torch().cat(a.split([1, 3], 1)[::-1], 1),
     randn(2, 4)),
    ("getitem", lambda a: cr.stack(a.chunk(3, 0), 0), lambda a: torch().stack(a.chunk(3, 0), 0), randn(6, 2)),
    ("getitem", lambda a: cr.stack(a.unbind(1)[::-1], 0), lambda a: torch().stack(a.unbind(1)[::-1], 0), randn(3, 4)),
    ("getitem", lambda a: a.index_select(1, cr.tensor([3, 0, 0])), lambda a: a.index_select(1, torch().tensor([3, 0, 0])),
     randn(2, 4)),
    ("getitem", lambda a: a.gather(1, _ints), lambda a: a.gather(1, torch().tensor(_ints)), randn(2, 3)),
    ("getitem", lambda a: a.gather(0, _ints[:, :2]), lambda a: a.gather(0, torch().tensor(_ints[:, :2])), randn(3, 3)),
]:
    case(op, ours, theirs, x, id=f"{op}:{ours.__code__.co_firstlineno}")
_columns = np.array([[1, 0, 2], [2, 1, 0]])
case("getitem_backward", lambda a, s: a.scatter_add(1, _ints, s), lambda a, s: a.scatter_add(1, torch().tensor(_ints), s),
     randn(2, 3), randn(2, 4), id="scatter_add(repeats)")
case("getitem_backward", lambda a, s: a.scatter_add(1, _ints, s), None, randn(2, 3), randn(2, 5),
     id="scatter_add(src larger than index)")  # torch's own backward refuses this shape
case("getitem_backward", lambda a, s: a.scatter(1, _columns, s), lambda a, s: a.scatter(1, torch().tensor(_columns), s),
     randn(2, 4), randn(2, 3), id="scatter")
case("getitem_backward", lambda a: a.scatter(0, [[1, 0, 1]], 1.5), lambda a: a.scatter(0, torch().tensor([[1, 0, 1]]), 1.5),
     randn(2, 3), id="scatter(value)")
case("contiguous", lambda a: a.t().contiguous(), lambda a: a.t().contiguous(), randn(3, 4), id="contiguous(transposed)")
case("contiguous", lambda a: cr.ops.shape.Contiguous()(a) * a, lambda a: a * a, randn(2, 3), id="contiguous(x)*x")

# -- interpolate (indexing and weighted sums), the pad of the last axes ------------------------------------
for kwargs in [dict(scale_factor=2, mode="nearest"), dict(size=(5, 3), mode="nearest"),
               dict(scale_factor=2, mode="bilinear"), dict(size=(7, 4), mode="bilinear"),
               dict(size=(5, 6), mode="bilinear", align_corners=True), dict(size=(2, 2), mode="bilinear")]:
    case("getitem", lambda x, k=kwargs: cr.interpolate(x, **k), lambda x, k=kwargs: torch().nn.functional.interpolate(x, **k),
         randn(2, 2, 3, 4), id=f"interpolate({kwargs})")
case("pad", lambda x: cr.ops.shape.PadLastAxes(((1, 2), (0, 3)))(x), lambda x: torch().nn.functional.pad(x, (0, 3, 1, 2)),
     randn(2, 3, 2, 2), id="pad(last two axes)")
