"""A user's Function written as PyTorch writes one (static forward(ctx, ...)/backward(ctx, grad),
``ctx.save_for_backward``, ``.apply``), against torch.autograd.Function and finite differences."""
import numpy as np
import pytest

import chainrule as cr
from oracle import OpCase, check_finite_differences


class ScaledExp(cr.Function):
    """y = scale·eˣ (scale a number, not a Tensor)."""

    @staticmethod
    def forward(ctx, x, scale, *, shift=0.0):
        y = scale * np.exp(x + shift)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, dy):
        (y,) = ctx.saved_tensors
        return dy * y, None  # one gradient per argument of forward, None for the number


class Mul(cr.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, dy):
        a, b = ctx.saved_tensors
        return dy * b, dy * a


def test_pytorch_style_function_matches_torch():
    torch = pytest.importorskip("torch")

    class TorchScaledExp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale, shift=0.0):
            y = scale * torch.exp(x + shift)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, dy):
            (y,) = ctx.saved_tensors
            return dy * y, None, None

    data = np.random.default_rng(0).standard_normal((3, 4))
    x = cr.tensor(data, requires_grad=True)
    y = ScaledExp.apply(x, 2.5, shift=0.3)
    y.backward(np.ones((3, 4)))
    tx = torch.tensor(data, requires_grad=True)
    ty = TorchScaledExp.apply(tx, 2.5, 0.3)
    ty.backward(torch.ones(3, 4, dtype=torch.float64))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-14)


def test_pytorch_style_function_against_finite_differences():
    rng = np.random.default_rng(1)
    check_finite_differences(OpCase("user", lambda a, b: Mul.apply(a, b) + ScaledExp.apply(a, 0.5), None,
                                    (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))))


def test_the_saved_set_is_traced_and_freed():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = Mul.apply(x, x)
    node = y.creator
    assert [name for name, _ in cr.inspect.saved.saved_arrays(node)] == ["saved[0]", "saved[1]"]
    y.sum().backward()
    assert node.saved_tensors == () and node.inputs == ()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_half_pytorch_style_says_how_to_write_it():
    with pytest.raises(TypeError, match=r"Broken: forward and backward must both be @staticmethod"):
        class Broken(cr.Function):  # noqa: F841
            @staticmethod
            def forward(ctx, x):
                return x

            def backward(self, dy):
                return dy


def test_apply_on_a_chainrule_style_function():
    class Cube(cr.Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x ** 3

        def backward(self, dy):
            (x,) = self.saved_tensors
            return 3 * x ** 2 * dy

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    Cube.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 12.0])
    with pytest.raises(TypeError, match=r"Cube.apply: keyword arguments go to __init__"):
        Cube.apply(x, power=3)
