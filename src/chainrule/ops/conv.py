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

    def forward(self, x, w, b=None):
        self._check(x, w, b)
        n, _, h, wd = x.shape
        c_out, c_group, kh, kw = w.shape
        g = self.groups
        self.kernel = (kh, kw)
        self.out_hw = output_hw("conv2d", (h, wd), self.kernel, self.stride, self.padding, self.dilation)
        self.x_shape, self.w_shape, self.has_bias = x.shape, w.shape, b is not None
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


@public()
def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D convolution as PyTorch's. x: (N, C_in, H, W), weight: (C_out, C_in/groups, kH, kW),
    bias: (C_out,) → (N, C_out, H_out, W_out). stride, padding, dilation: an int or (h, w)."""
    op = Conv2d(stride, padding, dilation, groups)
    return op(x, weight) if bias is None else op(x, weight, bias)
