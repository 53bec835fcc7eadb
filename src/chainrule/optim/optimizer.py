"""The Optimizer base: parameter groups, per-parameter state, and its state dict.

An optimizer works on any :class:`~chainrule.Tensor` with ``.data`` (updated in
place) and ``.grad`` (read, never written). Parameters are organised in groups, as in
PyTorch: ``SGD(model.parameters(), lr=0.1)`` makes one group, and
``SGD([{"params": body}, {"params": head, "lr": 0.01}], lr=0.1)`` makes two, each
with its own options (options missing from a group come from the constructor).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy

from .. import backend
from ..tensor import Tensor, backward_calls
from .workspace import Workspace

ParamsT = Iterable[Tensor] | Iterable[dict]


class Optimizer:
    """Base class: holds ``param_groups`` (list of dicts) and ``state`` (param -> dict).

    Subclasses implement :meth:`step` and may override :meth:`_validate_options`.
    """

    scratch_count = 2
    """How many scratch arrays (the size of one parameter) a step of this class uses."""

    def __init__(self, params: ParamsT, defaults: dict[str, Any]):
        self._validate_options(defaults)
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        self._workspace = Workspace(self.scratch_count)
        self._last_step: tuple | None = None  # (backward calls, gradient ids) at the previous step
        if isinstance(params, (Tensor, dict)):
            raise TypeError(
                f"params must be an iterable of Tensors or of dicts, got a single {type(params).__name__}: "
                f"wrap it in a list"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (the rest from the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(
                f"params must be all Tensors or all dicts; got a {type(param_group).__name__} among dicts"
            )
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = set()
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"an optimizer can only optimize Tensors, got a {type(p).__name__}")
            if p.data.dtype.kind != "f":
                raise TypeError(f"an optimizer can only optimize floating-point Tensors, got dtype {p.dtype}")
            if id(p) in seen:
                raise ValueError("a parameter group contains the same parameter twice")
            seen.add(id(p))
        for group in self.param_groups:
            if any(id(p) in seen for p in group["params"]):
                raise ValueError("some parameters appear in more than one parameter group")
        group = {**self.defaults, **param_group, "params": params}
        self._validate_options(group)
        self.param_groups.append(group)

    def _validate_options(self, options: dict[str, Any]) -> None:
        """Raise ValueError for an option outside its domain (e.g. a negative lr)."""

    def _with_gradients(self):
        """(group, parameter) for every parameter that has a gradient, group by group."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    yield group, p

    def _gradients_to_follow(self) -> None:
        """Check, at the start of a step, that the gradients are fresh and fit their parameters.

        A step before any ``backward()`` (no parameter has a gradient), or a second step on the
        very gradient arrays of the previous one with no ``backward()`` in between, warns: it
        follows nothing, or stale gradients, as if they were new (gradients assigned by hand
        are new arrays, and fine). A gradient whose shape is not its parameter's is a
        ValueError, before anything is updated.
        """
        ids = []
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad  # an array, or a Tensor after create_graph: both have a shape and an id
                if grad is not None:
                    if grad.shape != p.data.shape:
                        self._refuse_misshaped_gradients()
                    ids.append(id(grad))  # alive while p.grad holds it, so no other array has its id
        previous, self._last_step = self._last_step, (backward_calls(), ids)
        if not ids:
            warnings.warn(f"{type(self).__name__}.step() found no gradient on any parameter, so it changed "
                          f"nothing: call loss.backward() before optimizer.step()", UserWarning, stacklevel=3)
        elif previous == self._last_step:
            warnings.warn(f"{type(self).__name__}.step() was given the same gradients as the previous step, "
                          f"with no backward() in between: it applied stale gradients again. Call "
                          f"zero_grad() and loss.backward() before each step()", UserWarning, stacklevel=3)

    def _refuse_misshaped_gradients(self) -> None:
        for number, group in enumerate(self.param_groups):
            for index, p in enumerate(group["params"]):
                if p.grad is not None and p.grad.shape != p.data.shape:
                    raise ValueError(
                        f"{type(self).__name__}.step(): parameter {index} of group {number} has shape "
                        f"{p.data.shape} but its gradient has shape {p.grad.shape}"
                    )

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to None (the next backward assigns a fresh one)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if given."""
        raise NotImplementedError(f"{type(self).__name__} must implement step()")

    # -- saving and restoring --------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A snapshot of the optimizer, made of plain Python values and NumPy arrays.

        ``{"state": {index: {name: value}}, "param_groups": [{option: value, "params":
        [index, ...]}]}`` where ``index`` numbers the parameters across all groups in
        order, as PyTorch does. State arrays are copies (NumPy even on the CuPy
        backend), so later steps do not change a saved snapshot. No pickle is needed:
        :func:`~chainrule.optim.flatten_state` turns it into ``{str: ndarray}`` for
        ``numpy.savez``.
        """
        index_of: dict[int, int] = {}
        packed_groups = []
        for group in self.param_groups:
            indices = []
            for p in group["params"]:
                index_of[id(p)] = len(index_of)
                indices.append(index_of[id(p)])
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = indices
            packed_groups.append(packed)
        packed_state = {}
        for group in self.param_groups:
            for p in group["params"]:
                entries = self.state.get(p)
                if entries:
                    packed_state[index_of[id(p)]] = {name: _snapshot(value) for name, value in entries.items()}
        return {"state": packed_state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by :meth:`state_dict` (arrays are copied in).

        The optimizer must have the same group structure as the saved one. Buffers
        take the dtype of their parameter; counters stay Python ints.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        params_by_index = []
        for number, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"parameter group {number} has {len(group['params'])} parameters, "
                    f"the loaded state dict has {len(saved['params'])}"
                )
            missing = sorted(set(self.defaults) - set(saved))
            if missing:
                raise ValueError(
                    f"parameter group {number} of the loaded state dict lacks the options {missing} "
                    f"of {type(self).__name__}: was it saved from another optimizer?"
                )
            params_by_index.extend(group["params"])
        new_state: dict[Tensor, dict[str, Any]] = {}
        for index, entries in state_dict["state"].items():
            index = int(index)
            if not 0 <= index < len(params_by_index):
                raise ValueError(f"loaded state dict has state for parameter {index}, there are {len(params_by_index)}")
            param = params_by_index[index]
            new_state[param] = {name: _restore(value, param, name) for name, value in entries.items()}
        saved_options = [{key: value for key, value in saved.items() if key != "params"} for saved in saved_groups]
        for group, options in zip(self.param_groups, saved_options):
            self._validate_options({**group, **options})
        for group, options in zip(self.param_groups, saved_options):
            group.update(options)
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for number, group in enumerate(self.param_groups):
            options = ", ".join(f"{key}={value!r}" for key, value in group.items() if key != "params")
            lines.append(f"  group {number}: {len(group['params'])} params, {options}")
        return "\n".join(lines) + "\n)"


def check_finite(owner: str, name: str, value, minimum: float | None = None) -> None:
    """Raise ValueError unless ``value`` is a finite number (and at least ``minimum``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{owner}: invalid {name} {value!r}: must be a finite number")
    if minimum is not None and value < minimum:
        raise ValueError(f"{owner}: invalid {name} {value}: must be >= {minimum}")


def _snapshot(value):
    if isinstance(value, (int, float)):
        return value
    return backend.to_numpy(value).copy()


def _restore(value, param: Tensor, name: str):
    if isinstance(value, (int, float)):
        return value
    if value.ndim == 0:  # a per-parameter scalar (NAdam's momentum product), kept on the host
        return numpy.array(value, dtype=param.data.dtype)
    if value.shape != param.data.shape:
        raise ValueError(
            f"loaded state {name!r} has shape {value.shape}, its parameter has shape {param.data.shape}"
        )
    return backend.array_module(param.data).array(value, dtype=param.data.dtype)
