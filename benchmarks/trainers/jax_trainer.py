"""JAX as its documentation recommends: the whole training step compiled by ``jax.jit`` (XLA on the
CPU), the data set on the device and each batch gathered inside the compiled step, the parameter and
momentum buffers donated to it, dispatch left asynchronous, and one block at the end of a timed span.

``step`` (one batch from the host, blocking) serves the sweep and the tests, where each step is timed
or checked alone; the mlp and micro jobs call ``timed_steps``, the loop a JAX user writes.
"""
from __future__ import annotations

import time

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
        self.workload = workload
        lr, momentum = workload.lr, workload.momentum

        def update(params, buffers, x, y):
            grads = jax.grad(_loss)(params, x, y)
            # PyTorch's rule: b = μ·b + g (b starts at 0, so the first b is g), θ = θ − η·b
            buffers = jax.tree_util.tree_map(lambda b, g: momentum * b + g, buffers, grads)
            params = jax.tree_util.tree_map(lambda p, b: p - lr * b, params, buffers)
            return params, buffers

        def gathered(params, buffers, images, labels, rows):
            return update(params, buffers, images[rows], labels[rows])

        # Compiled ahead of time, so that no timed step pays for XLA's compilation.
        x_spec = jax.ShapeDtypeStruct((workload.batch, workload.sizes[0]), jnp.float32)
        y_spec = jax.ShapeDtypeStruct((workload.batch,), jnp.int32)
        self._step = jax.jit(update, donate_argnums=(0, 1)).lower(self.params, self.buffers, x_spec, y_spec).compile()
        self._gathered = jax.jit(gathered, donate_argnums=(0, 1))
        self._predict = jax.jit(lambda params, x: jnp.argmax(_logits(params, x), axis=1))

    def batch(self, x: numpy.ndarray, y: numpy.ndarray):
        return jnp.asarray(x), jnp.asarray(y.astype(numpy.int32))

    def step(self, batch) -> None:
        self.params, self.buffers = self._step(self.params, self.buffers, *batch)
        jax.block_until_ready(self.params)  # timed alone: wait, or the timer stops before the work is done

    def timed_steps(self, images: numpy.ndarray, labels: numpy.ndarray, rows: numpy.ndarray) -> float:
        """Seconds for one step per row of ``rows`` (steps, batch) over the float32 ``images`` (N, 784)
        and ``labels``: the data and the indices go to the device first (untimed), then the steps are
        dispatched without waiting, and the clock stops when the last one is done."""
        images, labels = jax.device_put(images), jax.device_put(labels.astype(numpy.int32))
        indices = [jax.device_put(row.astype(numpy.int32)) for row in rows]
        step = self._gathered.lower(self.params, self.buffers, images, labels, indices[0]).compile()
        jax.block_until_ready((images, labels, indices))
        start = time.perf_counter()
        params, buffers = self.params, self.buffers
        for index in indices:
            params, buffers = step(params, buffers, images, labels, index)
        jax.block_until_ready(params)
        seconds = time.perf_counter() - start
        self.params, self.buffers = params, buffers
        return seconds

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        return numpy.asarray(self._predict(self.params, jnp.asarray(x)))

    def describe(self) -> dict:
        return {"version": jax.__version__, "blas": "XLA CPU (Eigen)", "threads": self.threads}
