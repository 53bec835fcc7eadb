"""The compiled kernels against the NumPy code they replace: the same bits.

SGD: both paths apply PyTorch's rule with the same roundings in the same order
(test_optim checks each against torch.optim.SGD); here they must agree exactly, step
after step, for every option, both dtypes and awkward layouts, which fall back to NumPy.
outer: Linear's weight gradient at batch size 1 equals BLAS's dyᵀ·x exactly.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import ops, optim
from chainrule import kernels

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
            kernels.sgd(*arrays, 0.1, 0.0, 0.0, 0.0, False, False, False)
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
    kernels.outer(a, b, out)
    np.testing.assert_array_equal(out, np.dot(a.T, b))


@needs_kernels
def test_outer_rejects_mismatched_arrays_before_writing():
    a, b = np.ones(3, np.float32), np.ones(4, np.float32)
    for out, expected in [(np.zeros((3, 5), np.float32), ValueError), (np.zeros((3, 4), np.float64), ValueError),
                          (np.zeros((4, 3), np.float32).T, ValueError)]:
        before = out.copy()
        with pytest.raises(expected):
            kernels.outer(a, b, out)
        np.testing.assert_array_equal(out, before)
    with pytest.raises(ValueError, match="share dtype"):
        kernels.outer(a, b.astype(np.float64), np.zeros((3, 4), np.float32))


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
