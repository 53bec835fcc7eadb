"""Module: the base of every layer and model.

A Module owns Parameters, buffers (state that is saved but not learned, such as
BatchNorm's running statistics) and sub-Modules, all registered by plain attribute
assignment, in definition order; names are dotted as in PyTorch (``0.weight``,
``fc1.bias``), so state dicts move between the two.

Every registered value lives in the instance ``__dict__`` like any attribute, and
the registries hold only names: reading ``self.weight`` on the training hot path is
an ordinary attribute lookup, with no ``__getattr__`` in the way.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterator, NamedTuple

import numpy

from .. import backend
from ..errors import CheckpointError
from ..tensor import Tensor, gradient_array
from .parameter import Parameter

_REGISTRIES = ("_parameter_names", "_buffer_names", "_module_names")


class HookHandle:
    """What ``register_forward_hook`` and ``register_forward_pre_hook`` return."""

    def __init__(self, module: Module, hooks: list, hook):
        self._module, self._hooks, self._hook = module, hooks, hook

    def remove(self) -> None:
        global _layout_version
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
            module = self._module
            module.__dict__["_hooked"] = bool(module._forward_pre_hooks or module._forward_hooks)
            _layout_version += 1


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped."""

    missing_keys: list
    unexpected_keys: list


_layout_version = 0
"""Counts every change of any module's sub-modules (added, replaced, removed): ``nn.Fused``
re-reads a model's layers only when it has moved."""


def layout_version() -> int:
    return _layout_version


def _as_buffer(value) -> Tensor | None:
    if value is None or isinstance(value, Tensor):
        return value
    return Tensor(value if isinstance(value, backend.array_types) else backend.xp.asarray(value))


def relabel(error: Exception, op: str | None, layer: str) -> Exception | None:
    """``error`` with its message's leading ``op:`` replaced by ``layer:``, or None when the
    message does not start with the op's name (the error is not the op's own check)."""
    message = str(error.args[0]) if len(error.args) == 1 else ""
    if op is None or not message.startswith(f"{op}: "):
        return None
    try:
        return type(error)(f"{layer}: {message[len(op) + 2:]}")
    except TypeError:  # an exception class that takes other arguments
        return None


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


class Module:
    """Base class of layers and models: subclasses set attributes in ``__init__``
    (after ``super().__init__()``) and define ``forward``; calling the module calls it.
    """

    training: bool

    def __init__(self):
        state = self.__dict__
        state["training"] = True
        for registry in _REGISTRIES:
            state[registry] = {}

    def forward(self, x, *others):
        """What calling the module computes. A layer that applies one op defines
        :meth:`as_function` instead, and this runs it, with the op's own error messages
        (``linear: …``) naming the layer instead (``Linear(784 → 512): …``); other modules
        override ``forward``."""
        described = self.as_function(*others)
        if described is None:
            raise NotImplementedError(f"{type(self).__name__} must define forward() or as_function()")
        self.check_input(x)
        function, extra = described
        if function is None:
            return x
        try:
            return function(x, *extra)
        except (ValueError, TypeError, IndexError) as error:
            relabelled = relabel(error, getattr(function, "op_name", None), self.label())
            if relabelled is None:
                raise
            raise relabelled from None

    _forward_pre_hooks: tuple | list = ()
    _forward_hooks: tuple | list = ()
    _hooked = False  # one attribute to test per call: a model's every layer is called on the hot path

    def __call__(self, *inputs, **kwargs):
        if not self._hooked:
            return self.forward(*inputs, **kwargs)
        for hook in tuple(self._forward_pre_hooks):
            changed = hook(self, inputs)
            if changed is not None:
                inputs = changed if isinstance(changed, tuple) else (changed,)
        output = self.forward(*inputs, **kwargs)
        for hook in tuple(self._forward_hooks):
            changed = hook(self, inputs, output)
            if changed is not None:
                output = changed
        return output

    def register_forward_pre_hook(self, hook) -> HookHandle:
        """Call ``hook(module, args)`` before each forward; a value it returns (a tuple, or one
        input) replaces the arguments. ``nn.Fused`` runs a model with hooks module by module."""
        return self._add_hook("_forward_pre_hooks", hook)

    def register_forward_hook(self, hook) -> HookHandle:
        """Call ``hook(module, args, output)`` after each forward; a value it returns replaces the output."""
        return self._add_hook("_forward_hooks", hook)

    def _add_hook(self, kind: str, hook) -> HookHandle:
        global _layout_version
        hooks = self.__dict__.setdefault(kind, [])
        hooks.append(hook)
        self.__dict__["_hooked"] = True
        _layout_version += 1  # nn.Fused re-reads its layers, and sees the hook
        return HookHandle(self, hooks, hook)

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every sub-module, then on this one (PyTorch's order); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (False freezes them); returns self."""
        for parameter in self.parameters():
            parameter.requires_grad_(requires_grad)
        return self

    def as_function(self, *others):
        """The one op this module applies, for :meth:`forward` and :class:`nn.Fused`.

        Returns ``(function, extra)``: ``function(first_input, *extra)`` is the module's output,
        with ``extra`` the Tensors it reads besides the first input (parameters; a loss's
        target, from ``others``). ``(None, ())`` means the module is the identity right now
        (dropout when not training). None, the default, means it is not one op: it defines
        ``forward``, and ``nn.Fused`` calls it as it is.
        """
        return None

    def check_input(self, x) -> None:
        """Checks of the first input that belong to the layer rather than to its op (the dtype
        of its parameters, the ranks it accepts); the op checks shapes. Nothing by default."""

    def label(self) -> str:
        """How errors name this module: ``Linear(784 → 512)``; the class name by default."""
        return type(self).__name__

    # -- registration ------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        global _layout_version
        state = self.__dict__
        if "_parameter_names" not in state:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() ran: "
                f"call super().__init__() first in {type(self).__name__}.__init__"
            )
        if isinstance(value, Parameter):
            if name not in state["_parameter_names"]:  # a new name goes last; a reassigned one keeps its place
                self._forget(name)
                state["_parameter_names"][name] = None
        elif isinstance(value, Module):
            _layout_version += 1
            if name not in state["_module_names"]:
                self._forget(name)
                state["_module_names"][name] = None
        elif name in state["_buffer_names"]:
            value = _as_buffer(value)
        elif value is not None and (name in state["_parameter_names"] or name in state["_module_names"]):
            kind = "parameter" if name in state["_parameter_names"] else "sub-module"
            expected = "a Parameter" if kind == "parameter" else "a Module"
            raise TypeError(
                f"cannot assign a {type(value).__name__} to {kind} {name!r} of {type(self).__name__}: "
                f"expected {expected} or None"
            )
        if value is None and name in state["_module_names"]:
            _layout_version += 1
        state[name] = value

    def __delattr__(self, name: str) -> None:
        global _layout_version
        _layout_version += 1
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        for registry in _REGISTRIES:
            self.__dict__[registry].pop(name, None)

    def register_buffer(self, name: str, value) -> None:
        """Register state that is saved in ``state_dict`` but not learned (a Tensor,
        an array, or None for "absent": then it is left out of ``state_dict``)."""
        if "_buffer_names" not in self.__dict__:
            raise AttributeError(f"register_buffer before Module.__init__() ran in {type(self).__name__}")
        if "." in name or not name:
            raise KeyError(f"buffer name must be non-empty and contain no '.', got {name!r}")
        self._forget(name)
        self.__dict__["_buffer_names"][name] = None
        self.__dict__[name] = _as_buffer(value)

    # -- traversal ---------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        state = self.__dict__
        for name in state["_module_names"]:
            module = state[name]
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _walk(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Every module under this one, pre-order, shared ones once per path."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child._walk(f"{prefix}.{name}" if prefix else name)

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every sub-module, pre-order (each shared one once)."""
        seen = set()
        for name, module in self._walk(prefix):
            if id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def _named_members(self, registry: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, member) of one registry, each shared member once."""
        seen = set()
        for prefix, module in self.named_modules() if recurse else [("", self)]:
            state = module.__dict__
            for name in state[registry]:
                member = state[name]
                if member is None or id(member) in seen:
                    continue
                seen.add(id(member))
                yield (f"{prefix}.{name}" if prefix else name), member

    def named_parameters(self, recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs in definition order, each shared Parameter once."""
        return self._named_members("_parameter_names", recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, parameter in self.named_parameters(recurse):
            yield parameter

    def named_buffers(self, recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffer_names", recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse):
            yield buffer

    # -- modes and gradients ---------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch statistics) on this module and all below."""
        for module in self.modules():
            module.__dict__["training"] = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (dropout off, running statistics) on this module and all below."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient: None (the default, as PyTorch), or zeros in place."""
        for parameter in self.parameters():
            if set_to_none or parameter.grad is None:
                parameter.grad = None
            else:
                parameter.grad = gradient_array(parameter)
                parameter.grad[...] = 0

    def to(self, *args, device: str | None = None, dtype=None) -> Module:
        """Move every parameter and buffer to ``device`` and/or cast the floating ones to
        ``dtype``, in place (returns self), as PyTorch's ``module.to("cuda")``,
        ``module.to(numpy.float64)``. Gradients are dropped: they belonged to the old arrays."""
        for arg in args:
            if isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", *backend.device_names()):
                device = arg
            else:
                dtype = arg
        if dtype is not None:
            dtype = numpy.dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"Module.to: expected a floating dtype, got {dtype}")
        for registry in ("_parameter_names", "_buffer_names"):
            for _, tensor in self._named_members(registry, recurse=True):
                if dtype is not None and tensor.dtype.kind == "f":
                    tensor.data = tensor.data.astype(dtype, copy=False)
                    tensor.grad = None
                if device is not None:
                    tensor.data = backend.to_device(tensor.data, device)
                    tensor.grad = None
        return self

    def double(self) -> Module:
        """Every floating parameter and buffer in float64 (``to(numpy.float64)``)."""
        return self.to(numpy.float64)

    def float(self) -> Module:
        """Every floating parameter and buffer in float32 (``to(numpy.float32)``)."""
        return self.to(numpy.float32)

    def cuda(self) -> Module:
        """Every parameter and buffer on the GPU (``to("cuda")``)."""
        return self.to("cuda")

    def cpu(self) -> Module:
        """Every parameter and buffer in host memory (``to("cpu")``)."""
        return self.to("cpu")

    # -- state -------------------------------------------------------------------
    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        """(name, Tensor) of every parameter and buffer, in PyTorch's state_dict order:
        each module's parameters, then its buffers, then its children's."""
        for prefix, module in self._walk():
            state = module.__dict__
            for registry in ("_parameter_names", "_buffer_names"):
                for name in state[registry]:
                    tensor = state[name]
                    if tensor is not None:
                        yield (f"{prefix}.{name}" if prefix else name), tensor

    def state_dict(self) -> OrderedDict:
        """Name → NumPy array of every parameter and buffer (copies: later training
        does not change them)."""
        return OrderedDict((name, backend.to_numpy(t.data).copy()) for name, t in self._state_items())

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays (or Tensors) from ``state_dict`` into the parameters and buffers.

        Raises CheckpointError, listing every problem at once, when a shape or dtype
        differs, or (with ``strict``) when a key is missing or unexpected. Nothing is
        copied unless everything fits. A floating array of another floating dtype is cast, as
        PyTorch does (a float64 checkpoint into a float32 model); other dtypes must match.
        """
        own = dict(self._state_items())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        arrays, mis_shaped, mis_typed = {}, [], []
        for name, tensor in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            array = backend.to_numpy(value.data if isinstance(value, Tensor) else value)
            if array.shape != tensor.shape:
                mis_shaped.append(f"{name}: model {tensor.shape}, state_dict {array.shape}")
            elif array.dtype != tensor.dtype and not (array.dtype.kind == tensor.dtype.kind == "f"):
                mis_typed.append(f"{name}: model {tensor.dtype}, state_dict {array.dtype}")
            arrays[name] = array
        problems = [(label, items) for label, items in [
            ("missing keys", missing if strict else []),
            ("unexpected keys", unexpected if strict else []),
            ("shape mismatches", mis_shaped),
            ("dtype mismatches", mis_typed),
        ] if items]
        if problems:
            lines = [f"  {label}: {', '.join(items)}" for label, items in problems]
            raise CheckpointError(f"error loading state_dict into {type(self).__name__}:\n" + "\n".join(lines))
        for name, array in arrays.items():
            own[name].data[...] = backend.array_module(own[name].data).asarray(backend.to_numpy(array)
                                                                               if not isinstance(array, backend.array_types) else array)
        return IncompatibleKeys(missing, unexpected)

    # -- printing ----------------------------------------------------------------
    def extra_repr(self) -> str:
        """The configuration shown inside this module's parentheses in ``repr``."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = [f"({name}): {_indent(repr(child))}" for name, child in self.named_children()]
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join(([_indent(extra)] if extra else []) + lines)
        return f"{type(self).__name__}(\n  {body}\n)"
