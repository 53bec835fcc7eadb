"""JAX with the whole training step compiled by ``jax.jit`` (XLA on the CPU)."""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy

from ..workloads import Workload


def _logits(params, x):
    for weight, bias in params[:-1]:
        x = jax.nn.relu(x @ weight.T + bias)
    weight, bias = params[-1]
    return x @ weight.T + bias


def _loss(params, x, y):
    log_p = jax.nn.log_softmax(_logits(params, x))
    return -jnp.mean(jnp.take_along_axis(log_p, y[:, None], axis=1))


class Trainer:
    def __init__(self, weights, workload: Workload, threads: int):
        self.params = [(jnp.asarray(weight), jnp.asarray(bias)) for weight, bias in weights]
        self.buffers = jax.tree_util.tree_map(jnp.zeros_like, self.params)
        self.threads = threads
        lr, momentum = workload.lr, workload.momentum

        @jax.jit
        def step(params, buffers, x, y):
            grads = jax.grad(_loss)(params, x, y)
            # PyTorch's rule: b = μ·b + g (b starts at 0, so the first b is g), θ = θ − η·b
            buffers = jax.tree_util.tree_map(lambda b, g: momentum * b + g, buffers, grads)
            params = jax.tree_util.tree_map(lambda p, b: p - lr * b, params, buffers)
            return params, buffers

        # Compiled ahead of time, so that no timed step pays for XLA's compilation.
        x_spec = jax.ShapeDtypeStruct((workload.batch, workload.sizes[0]), jnp.float32)
        y_spec = jax.ShapeDtypeStruct((workload.batch,), jnp.int32)
        self._step = step.lower(self.params, self.buffers, x_spec, y_spec).compile()
        self._predict = jax.jit(lambda params, x: jnp.argmax(_logits(params, x), axis=1))

    def batch(self, x: numpy.ndarray, y: numpy.ndarray):
        return jnp.asarray(x), jnp.asarray(y.astype(numpy.int32))

    def step(self, batch) -> None:
        self.params, self.buffers = self._step(self.params, self.buffers, *batch)
        # JAX dispatches asynchronously: wait, or the timer would stop before the work is done.
        jax.block_until_ready(self.params)

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        return numpy.asarray(self._predict(self.params, jnp.asarray(x)))

    def describe(self) -> dict:
        return {"version": jax.__version__, "blas": "XLA CPU (Eigen)", "threads": self.threads}
