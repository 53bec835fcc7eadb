"""2-D convolution (PyTorch's cross-correlation) as one matrix product per call.

With X = im2col(x) — one column per (output pixel, sample), one row per (input
channel, kernel offset) — a convolution is Y = W·X per group, and its backward is
two more products: dW = dY·Xᵀ and dX = Wᵀ·dY, folded back onto the image by
col2im. See im2col.py for the memory layout.
"""
from __future__ import annotations

from ..backend import array_module
from ..errors import ShapeError
from ..tensor import Function, Tensor
from .im2col import check_image, col2im, im2col, output_hw, pair, to_channels_batch_last
from .registry import public, register


@register("conv2d")
class Conv2d(Function):
    """y[n, o, p, q] = b[o] + Σ_{c, i, j} w[o, c, i, j] · x_pad[n, g·C_g + c, p·s_h + i·d_h, q·s_w + j·d_w]
    for output channel o in group g (C_g = C_in / groups input channels per group).

    x: (N, C_in, H, W), w: (C_out, C_in/groups, kH, kW), b: (C_out,) or absent
    → y: (N, C_out, H_out, W_out), H_out = ⌊(H + 2·pad_h − d_h·(kH − 1) − 1) / s_h⌋ + 1.
    """

    def __init__(self, stride=1, padding=0, dilation=1, groups: int = 1):
        self.stride = pair(stride, "conv2d", "stride", 1)
        self.padding = pair(padding, "conv2d", "padding", 0)
        self.dilation = pair(dilation, "conv2d", "dilation", 1)
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
        self.groups = groups

    def _check(self, x, w, b) -> None:
        check_image(x, "conv2d")
        g, c_in = self.groups, x.shape[1]
        if w.ndim != 4:
            raise ShapeError(f"conv2d: expected weight (C_out, C_in/groups, kH, kW), got shape {w.shape}")
        for name, channels in (("C_in", c_in), ("C_out", w.shape[0])):
            if channels % g:
                raise ShapeError(f"conv2d: {name}={channels} is not divisible by groups={g}")
        if w.shape[1] != c_in // g:
            raise ShapeError(
                f"conv2d: expected input (N, {w.shape[1] * g}, H, W) for weight {w.shape} with groups={g}, got {x.shape}"
            )
        if b is not None and b.shape != w.shape[:1]:
            raise ShapeError(f"conv2d: expected bias ({w.shape[0]},) for weight {w.shape}, got bias {b.shape}")
        for name, array in (("weight", w), ("bias", b)):
            if array is not None and array.dtype != x.dtype:
                raise ShapeError(f"conv2d: {name} dtype {array.dtype} differs from input dtype {x.dtype}")

    saved_names = ("w_groups", "padded")

    def _layout(self, x_shape: tuple, w_shape: tuple, has_bias: bool) -> None:
        """The sizes forward and backward share, from the shapes of x and w."""
        self.kernel = tuple(w_shape[2:])
        self.out_hw = output_hw("conv2d", x_shape[2:], self.kernel, self.stride, self.padding, self.dilation)
        self.x_shape, self.w_shape, self.has_bias = tuple(x_shape), tuple(w_shape), has_bias

    def settings(self) -> tuple:
        return self.stride, self.padding, self.dilation, self.groups

    def forward(self, x, w, b=None):
        self._check(x, w, b)
        n = x.shape[0]
        c_out, c_group, kh, kw = w.shape
        g = self.groups
        self._layout(x.shape, w.shape, b is not None)
        padded = to_channels_batch_last(x, self.padding)
        cols = im2col(padded, self.kernel, self.stride, self.dilation, self.out_hw, g, ones_row=b is not None)
        w_groups = w.reshape(g, c_out // g, c_group * kh * kw)
        # [W | b]·[X; 1] = W·X + b: the bias rides in the GEMM instead of a pass over y.
        xp = array_module(x)
        w_bias = w_groups if b is None else xp.concatenate((w_groups, b.reshape(g, -1, 1)), axis=2)
        y = xp.matmul(w_bias, cols).reshape(c_out, *self.out_hw, n)
        self.save_for_backward(w_groups if self.needs_input_grad[0] else None, padded if self.needs_input_grad[1] else None)
        return y.transpose(3, 0, 1, 2)

    formula = ("Y = W·X + b per group, X = im2col(x) "
               "⇒ dx = col2im(wᵀ·dY), dw = dY·im2col(x)ᵀ, db = Σ_{n,p,q} dy")

    def backward(self, dy):
        w_groups, padded = self.saved_tensors
        xp = array_module(dy)
        need = self.needs_input_grad
        g = self.groups
        c_out = self.w_shape[0]
        rows = self.w_shape[1] * self.kernel[0] * self.kernel[1]
        dy_groups = xp.ascontiguousarray(dy.transpose(1, 2, 3, 0)).reshape(g, c_out // g, -1)
        dx = dw = db = cols = None
        if need[1]:
            # im2col is recomputed, not kept from forward: between the passes a layer holds only x.
            # Its ones row makes db the last row of the same product.
            cols = im2col(padded, self.kernel, self.stride, self.dilation, self.out_hw, g,
                          ones_row=self.has_bias)
            # [dW | db]ᵀ = [X; 1]·dYᵀ: OpenBLAS runs this shape (long inner dimension, many output
            # rows) steadily; dY·Xᵀ was up to 40× slower on a busy two-core machine.
            grads_t = xp.matmul(cols, dy_groups.transpose(0, 2, 1))
            dw = grads_t[:, :rows].transpose(0, 2, 1).reshape(self.w_shape)
            db = grads_t[:, rows].reshape(c_out) if self.has_bias else None
        elif self.has_bias and need[2]:
            db = dy_groups.sum(axis=2).reshape(c_out)
        if need[0]:
            # The columns are no longer needed once dW is known: dX's columns overwrite them.
            out = None if cols is None else cols[:, :rows]
            dcols = xp.matmul(w_groups.transpose(0, 2, 1), dy_groups, out=out)
            n, c, h, wd = self.x_shape
            ph, pw = self.padding
            padded_shape = (c, h + 2 * ph, wd + 2 * pw, n)
            dx_padded = col2im(dcols, padded_shape, self.kernel, self.stride, self.dilation, self.out_hw)
            dx = dx_padded[:, ph:ph + h, pw:pw + wd, :].transpose(3, 0, 1, 2)
        if not self.has_bias:
            return dx, dw
        return dx, dw, db

    def backward_graph(self, dy):
        # dx and dw as ops of their own, each bilinear: their gradients are conv2d and each other
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        dx = Conv2dInputGrad(self.settings(), self.x_shape)(dy, w) if need[0] else None
        dw = Conv2dWeightGrad(self.settings(), self.w_shape)(x, dy) if need[1] else None
        if not self.has_bias:
            return dx, dw
        return dx, dw, dy.sum((0, 2, 3)) if need[2] else None


def _input_gradient(settings: tuple, x_shape: tuple, dy, w):
    """conv2d's dx for this dy and w: Conv2d's own backward, with only w saved."""
    conv = Conv2d(*settings)
    conv._layout(x_shape, w.shape, False)
    conv.needs_input_grad = (True, False)
    g = conv.groups
    conv.save_for_backward(w.reshape(g, w.shape[0] // g, -1), None)
    return conv.backward(dy)[0]


def _weight_gradient(settings: tuple, w_shape: tuple, x, dy):
    """conv2d's dw for this x and dy: Conv2d's own backward, with only the padded x saved."""
    conv = Conv2d(*settings)
    conv._layout(x.shape, w_shape, False)
    conv.needs_input_grad = (False, True)
    conv.save_for_backward(None, to_channels_batch_last(x, conv.padding))
    return conv.backward(dy)[1]


@register("conv2d_input_grad")
class Conv2dInputGrad(Function):
    """conv2d's input gradient as an op: y = I(gy, w), with ⟨I(gy, w), x⟩ = ⟨gy, conv2d(x, w)⟩.
    Bilinear, so its gradients are conv2d and conv2d_weight_grad.

    gy: (N, C_out, H_out, W_out), w: (C_out, C_in/groups, kH, kW) → y: x_shape.
    """

    def __init__(self, settings: tuple, x_shape: tuple):
        self.conv_settings, self.x_shape = settings, tuple(x_shape)

    saved_names = ("gy", "w")

    def forward(self, gy, w):
        self.save_for_backward(gy, w)
        return _input_gradient(self.conv_settings, self.x_shape, gy, w)

    formula = "y = col2im(wᵀ·gY), conv2d's x-gradient ⇒ dgy = conv2d(dy, w), dw = conv2d_weight_grad(dy, gy)"

    def backward(self, dy):
        gy, w = self.saved_tensors
        d_gy = Conv2d(*self.conv_settings).forward(dy, w) if self.needs_input_grad[0] else None
        dw = _weight_gradient(self.conv_settings, w.shape, dy, gy) if self.needs_input_grad[1] else None
        return d_gy, dw

    def backward_graph(self, dy):
        gy, w = self.inputs
        return (Conv2d(*self.conv_settings)(dy, w) if self.needs_input_grad[0] else None,
                Conv2dWeightGrad(self.conv_settings, w.shape)(dy, gy) if self.needs_input_grad[1] else None)


@register("conv2d_weight_grad")
class Conv2dWeightGrad(Function):
    """conv2d's weight gradient as an op: y = W(x, gy), with ⟨W(x, gy), w⟩ = ⟨gy, conv2d(x, w)⟩.
    Bilinear, so its gradients are conv2d_input_grad and conv2d.

    x: (N, C_in, H, W), gy: (N, C_out, H_out, W_out) → y: w_shape.
    """

    def __init__(self, settings: tuple, w_shape: tuple):
        self.conv_settings, self.w_shape = settings, tuple(w_shape)

    saved_names = ("x", "gy")

    def forward(self, x, gy):
        self.save_for_backward(x, gy)
        return _weight_gradient(self.conv_settings, self.w_shape, x, gy)

    formula = "y = gY·im2col(x)ᵀ, conv2d's w-gradient ⇒ dx = conv2d_input_grad(gy, dy), dgy = conv2d(x, dy)"

    def backward(self, dy):
        x, gy = self.saved_tensors
        dx = _input_gradient(self.conv_settings, x.shape, gy, dy) if self.needs_input_grad[0] else None
        d_gy = Conv2d(*self.conv_settings).forward(x, dy) if self.needs_input_grad[1] else None
        return dx, d_gy

    def backward_graph(self, dy):
        x, gy = self.inputs
        return (Conv2dInputGrad(self.conv_settings, x.shape)(gy, dy) if self.needs_input_grad[0] else None,
                Conv2d(*self.conv_settings)(x, dy) if self.needs_input_grad[1] else None)


@public()
def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D convolution as PyTorch's. x: (N, C_in, H, W), weight: (C_out, C_in/groups, kH, kW),
    bias: (C_out,) → (N, C_out, H_out, W_out). stride, padding, dilation: an int or (h, w)."""
    op = Conv2d(stride, padding, dilation, groups)
    return op(x, weight) if bias is None else op(x, weight, bias)


def _single(value, name: str) -> int:
    """A 1-d convolution's or pooling's int setting, given as an int or a 1-tuple (PyTorch accepts both)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"conv1d: {name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return value


@public()
def conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-D convolution as PyTorch's: conv2d on a height of 1. x: (N, C_in, L), weight:
    (C_out, C_in/groups, k), bias: (C_out,) → (N, C_out, L_out)."""
    if x.ndim != 3 or weight.ndim != 3:
        raise ShapeError(f"conv1d: expected input (N, C, L) and weight (C_out, C_in/groups, k), got {x.shape} "
                         f"and {weight.shape}")
    op = Conv2d((1, _single(stride, "stride")), (0, _single(padding, "padding")), (1, _single(dilation, "dilation")),
                groups)
    inputs = (x.unsqueeze(2), weight.unsqueeze(2)) + (() if bias is None else (bias,))
    return op(*inputs).squeeze(2)


@public()
def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, output_padding=0,
                     groups: int = 1, dilation=1) -> Tensor:
    """The transposed convolution (PyTorch's ``conv_transpose2d``): the gradient of conv2d with
    respect to its input, applied to x, which is what conv2d_input_grad computes.
    x: (N, C_in, H, W), weight: (C_in, C_out/groups, kH, kW), bias: (C_out,) → (N, C_out, H_out, W_out),
    H_out = (H − 1)·s_h − 2·pad_h + d_h·(kH − 1) + output_padding_h + 1."""
    check_image(x.data, "conv_transpose2d")
    if weight.ndim != 4 or weight.shape[0] != x.shape[1]:
        raise ShapeError(f"conv_transpose2d: expected weight ({x.shape[1]}, C_out/groups, kH, kW) for input "
                         f"{x.shape}, got {weight.shape}")
    stride, padding = pair(stride, "conv_transpose2d", "stride", 1), pair(padding, "conv_transpose2d", "padding", 0)
    dilation = pair(dilation, "conv_transpose2d", "dilation", 1)
    extra = pair(output_padding, "conv_transpose2d", "output_padding", 0)
    if any(e >= max(s, d) for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"conv_transpose2d: output_padding {extra} must be smaller than stride {stride} or dilation "
                         f"{dilation}")
    out_hw = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1
                   for n, s, p, d, k, e in zip(x.shape[2:], stride, padding, dilation, weight.shape[2:], extra))
    y = Conv2dInputGrad((stride, padding, dilation, groups), (x.shape[0], weight.shape[1] * groups, *out_hw))(x, weight)
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)
