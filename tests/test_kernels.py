"""The compiled kernels against the NumPy code they replace: the same bits.

SGD: both paths apply PyTorch's rule with the same roundings in the same order
(test_optim checks each against torch.optim.SGD); here they must agree exactly, step
after step, for every option, both dtypes and awkward layouts, which fall back to NumPy.
outer: Linear's weight gradient at batch size 1 equals BLAS's dyᵀ·x exactly.
relu: NumPy's bits, signed zeros and NaNs included.
cross_entropy: the forward agrees with the NumPy path to a few units in the last place
(libm's exp and log against NumPy's); the backward gives its bits; inputs the kernel
cannot take fall back to it, and bad labels get its messages.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops, optim
from chainrule import kernels
from chainrule.kernels import _kernels  # the raw extension (None when not built)

from optim_options import sgd_options

needs_kernels = pytest.mark.skipif(not kernels.AVAILABLE, reason="chainrule was installed without its C kernels")


def test_ci_builds_the_kernels():
    if os.environ.get("CI") and not kernels.AVAILABLE:
        pytest.fail("CI is set but chainrule._kernels was not built: the kernel tests would be skipped")


def twin_params(shapes, dtype):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    return [[cr.Tensor(array.copy(), requires_grad=True) for array in arrays] for _ in range(2)]


def run_twins(options, dtype, shapes=((64, 78), (64,), (3, 5, 2), ()), steps=6, grad_layout=np.asarray):
    kernel_params, numpy_params = twin_params(shapes, dtype)
    kernel_opt = optim.SGD(kernel_params, **options, fused=True)
    numpy_opt = optim.SGD(numpy_params, **options, fused=False)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        for a, b in zip(kernel_params, numpy_params):
            grad = grad_layout(np.asarray(rng.standard_normal(a.shape) * 3, dtype=dtype))
            a.grad, b.grad = grad, grad.copy(order="K")
        kernel_opt.step()
        numpy_opt.step()
        for a, b in zip(kernel_params, numpy_params):
            np.testing.assert_array_equal(a.data, b.data)
            assert a.data.dtype == dtype
            buffers = [opt.state.get(p, {}).get("momentum_buffer") for opt, p in ((kernel_opt, a), (numpy_opt, b))]
            if options.get("momentum"):
                np.testing.assert_array_equal(*buffers)
            else:
                assert buffers == [None, None]


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", list(sgd_options()), ids=str)
def test_kernel_gives_the_numpy_paths_bits(options, dtype):
    run_twins(options, dtype)


@needs_kernels
@pytest.mark.parametrize("layout", [np.asfortranarray, lambda a: np.repeat(a, 2, axis=1)[:, ::2]], ids=["fortran", "strided"])
def test_non_contiguous_gradients_take_the_numpy_path_with_the_same_result(layout):
    run_twins(dict(lr=0.1, momentum=0.9), np.float32, shapes=((7, 5),), grad_layout=layout)


@needs_kernels
@pytest.mark.parametrize("case", ["float16", "float64 gradient"])
def test_arrays_the_kernel_cannot_take_fall_back_to_numpy(case):
    dtype, grad_dtype = (np.float16, np.float16) if case == "float16" else (np.float32, np.float64)
    results = []
    for fused in (True, False):
        p = cr.Tensor(np.random.default_rng(2).standard_normal((4, 3)).astype(dtype), requires_grad=True)
        opt = optim.SGD([p], lr=0.1, momentum=0.9, fused=fused)
        for seed in range(3):
            p.grad = np.random.default_rng(seed).standard_normal((4, 3)).astype(grad_dtype)
            opt.step()
        results.append((p.data, opt.state[p]["momentum_buffer"]))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert results[0][0].dtype == dtype


@needs_kernels
def test_kernel_rejects_arrays_it_cannot_take_before_touching_them():
    a = np.zeros(4, np.float32)
    read_only = np.zeros(4, np.float32)
    read_only.flags.writeable = False
    rejected = [
        (ValueError, "share dtype and size", (a, np.zeros(5, np.float32), None)),
        (ValueError, "share dtype and size", (a, np.zeros(4, np.float64), None)),
        (TypeError, "float32 or float64", (np.zeros(4, np.int32), np.zeros(4, np.int32), None)),
        (ValueError, "not C-contiguous", (np.zeros((2, 4), np.float32).T, np.zeros((4, 2), np.float32), None)),
        (ValueError, "read-only", (read_only, a, None)),
        (TypeError, "bytes-like", (a, [0.0] * 4, None)),
    ]
    for error, message, arrays in rejected:
        assert issubclass(error, kernels.DOES_NOT_FIT)
        before = [np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in arrays]
        with pytest.raises(error, match=message):
            _kernels.sgd(*arrays, 0.1, 0.0, 0.0, 0.0, False, False, False)
        for x, y in zip(arrays, before):
            if isinstance(x, np.ndarray):
                np.testing.assert_array_equal(x, y)


def test_fused_true_without_kernels_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(kernels, "AVAILABLE", False)
    p = cr.Tensor(np.zeros(3, np.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match="without its compiled kernels"):
        optim.SGD([p], lr=0.1, fused=True)
    assert optim.SGD([p], lr=0.1).fused is False


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, n", [(64, 784), (10, 64), (1, 1), (3, 0), (0, 5)])
def test_outer_gives_blas_bits(m, n, dtype):
    rng = np.random.default_rng(m * 1000 + n)
    a, b = rng.standard_normal((1, m)).astype(dtype), rng.standard_normal((1, n)).astype(dtype)
    out = np.full((m, n), np.nan, dtype)
    _kernels.outer(a, b, out)
    np.testing.assert_array_equal(out, np.dot(a.T, b))


@needs_kernels
def test_outer_rejects_mismatched_arrays_before_writing():
    a, b = np.ones(3, np.float32), np.ones(4, np.float32)
    for out, expected in [(np.zeros((3, 5), np.float32), ValueError), (np.zeros((3, 4), np.float64), ValueError),
                          (np.zeros((4, 3), np.float32).T, ValueError)]:
        before = out.copy()
        with pytest.raises(expected):
            _kernels.outer(a, b, out)
        np.testing.assert_array_equal(out, before)
    with pytest.raises(ValueError, match="share dtype"):
        _kernels.outer(a, b.astype(np.float64), np.zeros((3, 4), np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_linear_weight_gradient_at_batch_one_is_blas_product(dtype, layout):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2 * 30)).astype(dtype)
    x = x if layout == "contiguous" else x[:, ::2]  # a strided input falls back to BLAS
    x = x[:, :30] if layout == "contiguous" else x
    W, b = rng.standard_normal((7, 30)).astype(dtype), rng.standard_normal(7).astype(dtype)
    linear = ops.Linear()
    linear.forward(x, W, b)
    dy = rng.standard_normal((1, 7)).astype(dtype)
    dx, dW, db = linear.backward(dy)
    np.testing.assert_array_equal(dW, np.dot(dy.T, x))
    assert dW.dtype == dtype and dW.flags.c_contiguous
    np.testing.assert_array_equal(dx, np.dot(dy, W))


@contextlib.contextmanager
def numpy_path(monkeypatch):
    """Within the block, every op takes its NumPy code: the oracle for the kernels."""
    with monkeypatch.context() as patch:
        patch.setattr(kernels, "AVAILABLE", False)
        yield


# -- ReLU --------------------------------------------------------------------------------------
SPECIAL = [-0.0, 0.0, np.nan, -np.nan, -1.0, 2.0, np.inf, -np.inf, 1e-45, -1e-45]


def relu_both_ways(monkeypatch, x, dy):
    """ReLU's output and input gradient through the kernels and through NumPy."""
    def run():
        op = ops.ReLU()
        return op.forward(x), op.backward(dy)[0]

    through_kernels = run()
    with numpy_path(monkeypatch):
        return through_kernels, run()


def assert_same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)
    assert a.tobytes() == b.tobytes(), "equal values, other bits: a signed zero or a NaN's sign"


@needs_kernels
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf·0 in the NumPy path
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (0,), (len(SPECIAL) ** 2,), (1, 64), (3, 5, 7), (2, 3, 4, 5)])
def test_relu_kernels_give_the_numpy_paths_bits(monkeypatch, shape, dtype):
    size = int(np.prod(shape))
    pairs = np.array([(x, dy) for x in SPECIAL for dy in SPECIAL], dtype)  # every special value against every other
    if size <= len(pairs):
        x, dy = pairs[:size, 0].reshape(shape), pairs[:size, 1].reshape(shape)
    else:
        rng = np.random.default_rng(size)
        x, dy = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    (y, dx), (y_numpy, dx_numpy) = relu_both_ways(monkeypatch, x, dy)
    assert_same_bits(y, y_numpy)
    assert_same_bits(dx, dx_numpy)


def laid_out(array, order):
    """``array`` with the same values, laid out in memory with axes ``order`` outermost first."""
    return np.ascontiguousarray(array.transpose(order)).transpose(np.argsort(order))


def spy_on(monkeypatch, name: str) -> list:
    """Count the calls of one raw kernel: the test then knows the kernel ran, not its fallback."""
    calls, kernel = [], getattr(_kernels, name)
    monkeypatch.setattr(kernels, "_kernels", type("Spied", (), {
        **{n: staticmethod(getattr(_kernels, n)) for n in dir(_kernels) if not n.startswith("_")},
        name: staticmethod(lambda *args: (calls.append(name), kernel(*args))[1])}))
    return calls


@needs_kernels
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf·0 in the NumPy path
@pytest.mark.parametrize("order", [(1, 2, 3, 0), (3, 2, 1, 0), (0, 2, 3, 1)], ids=["batch-last", "fortran", "nhwc"])
def test_relu_kernels_take_any_dense_layout_with_the_numpy_paths_bits(monkeypatch, order):
    rng = np.random.default_rng(4)
    x, dy = (laid_out(rng.standard_normal((3, 4, 5, 6)).astype(np.float32), order) for _ in range(2))
    x.flat[::7], dy.flat[::5] = np.nan, np.inf
    x.flat[1::9] = -0.0
    calls = spy_on(monkeypatch, "relu_backward")
    (y, dx), (y_numpy, dx_numpy) = relu_both_ways(monkeypatch, x, dy)
    assert calls == ["relu_backward"]  # the kernel ran, not the fallback
    assert_same_bits(y, y_numpy)
    assert_same_bits(dx, dx_numpy)
    assert y.strides == x.strides and dx.strides == x.strides  # x's layout kept


@needs_kernels
@pytest.mark.parametrize("case", ["strided", "dy in another layout", "float16", "int32", "broadcast dy",
                                  "dy of another dtype"])
def test_relu_inputs_the_kernels_cannot_take_fall_back_to_numpy(monkeypatch, case):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    dy = rng.standard_normal((4, 6)).astype(np.float32)
    if case == "dy in another layout":
        dy = np.asfortranarray(dy)
    elif case == "strided":
        x, dy = x[:, ::2], dy[:, ::2]
    elif case == "float16":
        x, dy = x.astype(np.float16), dy.astype(np.float16)
    elif case == "int32":
        x, dy = (x * 10).astype(np.int32), (dy * 10).astype(np.int32)
    elif case == "broadcast dy":
        dy = dy[0]  # a hand call may pass one row; NumPy broadcasts it
    else:
        dy = dy.astype(np.float64)
    (y, dx), (y_numpy, dx_numpy) = relu_both_ways(monkeypatch, x, dy)
    assert_same_bits(y, y_numpy)
    assert_same_bits(dx, dx_numpy)


@needs_kernels
def test_relu_kernels_reject_mismatched_arrays_before_writing():
    x = np.ones(4, np.float32)
    for out in [np.zeros(5, np.float32), np.zeros(4, np.float64), np.zeros((4, 2), np.float32)[:, 0]]:
        before = out.copy()
        with pytest.raises(kernels.DOES_NOT_FIT):
            _kernels.relu(x, out)
        with pytest.raises(kernels.DOES_NOT_FIT):
            _kernels.relu_backward(x, x, out)
        np.testing.assert_array_equal(out, before)
    dx = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="share dtype and size"):
        _kernels.relu_backward(x, np.ones(3, np.float32), dx)
    assert not dx.any()


# -- max pooling -------------------------------------------------------------------------------
POOL_GEOMETRIES = [
    ((2, 2), (2, 2), (0, 0), (8, 6)),  # the windows tile the input: every pixel written once
    ((2, 2), (2, 2), (0, 0), (9, 7)),  # a row and a column left over
    ((3, 3), (2, 2), (1, 1), (9, 7)),  # overlapping windows, padding
    ((3, 2), (1, 2), (1, 0), (5, 6)),  # overlapping rows only
]
POOL_IDS = ["tiles", "left-over", "overlap-padded", "rows-overlap"]
POOL_LAYOUTS = {"nchw": (0, 1, 2, 3), "batch-last": (1, 2, 3, 0), "nhwc": (0, 2, 3, 1)}


def pool_input(geometry, values: str, dtype, order, seed=5):
    """An input for max pooling; "ties and non-finite": rounded values (ties), −0 beside +0, NaN and
    −inf, and one plane of −inf only (its windows keep their first pixel)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 4, *geometry[3])).astype(dtype)
    if values != "random":
        x = np.round(x).astype(dtype)
        x.flat[::13], x.flat[1::11], x.flat[2::7] = -np.inf, np.nan, -0.0
        x[0, 0] = -np.inf
    return laid_out(x, order)


def max_pool_forward(x, geometry):
    op = ops.MaxPool2d(*geometry[:3])
    op.needs_input_grad = (True,)
    return op.forward(x), op.saved_tensors[0]


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", list(POOL_LAYOUTS.values()), ids=list(POOL_LAYOUTS))
@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=POOL_IDS)
@pytest.mark.parametrize("values", ["random", "ties and non-finite"])
def test_max_pool_kernel_agrees_with_the_numpy_path_and_keeps_the_layout(monkeypatch, values, geometry, order, dtype):
    x = pool_input(geometry, values, dtype, order)
    calls = spy_on(monkeypatch, "max_pool")
    y, offsets = max_pool_forward(x, geometry)
    assert calls == ["max_pool"]
    with numpy_path(monkeypatch):
        y_numpy, offsets_numpy = max_pool_forward(x, geometry)
    # Equal values (NaN where NumPy has NaN) and the same offsets; the sign of a zero tied with
    # another may differ: the kernel returns the value at the offset, NumPy's maximum() the later zero.
    np.testing.assert_array_equal(y, y_numpy)
    np.testing.assert_array_equal(offsets, offsets_numpy)
    assert y.dtype == dtype and offsets.dtype == np.uint8
    assert y.strides == y_numpy.strides and offsets.strides == offsets_numpy.strides


@needs_kernels
@pytest.mark.parametrize("order", list(POOL_LAYOUTS.values()), ids=list(POOL_LAYOUTS))
@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=POOL_IDS)
def test_max_pool_kernel_gives_torchs_bits_and_indices(geometry, order):
    """PyTorch's max_pool2d on the same values: the same bits (signed zeros and NaN included) and
    the same input pixel for every window."""
    torch = pytest.importorskip("torch")
    kernel, stride, padding, _ = geometry
    x = pool_input(geometry, "ties and non-finite", np.float32, order)
    y, offsets = max_pool_forward(x, geometry)
    want, indices = torch.nn.functional.max_pool2d(torch.from_numpy(np.ascontiguousarray(x)), kernel, stride, padding,
                                                   return_indices=True)
    assert y.tobytes(order="C") == want.numpy().tobytes()
    width = x.shape[3]
    rows = np.arange(y.shape[2])[:, None] * stride[0] - padding[0] + offsets // kernel[1]
    columns = np.arange(y.shape[3])[None, :] * stride[1] - padding[1] + offsets % kernel[1]
    np.testing.assert_array_equal(rows * width + columns, indices.numpy())


@needs_kernels
def test_max_pool_kernel_rejects_what_it_cannot_take_before_writing():
    x = np.ones((2, 6, 6, 4), np.float32)
    for y, offsets in [
        (np.zeros((2, 3, 3, 4), np.float64), np.zeros((2, 3, 3, 4), np.uint8)),  # y of another dtype
        (np.zeros((2, 3, 3, 4), np.float32), np.zeros((2, 3, 3, 4), np.int64)),  # offsets not uint8
        (np.zeros((2, 4, 4, 4), np.float32), np.zeros((2, 4, 4, 4), np.uint8)),  # windows past the input
        (np.zeros((2, 3, 3, 5), np.float32), np.zeros((2, 3, 3, 5), np.uint8)),  # another inner size
    ]:
        before = y.copy()
        with pytest.raises(kernels.DOES_NOT_FIT):
            _kernels.max_pool(x, y, offsets, 2, 2, 2, 2, 0, 0)
        np.testing.assert_array_equal(y, before)
    with pytest.raises(ValueError, match="half the kernel"):
        _kernels.max_pool(x, np.zeros((2, 4, 4, 4), np.float32), np.zeros((2, 4, 4, 4), np.uint8), 2, 2, 2, 2, 2, 2)


# -- max pooling's backward -----------------------------------------------------------------
def max_pool_gradients(monkeypatch, x, dy, kernel, stride, padding):
    """dx of MaxPool2d through the kernel (checked to have run) and through NumPy."""
    def run():
        op = ops.MaxPool2d(kernel, stride, padding)
        op.needs_input_grad = (True,)
        op.forward(x)
        return op.backward(dy)[0]

    calls = spy_on(monkeypatch, "max_pool_backward")
    through_kernel = run()
    assert calls == ["max_pool_backward"]
    with numpy_path(monkeypatch):
        return through_kernel, run()


@needs_kernels
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf·0 in the NumPy path
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", list(POOL_LAYOUTS.values()), ids=list(POOL_LAYOUTS))
@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=POOL_IDS)
@pytest.mark.parametrize("values", ["random", "ties and non-finite"])
def test_max_pool_backward_kernel_agrees_with_the_numpy_path(monkeypatch, values, geometry, order, dtype):
    kernel, stride, padding, _ = geometry
    rng = np.random.default_rng(5)
    x = pool_input(geometry, values, dtype, order)
    op = ops.MaxPool2d(kernel, stride, padding)
    dy = laid_out(rng.standard_normal(op.forward(x).shape).astype(dtype), order)
    if values != "random":
        dy.flat[::5], dy.flat[2::7] = np.inf, np.nan  # sums over overlapping windows take inf − inf, NaN
    dx, dx_numpy = max_pool_gradients(monkeypatch, x, dy, kernel, stride, padding)
    assert dx.dtype == dtype and dx.shape == x.shape and dx.strides == laid_out(dx, order).strides
    # Equal values; the NumPy path may give −0 where the kernel gives +0 (dy·0 against a sum onto 0).
    np.testing.assert_array_equal(dx, dx_numpy)


@needs_kernels
def test_max_pool_backward_kernel_takes_a_gradient_with_gaps(monkeypatch):
    """dy cut out of a larger array, as a convolution's dx is cut out of its padded one."""
    rng = np.random.default_rng(7)
    x = laid_out(rng.standard_normal((4, 3, 8, 8)).astype(np.float32), (1, 2, 3, 0))
    padded = laid_out(rng.standard_normal((4, 3, 6, 6)).astype(np.float32), (1, 2, 3, 0))
    dy = padded[:, :, 1:-1, 1:-1]
    dx, dx_numpy = max_pool_gradients(monkeypatch, x, dy, 2, 2, 0)
    np.testing.assert_array_equal(dx, dx_numpy)


@needs_kernels
def test_max_pool_backward_kernel_rejects_what_it_cannot_take_before_writing():
    dy, offsets = np.ones((2, 3, 3, 4), np.float32), np.zeros((2, 3, 3, 4), np.uint8)
    for bad_dy, bad_offsets, dx in [
        (dy, offsets.astype(np.int64), np.zeros((2, 6, 6, 4), np.float32)),  # offsets not uint8
        (dy, offsets, np.zeros((2, 6, 6, 4), np.float64)),  # dx of another dtype
        (dy, offsets, np.zeros((2, 6, 6, 5), np.float32)),  # another inner size
        (dy, offsets[:, :2], np.zeros((2, 6, 6, 4), np.float32)),  # offsets of another shape
        (dy, offsets, np.zeros((2, 6, 12, 4), np.float32)[:, :, ::2]),  # dx not contiguous
    ]:
        before = dx.copy()
        with pytest.raises(kernels.DOES_NOT_FIT):
            _kernels.max_pool_backward(bad_dy, bad_offsets, dx, 2, 2, 2, 2, 0, 0)
        np.testing.assert_array_equal(dx, before)
    with pytest.raises(ValueError, match="must not overlap"):
        shared = np.zeros((2, 3, 3, 4), np.float32)
        _kernels.max_pool_backward(shared, offsets, shared, 1, 1, 1, 1, 0, 0)


@needs_kernels
def test_max_pool_backward_takes_numpy_where_the_layout_splits_the_image(monkeypatch):
    """H and W apart in memory (H outermost, W innermost): no (A, H, W, B) view, so NumPy's path."""
    rng = np.random.default_rng(6)
    x = laid_out(rng.standard_normal((2, 3, 4, 6)).astype(np.float32), (2, 0, 1, 3))
    op = ops.MaxPool2d(2)
    op.needs_input_grad = (True,)
    dy = laid_out(rng.standard_normal(op.forward(x).shape).astype(np.float32), (2, 0, 1, 3))
    calls = spy_on(monkeypatch, "max_pool_backward")
    dx = op.backward(dy)[0]
    assert calls == []
    with numpy_path(monkeypatch):
        np.testing.assert_array_equal(dx, op.backward(dy)[0])


# -- batch normalisation --------------------------------------------------------------------
def batch_norm_outputs(x, affine, dy, training=True, need=(True, True, True)):
    """y, the input gradients and the running statistics of one BatchNorm forward and backward."""
    running = np.zeros(x.shape[1], x.dtype), np.ones(x.shape[1], x.dtype)
    op = ops.BatchNorm(*running, training=training)
    op.needs_input_grad = need[:1 + len(affine)]
    y = op.forward(x, *affine)
    return [y, *(g for g in op.backward(dy) if g is not None), *running]


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [0, 1, 2], ids=["no affine", "weight only", "weight and bias"])
@pytest.mark.parametrize("order", [(1, 2, 3, 0), (0, 1, 2, 3)], ids=["batch-last (rows are a view)", "nchw (copied)"])
@pytest.mark.parametrize("training", [True, False], ids=["training", "running statistics"])
def test_batch_norm_kernels_agree_with_numpy_and_are_closer_to_float64(monkeypatch, training, order, affine, dtype):
    """The kernels sum in double, NumPy in the array's precision: equal up to rounding. In float32
    the float64 computation is the oracle, and the kernels are no further from it than NumPy's path;
    in float64 agreement is asserted."""
    rng = np.random.default_rng(9)
    shape = (16, 3, 10, 9)
    x = laid_out((rng.standard_normal(shape) * 3 + 40).astype(dtype), order)  # |mean| ≫ std: cancellation
    dy = laid_out(rng.standard_normal(shape).astype(dtype), order)
    params = [rng.standard_normal(3).astype(dtype) for _ in range(affine)]
    calls = spy_on(monkeypatch, "batch_norm_backward")
    through_kernels = batch_norm_outputs(x, params, dy, training)
    assert calls == ["batch_norm_backward"]
    with numpy_path(monkeypatch):
        through_numpy = batch_norm_outputs(x, params, dy, training)
        exact = batch_norm_outputs(x.astype(np.float64), [p.astype(np.float64) for p in params],
                                   dy.astype(np.float64), training)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for kernel_value, numpy_value, exact_value in zip(through_kernels, through_numpy, exact):
        assert kernel_value.dtype == dtype and kernel_value.shape == numpy_value.shape
        scale = np.max(np.abs(exact_value)) + 1e-30
        np.testing.assert_allclose(kernel_value, numpy_value, rtol=0, atol=tolerance * scale)
        if dtype == np.float32:
            kernel_error = np.max(np.abs(kernel_value - exact_value)) / scale
            numpy_error = np.max(np.abs(numpy_value - exact_value)) / scale
            assert kernel_error <= numpy_error + 2 ** -23


@needs_kernels
def test_batch_norm_kernels_skip_dx_when_x_needs_no_gradient(monkeypatch):
    rng = np.random.default_rng(10)
    x, dy = rng.standard_normal((6, 4, 3, 3)).astype(np.float32), rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    params = [np.ones(4, np.float32), np.zeros(4, np.float32)]
    got = batch_norm_outputs(x, params, dy, need=(False, True, True))
    with numpy_path(monkeypatch):
        want = batch_norm_outputs(x, params, dy, need=(False, True, True))
    assert len(got) == len(want) == 5  # y, dγ, dβ, running mean and variance: no dx
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@needs_kernels
def test_batch_norm_kernels_reject_what_they_cannot_take_before_writing():
    x = np.ones((3, 5), np.float32)
    per_channel = [np.zeros(3, np.float32) for _ in range(3)]
    for bad in [np.zeros((3, 5), np.float64), np.zeros((3, 4), np.float32), np.zeros((3, 10), np.float32)[:, ::2]]:
        before = bad.copy()
        with pytest.raises(kernels.DOES_NOT_FIT):
            _kernels.batch_norm(x, None, None, 1e-5, bad, None, *per_channel)
        with pytest.raises(kernels.DOES_NOT_FIT):
            _kernels.batch_norm_backward(x, x, per_channel[0], True, bad, *per_channel[1:])
        np.testing.assert_array_equal(bad, before)
    with pytest.raises(ValueError, match="C values"):
        _kernels.batch_norm(x, np.ones(4, np.float32), None, 1e-5, np.empty_like(x), np.empty_like(x), *per_channel)
    with pytest.raises(ValueError, match="must not overlap"):
        _kernels.batch_norm(x, None, None, 1e-5, x, None, *per_channel)


# -- softmax cross-entropy -----------------------------------------------------------------
def cross_entropy_op(logits, labels, reduction, smoothing):
    op = ops.SoftmaxCrossEntropy(reduction, smoothing)
    return op, op.forward(logits, labels)


def cross_entropy_without_kernels(monkeypatch, logits, labels, reduction, smoothing, dy):
    """The NumPy path's loss and logits gradient."""
    with numpy_path(monkeypatch):
        op, loss = cross_entropy_op(logits, labels, reduction, smoothing)
        return loss, op.backward(dy)[0]


def upstream(loss, seed=3):
    return np.random.default_rng(seed).standard_normal(loss.shape).astype(loss.dtype)


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("shape", [(1, 10), (7, 5), (128, 10), (3, 1), (40, 100)])  # the last: NumPy's forward
def test_cross_entropy_kernel_agrees_with_the_numpy_path(monkeypatch, shape, smoothing, reduction, dtype):
    rng = np.random.default_rng(shape[0])
    logits = (rng.standard_normal(shape) * 4).astype(dtype)
    labels = rng.integers(0, shape[1], shape[0])
    op, loss = cross_entropy_op(logits, labels, reduction, smoothing)
    dy = upstream(loss)
    expected_loss, expected_grad = cross_entropy_without_kernels(monkeypatch, logits, labels, reduction, smoothing, dy)
    # exp and log from libm and a double total against NumPy's vectorized exp, log and pairwise sum
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(loss, expected_loss, rtol=16 * eps, atol=16 * eps)
    np.testing.assert_allclose(op.backward(dy)[0], expected_grad, rtol=16 * eps, atol=16 * eps * np.abs(dy).max())
    assert loss.dtype == dtype and loss.shape == expected_loss.shape


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_backward_kernel_gives_the_numpy_paths_bits(monkeypatch, smoothing, reduction, dtype):
    rng = np.random.default_rng(4)
    logits, labels = rng.standard_normal((9, 6)).astype(dtype), rng.integers(0, 6, 9)
    op, loss = cross_entropy_op(logits, labels, reduction, smoothing)
    dy = upstream(loss)
    through_kernel = op.backward(dy)[0]
    with numpy_path(monkeypatch):
        np.testing.assert_array_equal(through_kernel, op.backward(dy)[0])


@needs_kernels
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NumPy path's overflow in logits − max
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_kernel_on_extreme_logits(monkeypatch, dtype):
    big = np.finfo(dtype).max
    logits = np.array([[0.0, np.nan, 1.0], [np.inf, 0.0, 1.0], [-np.inf, 0.0, 1.0], [big, -big, 0.0],
                       [-1e30, -1e30, -1e30], [np.nan, 0.0, 0.0]], dtype)
    labels = np.array([0, 1, 0, 1, 2, 1])
    op, loss = cross_entropy_op(logits, labels, "none", 0.0)
    dy = np.ones(len(labels), dtype)
    expected_loss, expected_grad = cross_entropy_without_kernels(monkeypatch, logits, labels, "none", 0.0, dy)
    np.testing.assert_allclose(loss, expected_loss, rtol=4 * np.finfo(dtype).eps, equal_nan=True)
    np.testing.assert_allclose(op.backward(dy)[0], expected_grad, rtol=4 * np.finfo(dtype).eps, equal_nan=True)


@needs_kernels
@pytest.mark.parametrize("case", ["int32 labels", "fortran logits", "strided logits", "float16 logits", "empty batch"])
def test_cross_entropy_inputs_the_kernel_cannot_take_fall_back_to_numpy(monkeypatch, case):
    rng = np.random.default_rng(6)
    logits, labels = rng.standard_normal((5, 4)).astype(np.float32), rng.integers(0, 4, 5)
    reduction = "mean"
    if case == "int32 labels":
        labels = labels.astype(np.int32)
    elif case == "fortran logits":
        logits = np.asfortranarray(logits)
    elif case == "strided logits":
        logits = rng.standard_normal((5, 8)).astype(np.float32)[:, ::2]
    elif case == "float16 logits":
        logits = logits.astype(np.float16)
    else:
        logits, labels, reduction = logits[:0], labels[:0], "sum"
    op, loss = cross_entropy_op(logits, labels, reduction, 0.0)
    dy = upstream(loss)
    expected_loss, expected_grad = cross_entropy_without_kernels(monkeypatch, logits, labels, reduction, 0.0, dy)
    np.testing.assert_array_equal(loss, expected_loss)
    np.testing.assert_array_equal(op.backward(dy)[0], expected_grad)


@needs_kernels
def test_cross_entropy_backward_of_a_broadcast_upstream_gradient_falls_back_with_the_same_bits():
    logits, labels = np.random.default_rng(7).standard_normal((5, 4)), np.array([0, 1, 2, 3, 0])
    op, loss = cross_entropy_op(logits, labels, "none", 0.0)
    broadcast = np.broadcast_to(np.asarray(0.5), loss.shape)  # what the backward of a sum passes down
    np.testing.assert_array_equal(op.backward(broadcast)[0], op.backward(np.ascontiguousarray(broadcast))[0])


@needs_kernels
@pytest.mark.parametrize("labels, error, message", [
    ([0, 3, 4], ValueError, "class label 4 at position 2 is out of range for 4 classes"),
    ([0, -1, 2], ValueError, "class label -1 at position 1 is out of range"),
    ([0.0, 1.5, 2.0], TypeError, "class labels must be integers, got dtype float64 \\(1.5 at position 1\\)"),
])
def test_cross_entropy_kernel_path_reports_bad_labels_as_numpy_does(labels, error, message):
    logits = np.zeros((3, 4), np.float32)
    with pytest.raises(error, match=message):
        ops.SoftmaxCrossEntropy().forward(logits, np.array(labels))


@needs_kernels
def test_cross_entropy_kernels_reject_mismatched_arrays_before_writing():
    logits, labels = np.zeros((2, 3), np.float32), np.array([0, 2])
    rejected = [
        (ValueError, (logits, np.array([0, 3]), 3, 0.0, 2, np.zeros((2, 3), np.float32), np.zeros((), np.float32))),
        (ValueError, (logits, labels, 3, 0.0, 2, np.zeros((2, 4), np.float32), np.zeros((), np.float32))),
        (ValueError, (logits, labels, 3, 0.0, 0, np.zeros((2, 3), np.float32), np.zeros((), np.float32))),
        (ValueError, (logits, labels, 3, 0.0, 2, np.zeros((2, 3), np.float64), np.zeros((), np.float32))),
        (ValueError, (logits, labels, 0, 0.0, 2, np.zeros((2, 3), np.float32), np.zeros((), np.float32))),
        (TypeError, (logits, labels.astype(np.int32), 3, 0.0, 2, np.zeros((2, 3), np.float32),
                     np.zeros((), np.float32))),
    ]
    for error, arguments in rejected:
        written = list(arguments[5:])
        for a in written:
            a.fill(7)
        with pytest.raises(error):
            _kernels.cross_entropy(*arguments)
        for a in written:
            assert (a == 7).all()
    dz = np.full((2, 3), 7, np.float32)
    with pytest.raises(ValueError):
        _kernels.cross_entropy_backward(np.zeros((2, 3), np.float32), labels, 3, 0.0, np.ones(3, np.float32), 0, dz)
    assert (dz == 7).all()


# -- hostile arguments: shapes, sizes, overflow and aliasing are checked before memory is touched --
@needs_kernels
def test_cross_entropy_kernel_refuses_a_class_count_that_overflows():
    # 8·(4 + 2⁶²) wraps around to 32 bytes, the size of a 1×4 float64 array.
    logits, labels = np.zeros((1, 4)), np.array([0])
    for classes in (4 + 2**62, 2**61, 5, 2):
        p, out, dz = np.full((1, 4), 7.0), np.full((), 7.0), np.full((1, 4), 7.0)
        with pytest.raises(ValueError):
            _kernels.cross_entropy(logits, labels, classes, 0.0, 2, p, out)
        with pytest.raises(ValueError):
            _kernels.cross_entropy_backward(p, labels, classes, 0.0, np.ones(()), 0, dz)
        assert (p == 7).all() and out == 7 and (dz == 7).all()


@needs_kernels
def test_sgd_kernel_refuses_a_gradient_of_another_shape():
    param, grad = np.zeros((2, 3), np.float32), np.ones((3, 2), np.float32)
    with pytest.raises(ValueError, match="share their shape"):
        _kernels.sgd(param, grad, None, 0.1, 0.0, 0.0, 0.0, False, False, False)
    assert not param.any()


@pytest.mark.parametrize("fused", [True, False] if kernels.AVAILABLE else [False])
def test_sgd_refuses_a_gradient_of_another_shape_on_every_path(fused):
    p = cr.Tensor(np.zeros((2, 3), np.float32), requires_grad=True)
    p.grad = np.ones((3, 2), np.float32)
    opt = optim.SGD([p], lr=0.1, momentum=0.9, fused=fused)
    with pytest.raises(ValueError, match=r"parameter 0 of group 0 has shape \(2, 3\) but its gradient has shape \(3, 2\)"):
        opt.step()
    assert not p.data.any() and not opt.state


@needs_kernels
@pytest.mark.parametrize("shift", [1, 3, 0])
def test_sgd_kernel_refuses_overlapping_param_and_gradient(shift):
    memory = np.arange(12, dtype=np.float64)
    param, grad = memory[:6], memory[shift:shift + 6]
    before = memory.copy()
    with pytest.raises(ValueError, match="must not overlap"):
        _kernels.sgd(param, grad, None, 0.5, 0.0, 0.0, 0.0, False, False, False)
    np.testing.assert_array_equal(memory, before)
    with pytest.raises(ValueError, match="must not overlap"):
        _kernels.sgd(np.zeros(6), memory[:6], memory[2:8], 0.5, 0.9, 0.0, 0.0, False, False, False)


@pytest.mark.parametrize("fused", [True, False] if kernels.AVAILABLE else [False])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_with_a_gradient_overlapping_its_parameter_steps_as_with_a_copy(fused, momentum):
    rng = np.random.default_rng(3)
    memory = rng.standard_normal(40)
    overlapping = cr.Tensor(memory[:32].reshape(4, 8), requires_grad=True)
    separate = cr.Tensor(memory[:32].copy().reshape(4, 8), requires_grad=True)
    ours = optim.SGD([overlapping], lr=0.5, momentum=momentum, fused=fused)
    reference = optim.SGD([separate], lr=0.5, momentum=momentum, fused=False)
    for _ in range(3):
        overlapping.grad = memory[5:37].reshape(4, 8)  # shares 27 elements with the parameter
        separate.grad = overlapping.grad.copy()
        ours.step()
        reference.step()
        np.testing.assert_array_equal(overlapping.data, separate.data)


@needs_kernels
def test_relu_and_outer_kernels_refuse_outputs_that_overlap_inputs():
    x = np.linspace(-1, 1, 8)
    before = x.copy()
    with pytest.raises(ValueError, match="must not overlap"):
        _kernels.relu(x, x)
    with pytest.raises(ValueError, match="must not overlap"):
        _kernels.relu_backward(x, np.ones(8), x)
    memory = np.ones(20)
    with pytest.raises(ValueError, match="must not overlap"):
        _kernels.outer(memory[:4], memory[4:8], memory[:16].reshape(4, 4))
    np.testing.assert_array_equal(x, before)


@needs_kernels
def test_kernels_refuse_arrays_of_one_size_but_another_shape():
    with pytest.raises(ValueError):
        _kernels.relu(np.ones((2, 3)), np.empty((3, 2)))
    with pytest.raises(ValueError):
        _kernels.relu_backward(np.ones((2, 3)), np.ones((3, 2)), np.empty((2, 3)))
    with pytest.raises(ValueError):
        _kernels.outer(np.ones(3), np.ones(4), np.empty((4, 3)))
    with pytest.raises(ValueError):
        _kernels.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), 3, 0.0, 2, np.empty((3, 2)), np.empty(()))
