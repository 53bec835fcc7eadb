"""DistributedDataParallel: the same model on every rank, each on its share of the batch, with
gradients averaged over the ranks after every backward, as PyTorch's class of that name does.

At construction the parameters and buffers are broadcast from rank 0, so every rank starts
from rank 0's weights whatever it initialised. After ``loss.backward()`` every parameter's
gradient is the mean over the ranks: the gradients are copied into flat buckets of about
``bucket_mb`` megabytes, one all-reduce per bucket (``bucket_mb=0``: one all-reduce per
parameter, for comparison), and copied back. With the same optimizer on every rank, the
weights then stay identical.

The averaging is queued (``tensor.queue_callback``) by an identity node on the model's
output, so it runs when backward has finished every gradient.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import numpy

from ..nn.module import Module
from ..tensor import Function, Tensor, is_grad_enabled, queue_callback
from . import communicator


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over the ranks of an MPI job.

    ``state_dict()`` keys are those of the wrapped model under ``module.``, as in PyTorch.
    ``broadcast_buffers``: rank 0's buffers (BatchNorm's running statistics) are sent to
    every rank before each training forward. The wrapped model must return one Tensor.
    """

    def __init__(self, module: Module, bucket_mb: float = 25, broadcast_buffers: bool = True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps an nn.Module, got {type(module).__name__}")
        if bucket_mb < 0:
            raise ValueError(f"DistributedDataParallel: bucket_mb must be >= 0, got {bucket_mb}")
        communicator.init()
        self.module = module
        self.bucket_mb = bucket_mb
        self.broadcast_buffers = broadcast_buffers
        self._synchronizing = True
        for tensor in [*module.parameters(), *_buffers(module)]:
            communicator.broadcast(tensor.data, root=0)
        self._buckets = _plan_buckets(list(module.parameters()), int(bucket_mb * 2**20))

    def forward(self, *args, **kwargs):
        if self.training and self.broadcast_buffers and communicator.world_size() > 1:
            for buffer in _buffers(self.module):
                communicator.broadcast(buffer.data, root=0)
        out = self.module(*args, **kwargs)
        if (self._synchronizing and is_grad_enabled() and isinstance(out, Tensor) and out.requires_grad
                and communicator.world_size() > 1):
            out = _AverageGradientsAfterBackward(self)(out)
        return out

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Within the block, backward leaves gradients local (to accumulate several backwards);
        the first backward after it averages the accumulated ones."""
        self._synchronizing = False
        try:
            yield
        finally:
            self._synchronizing = True

    def average_gradients(self) -> None:
        """Replace every parameter's gradient by its mean over the ranks (a missing one counts as 0)."""
        world = communicator.world_size()
        for bucket in self._buckets:
            if len(bucket.params) == 1 and _reducible(bucket.params[0]):
                grad = bucket.params[0].grad
                communicator.all_reduce(grad)
                numpy.divide(grad, grad.dtype.type(world), out=grad)
                continue
            flat = bucket.flat
            for param, (start, stop) in zip(bucket.params, bucket.slices):
                if param.grad is None:
                    flat[start:stop] = 0
                else:
                    flat[start:stop] = param.grad.reshape(-1)
            communicator.all_reduce(flat)
            numpy.divide(flat, flat.dtype.type(world), out=flat)
            for param, (start, stop) in zip(bucket.params, bucket.slices):
                param.grad = flat[start:stop].reshape(param.data.shape).copy()

    def extra_repr(self) -> str:
        return (f"world_size={communicator.world_size()}, bucket_mb={self.bucket_mb}, "
                f"{len(self._buckets)} bucket{'s' if len(self._buckets) != 1 else ''}")


class _AverageGradientsAfterBackward(Function):
    """y = x; its backward (the first node backward reaches) queues the gradient averaging."""

    formula = "dx = dy"

    def __init__(self, ddp: DistributedDataParallel):
        self.ddp = ddp

    def forward(self, x):
        return x

    def backward(self, dy):
        # y = x  ⇒  dx = dy; the parameters' gradients are averaged once backward has finished
        queue_callback(self.ddp.average_gradients)
        return (dy,)


class _Bucket:
    def __init__(self, params: list, dtype):
        self.params = params
        self.slices = []
        offset = 0
        for param in params:
            self.slices.append((offset, offset + param.data.size))
            offset += param.data.size
        self.flat = numpy.empty(offset, dtype=dtype)


def _plan_buckets(params: list, bucket_bytes: int) -> list[_Bucket]:
    """Parameters in reverse order (the order backward finishes them), grouped by dtype into
    buckets of at most ``bucket_bytes`` (a larger parameter gets a bucket of its own)."""
    buckets, current, size = [], [], 0
    for param in reversed(params):
        nbytes = param.data.nbytes
        if current and (param.data.dtype != current[0].data.dtype or size + nbytes > bucket_bytes):
            buckets.append(_Bucket(current, current[0].data.dtype))
            current, size = [], 0
        current.append(param)
        size += nbytes
    if current:
        buckets.append(_Bucket(current, current[0].data.dtype))
    return buckets


def _reducible(param) -> bool:
    """Whether a lone parameter's gradient can be all-reduced where it lies."""
    grad = param.grad
    return (isinstance(grad, numpy.ndarray) and grad.flags.c_contiguous and grad.flags.writeable
            and grad.base is None)


def _buffers(module: Module) -> list:
    return [buffer for buffer in module.buffers() if buffer is not None]
