"""Deliberately broken backward_graph methods (what create_graph=True runs), each beside its
correct twin. The first-order backward of every one is right, so order 1 passes them all;
``cr.gradcheck(..., order=2)`` must fail each broken one with the diagnosis code in its
:class:`Specimen` and pass each twin."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

import chainrule as cr


class Cube(cr.Function):
    """y = x³ ⇒ dx = 3x²·dy; on the graph the same, so that d²y/dx² = 6x."""

    def forward(self, x):
        self.save_for_backward(x)
        return x**3

    def backward(self, dy):
        (x,) = self.saved_tensors
        return (3 * x**2 * dy,)

    def backward_graph(self, dy):
        (x,) = self.inputs
        return (3 * x**2 * dy,)


class CubeSignFlipped(Cube):
    def backward_graph(self, dy):
        (x,) = self.inputs
        return (-3 * x**2 * dy,)  # bug: the sign


class CubeTimesTwo(Cube):
    def backward_graph(self, dy):
        (x,) = self.inputs
        return (6 * x**2 * dy,)  # bug: the 3 of d(x³)/dx doubled


class CubeMissingTerm(Cube):
    def backward_graph(self, dy):
        (x,) = self.saved_tensors
        return (cr.Tensor(3 * x**2) * dy,)  # bug: x² from a saved array is a constant: no 6x term


class CubeIgnoresUpstream(Cube):
    def backward_graph(self, dy):
        (x,) = self.inputs
        return (3 * x**2,)  # bug: dy left out


class CubeDropsUpstreamGraph(Cube):
    def backward_graph(self, dy):
        (x,) = self.inputs
        return (3 * x**2 * cr.Tensor(dy.data),)  # bug: dy's values, not dy: its graph is cut


class MatrixProduct(cr.Function):
    """y = a·b for square a, b ⇒ da = dy·bᵀ, db = aᵀ·dy."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, dy):
        a, b = self.saved_tensors
        return dy @ b.T, a.T @ dy

    def backward_graph(self, dy):
        a, b = self.inputs
        return dy @ b.t(), a.t() @ dy


class MatrixProductTransposed(MatrixProduct):
    def backward_graph(self, dy):
        a, b = self.inputs
        return dy @ b.t(), dy.t() @ a  # bug: db transposed (the same shape, so no error is raised)


class MatrixProductForgetsOne(MatrixProduct):
    def backward_graph(self, dy):
        a, _ = self.inputs
        return None, a.t() @ dy  # bug: no gradient for a


@dataclasses.dataclass
class Specimen:
    name: str
    broken: type
    correct: type
    inputs: Callable[[], list]
    code: str

    def __str__(self):
        return self.name


def _cube_input():
    return [np.random.default_rng(1).uniform(0.5, 1.5, (3, 4))]


def _squares():
    rng = np.random.default_rng(2)
    return [rng.standard_normal((3, 3)), rng.standard_normal((3, 3))]


SPECIMENS = [
    Specimen("sign flip", CubeSignFlipped, Cube, _cube_input, "sign_flipped"),
    Specimen("times two", CubeTimesTwo, Cube, _cube_input, "scaled"),
    Specimen("transposed", MatrixProductTransposed, MatrixProduct, _squares, "transposed"),
    Specimen("missing term", CubeMissingTerm, Cube, _cube_input, "missing_term"),
    Specimen("ignores its upstream gradient", CubeIgnoresUpstream, Cube, _cube_input, "ignores_upstream"),
    Specimen("drops the upstream gradient's graph", CubeDropsUpstreamGraph, Cube, _cube_input, "ignores_upstream"),
    Specimen("gradient not propagated", MatrixProductForgetsOne, MatrixProduct, _squares, "not_propagated"),
]
