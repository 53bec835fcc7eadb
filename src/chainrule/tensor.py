"""Tensor, Function and the graph that ``backward()`` walks.

A :class:`Function` is one node of the graph: ``forward`` runs on plain arrays and
saves what ``backward`` needs; ``backward`` maps the gradient of the output to one
gradient per input. Calling a Function on Tensors runs ``forward`` and, when some
input requires a gradient and grad mode is on, records the node on the output.

``Tensor.backward()`` orders the nodes reverse-topologically (iteratively, so a
chain of 100,000 ops needs no recursion), sums the gradients of tensors used more
than once, reduces gradients over broadcast axes, and releases each node's saved
arrays as soon as it has run.

Second and higher order: with ``create_graph=True`` the walk calls each node's
``backward_graph(dy)`` instead, the same derivation written with differentiable ops
on Tensors, so the gradients it returns carry a graph of their own and can be
differentiated again. Without it, backward stays on arrays: the fast first-order path.
"""
from __future__ import annotations

import contextlib
import inspect
import operator
import time
import weakref

import numpy

from . import backend
from .broadcast import sum_to
from .errors import ShapeError

_grad_enabled = True

_backward_calls = 0
"""How many times backward() has run in this process: an optimizer compares it between two
steps to tell fresh gradients from stale ones."""


def backward_calls() -> int:
    """How many times ``Tensor.backward()`` has run in this process."""
    return _backward_calls

_observers: list = []
"""Objects told about every op as it runs (trace, anomaly detection); see ``observe``."""


@contextlib.contextmanager
def observe(observer):
    """Within the block, call ``observer.on_forward(fn, inputs, output, seconds)`` after every
    Function call and ``observer.on_backward(fn, grad_output, grads, seconds)`` after every
    node's backward (before its saved arrays are released). Either method may be absent.
    With no observer active, ops pay nothing for this.
    """
    _observers.append(observer)
    try:
        yield observer
    finally:
        _observers.remove(observer)


def is_observed() -> bool:
    """Whether an observer is active: fused nodes (``ops.Chain``) then run op by op, so that
    it sees every op."""
    return bool(_observers)


def _notify(event: str, *args) -> None:
    for observer in tuple(_observers):
        method = getattr(observer, event, None)
        if method is not None:
            method(*args)


def hooks_registered() -> bool:
    """Whether any Tensor has a gradient hook (``register_hook``): backward then takes the general walk."""
    return _hooks_registered > 0


def is_grad_enabled() -> bool:
    """Whether calling a Function records it on the graph."""
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled: bool):
        self.enabled = enabled
        # A stack, not one slot: a decorated function that calls itself re-enters this object.
        self.previous = []

    def __enter__(self):
        global _grad_enabled
        self.previous.append(_grad_enabled)
        _grad_enabled = self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous.pop()
        return False


def no_grad() -> contextlib.ContextDecorator:
    """Context manager (and decorator) inside which nothing is recorded."""
    return _GradMode(False)


def enable_grad() -> contextlib.ContextDecorator:
    """Context manager (and decorator) that turns recording back on."""
    return _GradMode(True)


class _AllInputs(tuple):
    """``needs_input_grad`` of a Function called by hand: every input wants one."""

    def __getitem__(self, index):
        return True


class Function:
    """One hand-differentiated operation, and one node of the graph.

    Subclasses implement::

        forward(*arrays) -> array        # self.save_for_backward(...) what backward reads
        backward(grad)   -> tuple        # one gradient per input, same shape and
                                         # dtype as that input, or None
        backward_graph(grad) -> tuple    # optional: the same on Tensors, from differentiable
                                         # ops, for create_graph=True (second order)

    Settings (axes, flags) go to ``__init__`` and stay ordinary attributes; the arrays
    backward reads go through one call, ``self.save_for_backward(a, b)``, into one slot,
    read back as ``a, b = self.saved_tensors`` (PyTorch's names), and the class says what
    they are in ``saved_names = ("a", "b")``. That slot is all a node
    frees after its backward and all ``cr.trace`` counts as kept. A Function is usable by
    hand, without the graph: ``f = Linear(); y = f.forward(x, W, b);
    dx, dW, db = f.backward(dy)``. Called on Tensors (``f(x, W, b)``) it records
    itself as the creator of the result. ``self.needs_input_grad[i]`` tells
    ``backward`` (and ``forward``, which may skip saving) whether input ``i``
    needs a gradient; by hand, every input does.
    """

    __slots__ = ("inputs", "_retained", "_released", "_saved", "__dict__", "__weakref__")

    needs_input_grad = _AllInputs()

    broadcasts = False
    """True for ops whose inputs broadcast against each other (elementwise): when NumPy
    cannot broadcast them, the call raises a ShapeError naming the op and every shape."""

    def __call__(self, *inputs) -> Tensor:
        if getattr(self, "_released", None) is not None:
            # A second call would overwrite the saved arrays the first node's backward needs.
            raise RuntimeError(
                f"{self.name} was already called on the graph: a Function object is one node, "
                f"so create a new one for each call (e.g. ops.{self.name}()(x), or cr.relu(x))"
            )
        tensors = inputs
        for t in inputs:
            if not isinstance(t, Tensor):
                tensors = _as_tensors(inputs)
                break
        # List comprehensions, not generators: this runs once per op, and at batch size 1
        # the per-op overhead is what a training step costs.
        arrays = [t.data for t in tensors]
        if len(arrays) > 1:
            _check_arrays(self, arrays)
        wants = tuple([t.requires_grad for t in tensors])
        record = _grad_enabled and True in wants
        self.needs_input_grad = wants if record else (False,) * len(tensors)
        started = time.perf_counter() if _observers else 0.0
        try:
            out = self.forward(*arrays)
        except ValueError as error:
            if self.broadcasts and not isinstance(error, ShapeError):
                _check_broadcastable(self, tensors)
            raise
        result = Tensor(out)
        if record:
            self.inputs = tensors
            self._retained = None
            self._released = False
            result.requires_grad = True
            result.creator = self
        if _observers:
            _notify("on_forward", self, tensors, result, time.perf_counter() - started)
        return result

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        forward, backward = cls.__dict__.get("forward"), cls.__dict__.get("backward")
        if isinstance(forward, staticmethod) or isinstance(backward, staticmethod):
            _adopt_pytorch_style(cls, forward, backward)

    @classmethod
    def apply(cls, *args, **kwargs) -> Tensor:
        """Call a new node of this Function on ``args`` (PyTorch's spelling of ``cls()(*args)``).
        For a PyTorch-style Function (static ``forward(ctx, ...)``), arguments that are not
        Tensors or arrays (numbers, strings, None) and keyword arguments go to ``forward`` as
        they are, without gradients, as in PyTorch."""
        if not getattr(cls, "_pytorch_style", False):
            if kwargs:
                raise TypeError(f"{cls.__name__}.apply: keyword arguments go to __init__ for a Function written "
                                f"with forward(self, ...): {cls.__name__}(...)(*inputs)")
            return cls()(*args)
        node = cls()
        positions = [i for i, a in enumerate(args) if isinstance(a, (Tensor, *backend.array_types))]
        # The constants only: the inputs are the node's inputs, and must not outlive its release.
        node._arguments = tuple(None if i in positions else a for i, a in enumerate(args))
        node._keywords = kwargs
        node._input_positions = positions
        return node(*[args[i] for i in positions])

    def forward(self, *arrays):
        raise NotImplementedError(f"{type(self).__name__} must implement forward(*arrays)")

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__} must implement backward(grad)")

    backward_graph = None
    """``backward_graph(dy: Tensor) -> tuple of Tensors``: the gradients written with
    differentiable ops, from the input Tensors ``self.inputs`` (not from saved outputs, which
    carry no graph), so that ``create_graph=True`` can differentiate them again. A gradient
    may keep a broadcast shape: the walk sums it to its input's shape with ``sum_to_size``.
    None for an op that can only be differentiated once."""

    @property
    def name(self) -> str:
        return type(self).__name__

    saved_names: tuple = ()
    """What each array given to :meth:`save_for_backward` is, for ``cr.trace`` (``("x", "W")``)."""

    def save_for_backward(self, *arrays) -> None:
        """Keep these arrays (None allowed) for ``backward``: the one place a node keeps arrays."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        """The arrays given to :meth:`save_for_backward`, in order."""
        try:
            return self._saved
        except AttributeError:
            raise RuntimeError(
                f"{self.name}.backward read saved_tensors, but its forward never called "
                f"self.save_for_backward(...)"
            ) from None

    def release(self) -> None:
        """Drop the saved arrays and the links to the inputs (after backward ran); settings stay."""
        if not hasattr(self, "_saved"):  # written before save_for_backward: it kept arrays as attributes
            for name in [name for name, value in vars(self).items() if isinstance(value, backend.array_types)]:
                del self.__dict__[name]
        self._saved = ()
        self.inputs = ()
        self._released = True

    def __repr__(self) -> str:
        return f"<{self.name}>"



def _adopt_pytorch_style(cls, forward, backward) -> None:
    """Let ``cls``, written as PyTorch writes a ``torch.autograd.Function`` (static ``forward(ctx,
    *args)`` and ``backward(ctx, grad)``, the node itself as ``ctx``), run as a chainrule Function."""
    if not (isinstance(forward, staticmethod) and isinstance(backward, staticmethod)):
        raise TypeError(
            f"{cls.__name__}: forward and backward must both be @staticmethod (PyTorch style: "
            f"forward(ctx, x, ...) and backward(ctx, grad)) or both plain methods (forward(self, x, ...), "
            f"backward(self, grad)), not one of each")
    forward_function, backward_function = forward.__func__, backward.__func__

    def run_forward(self, *arrays):
        arguments = list(getattr(self, "_arguments", arrays))
        for position, array in zip(getattr(self, "_input_positions", range(len(arrays))), arrays):
            arguments[position] = array
        return forward_function(self, *arguments, **getattr(self, "_keywords", {}))

    def run_backward(self, grad):
        grads = backward_function(self, grad)
        grads = grads if isinstance(grads, tuple) else (grads,)
        positions = getattr(self, "_input_positions", None)
        if positions is None or len(grads) == len(positions):
            return grads
        if len(grads) != len(self._arguments):
            raise RuntimeError(f"{cls.__name__}.backward returned {len(grads)} gradients for the "
                               f"{len(self._arguments)} arguments of forward (one per argument, None for a non-Tensor)")
        return tuple(grads[i] for i in positions)

    run_forward.__signature__ = _without_ctx(forward_function)
    cls.forward, cls.backward = run_forward, run_backward
    cls._pytorch_style = True


def _without_ctx(function):
    """The signature of a static ``forward(ctx, x, ...)`` as the node's ``forward(x, ...)``."""
    signature = inspect.signature(function)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def _as_tensors(inputs) -> tuple:
    """The inputs as Tensors; a floating number or array beside a floating Tensor takes its dtype,
    so that a Python float never turns a float32 call into a float64 one. Integers and booleans
    (indices, labels, masks) stay as they are."""
    like = next((t for t in inputs if isinstance(t, Tensor) and t.data.dtype.kind == "f"), None)
    xp = backend.array_module(None, *(t.data for t in inputs if isinstance(t, Tensor)))
    converted = []
    for value in inputs:
        if not isinstance(value, Tensor):
            array = xp.asarray(value)
            if like is not None and array.dtype.kind == "f":
                array = array.astype(like.data.dtype, copy=False)
            value = Tensor(array)
        converted.append(value)
    return tuple(converted)


def _check_arrays(fn: Function, arrays: list) -> None:
    """Refuse inputs on different devices, or of floating dtypes that differ (no silent upcast)."""
    first, kind = arrays[0].dtype, type(arrays[0])
    for array in arrays:
        if type(array) is not kind:
            _refuse_mixed_devices(fn, arrays)
        if array.dtype is not first:  # NumPy's built-in dtypes are singletons: one test each
            _check_floating_dtypes(fn, arrays)
            break


def _refuse_mixed_devices(fn: Function, arrays: list) -> None:
    """Raise TypeError naming the op and the devices when its inputs live on different ones: a
    NumPy array beside a CuPy one would otherwise be copied (or refused) deep inside the op."""
    devices = [backend.device_of(a) for a in arrays]
    if len(set(devices)) > 1:
        listed = ", ".join(f"input {i}: {device}" for i, device in enumerate(devices))
        raise TypeError(
            f"{getattr(fn, 'op_name', None) or fn.name}: inputs are on different devices ({listed}); "
            f"move them to one first, e.g. x.to('{devices[-1]}')"
        )


def _check_floating_dtypes(fn: Function, arrays: list) -> None:
    """The dtype rule of every Function call, built-in or written by a user: floating inputs share
    one dtype. NumPy would compute float32 with float64 in float64, and the float32 input's
    gradient would come back float64, failing in backward() and blaming a correct backward.
    Registered ops check in their forward, with messages that name what they combine."""
    if getattr(fn, "op_name", None) is None:
        reject_promotion(fn.name, [a for a in arrays if a.dtype.kind == "f"])


def reject_promotion(op: str, arrays) -> None:
    """Raise TypeError naming the dtypes if NumPy's result dtype differs from a floating input's."""
    if not arrays:
        return
    result = numpy.result_type(*arrays)
    promoted = [str(a.dtype) for a in arrays if a.dtype.kind == "f" and a.dtype != result]
    if promoted:
        dtypes = " and ".join(str(a.dtype) for a in arrays)
        raise TypeError(
            f"{op}: mixing {dtypes} inputs would silently promote {', '.join(promoted)} to {result}; "
            f"cast explicitly first, e.g. x.astype('{result}') or x.astype('{promoted[0]}')"
        )


def _check_broadcastable(fn: Function, tensors: tuple) -> None:
    """Raise ShapeError, naming the op and the shapes, if the inputs do not broadcast."""
    shapes = [t.shape for t in tensors]
    try:
        numpy.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(shape) for shape in shapes)
        raise ShapeError(
            f"{getattr(fn, 'op_name', fn.name)}: input shapes {listed} do not broadcast together "
            f"(aligned from the last axis, each pair of sizes must be equal or 1)"
        ) from None


class Tensor:
    """An array that remembers the Function that made it.

    ``data`` is the array (NumPy, or CuPy under that backend); ``grad`` is an array
    of the same shape and dtype once ``backward()`` has reached this tensor (leaves
    only, unless :meth:`retain_grad` was called).
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "name", "__weakref__")
    __array_ufunc__ = None  # make ``ndarray op Tensor`` defer to Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        if not isinstance(data, backend.array_types):
            data = backend.xp.asarray(data)
        self.data = data
        self.grad = None
        self.creator = None
        self.name = name
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # -- array-like attributes -------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def device(self) -> str:
        """Where the data lives: ``"cpu"``, ``"cuda"``."""
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    def __len__(self) -> int:
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        """``numpy.asarray(tensor)`` gives the data (no graph)."""
        array = self.numpy()
        return array if dtype is None else array.astype(dtype, copy=False)

    def numpy(self) -> numpy.ndarray:
        """The data as a NumPy array (a view, not a copy, on the NumPy backend)."""
        return backend.to_numpy(self.data)

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor(self.data)

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph, in place: it becomes a leaf that requires no gradient."""
        self.creator = None
        self.requires_grad = False
        return self

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` with this tensor's gradient (a Tensor) each time backward computes it
        (for a leaf, once per backward, before it is added to ``grad``); a Tensor or array it
        returns replaces the gradient. Returns a handle whose ``remove()`` unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no gradient will reach it")
        key = self if self.creator is None else self.creator
        _add_hook(key, hook)
        return RemovableHandle(key, hook)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``grad`` on this non-leaf tensor after backward."""
        if self.creator is not None:
            self.creator._retained = weakref.ref(self)

    def __repr__(self) -> str:
        body = numpy.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extras = ""
        if self.data.dtype != backend.DEFAULT_DTYPE:
            extras += f", dtype={self.data.dtype}"
        if self.creator is not None:
            extras += f", creator={self.creator.name}"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    # -- comparisons take no gradient ------------------------------------------
    def _compare(self, other, op):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(op(self.data, other))

    def __lt__(self, other):
        return self._compare(other, operator.lt)

    def __le__(self, other):
        return self._compare(other, operator.le)

    def __gt__(self, other):
        return self._compare(other, operator.gt)

    def __ge__(self, other):
        return self._compare(other, operator.ge)

    def __eq__(self, other):
        return self._compare(other, operator.eq)

    def __ne__(self, other):
        return self._compare(other, operator.ne)

    __hash__ = object.__hash__

    # -- the backward pass -----------------------------------------------------
    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) · gradient into the ``grad`` of every leaf (PyTorch's signature).

        gradient: array or Tensor of this tensor's shape; may be omitted for a tensor with one
        element (it is then 1). retain_graph: keep the saved arrays for another backward
        (default: ``create_graph``). create_graph: record the backward pass itself, so that
        the gradients, then Tensors in ``grad``, can be differentiated again.
        """
        global _backward_calls
        _backward_calls += 1
        grad = _seed_gradient(self, gradient, "backward()")
        if retain_graph is None:
            retain_graph = create_graph
        if create_graph:
            grad = Tensor(grad)
        if self.creator is None:
            _accumulate_leaf(self, grad)
        elif create_graph or _hooks_registered:
            _run_backward(self.creator, _walk_graph, {self.creator: grad}, retain_graph, create_graph, None)
        else:
            _run_backward(self.creator, _walk_backward, self.creator, grad, retain_graph)

    # operators, ops and creation helpers are installed by chainrule.ops


def _seed_gradient(output: Tensor, gradient, caller: str):
    """The gradient that starts a backward pass from ``output``, as an array of its dtype."""
    if not output.requires_grad:
        raise RuntimeError(
            f"{caller} on a tensor that does not require grad: no input of the "
            "computation has requires_grad=True (or it ran under no_grad())"
        )
    xp = backend.array_module(output.data)
    if gradient is None:
        if output.data.size != 1:
            raise RuntimeError(
                f"{caller} without a gradient works only on a tensor with one element; "
                f"this one has shape {output.shape}: pass gradient= of that shape"
            )
        # array(1).reshape, not ones(): a third of the cost, which counts at batch size 1
        return xp.array(1, dtype=output.data.dtype).reshape(output.data.shape)
    # A Tensor of another dtype is cast like an array, as PyTorch does, instead of
    # failing later in the first op's backward.
    grad = xp.asarray(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=output.dtype)
    if grad.shape != output.shape:
        raise ShapeError(f"{caller}: gradient has shape {grad.shape}, the tensor has shape {output.shape}")
    return grad


def gradient_array(tensor: Tensor):
    """``tensor.grad`` as an array (its data, when ``backward(create_graph=True)`` left a Tensor
    there), or None: what optimizers and gradient utilities read."""
    grad = tensor.grad
    return grad.data if isinstance(grad, Tensor) else grad


def _accumulate_leaf(tensor: Tensor, grad, may_be_shared: bool = True) -> None:
    """Add ``grad`` into ``tensor.grad``, which must end up the tensor's own writable array.

    Never add in place, and copy a gradient that someone else may hold (the caller's
    array, another input's gradient) or that is a view (a read-only broadcast from a
    sum's backward); a fresh array from an op's backward is kept without a copy.
    """
    if tensor.grad is not None:
        tensor.grad = tensor.grad + grad
    elif may_be_shared or grad.base is not None or (isinstance(grad, numpy.ndarray) and not grad.flags.writeable):
        # Laid out like the tensor's own data (empty_like keeps its memory order): the optimizer
        # then meets one layout, and a batch-last gradient of a batch-last leaf copies without a gather.
        tensor.grad = backend.array_module(tensor.data).empty_like(tensor.data)
        tensor.grad[...] = grad
    else:
        tensor.grad = grad


def _accumulate_leaf_on_graph(tensor: Tensor, grad: Tensor) -> None:
    """Add a Tensor gradient (``create_graph=True``) into ``tensor.grad`` on the graph, as a Tensor."""
    previous = tensor.grad
    if previous is None:
        tensor.grad = grad
    else:
        tensor.grad = (previous if isinstance(previous, Tensor) else Tensor(previous)) + grad


def topological_order(*roots: Function) -> list:
    """The nodes reachable from ``roots``, each before every node it depends on (a root reachable
    from another root, too: each root's search runs after the previous one's, none marked early)."""
    order = []
    visited = set()
    for root in roots:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(root.inputs))]
        while stack:
            node, pending_inputs = stack[-1]
            for tensor in pending_inputs:
                creator = tensor.creator
                if creator is not None and creator not in visited:
                    visited.add(creator)
                    stack.append((creator, iter(creator.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


_hooks: dict = {}
"""Gradient hooks (``Tensor.register_hook``): id of a leaf tensor, or of the node that made a
non-leaf one → (a weak reference to it, its hooks in order). Keyed by id, with the entry dropped
when its object dies: a Tensor's ``==`` is elementwise, so Tensors cannot be dictionary keys."""

_hooks_registered = 0
"""How many hooks ``_hooks`` holds: while 0, the backward pass asks nothing about hooks."""


def _add_hook(key, hook) -> None:
    global _hooks_registered
    entry = _hooks.get(id(key))
    if entry is None or entry[0]() is not key:
        entry = _hooks[id(key)] = (weakref.ref(key, lambda _, k=id(key): _forget_hooks(k)), [])
    entry[1].append(hook)
    _hooks_registered += 1


def _forget_hooks(key_id: int) -> None:
    global _hooks_registered
    if _hooks is None:  # the interpreter is shutting down and has cleared this module
        return
    entry = _hooks.pop(key_id, None)
    if entry is not None:
        _hooks_registered -= len(entry[1])


def _hooks_of(key) -> list:
    """The hooks registered on ``key`` (a leaf tensor or a node), or an empty list."""
    entry = _hooks.get(id(key))
    return entry[1] if entry is not None and entry[0]() is key else []


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` unregisters the hook."""

    def __init__(self, key, hook):
        self._key, self._hook = weakref.ref(key), hook

    def remove(self) -> None:
        global _hooks_registered
        key = self._key()
        hooks = _hooks_of(key) if key is not None else []
        if self._hook in hooks:
            hooks.remove(self._hook)
            _hooks_registered -= 1
            if not hooks:
                del _hooks[id(key)]


def _run_hooks(hooks: list, grad):
    """``grad`` after ``hooks`` (a Tensor when create_graph is on, else an array)."""
    for hook in hooks:
        result = hook(grad if isinstance(grad, Tensor) else Tensor(grad))
        if result is not None:
            grad = result if isinstance(grad, Tensor) else (result.data if isinstance(result, Tensor) else result)
    return grad


_queued_callbacks: list | None = None
"""Callbacks to run when the backward() now running ends; None outside backward()."""


def queue_callback(callback) -> None:
    """Run ``callback()`` once the ``backward()`` now running has reached every leaf (PyTorch's
    engine has the same hook): ``distributed.DistributedDataParallel`` averages the
    gradients there, when all of them are complete. Only callable from inside a backward."""
    if _queued_callbacks is None:
        raise RuntimeError("queue_callback() can only be called while backward() runs (from a node's backward)")
    _queued_callbacks.append(callback)


_last_root = None
"""A weak reference to the node the latest backward() started from (see ``last_backward_root``)."""


def last_backward_root() -> Function | None:
    """The node the latest ``backward()`` started from, if it still exists: the graph whose
    gradients the leaves hold now (``cr.draw_graph`` shows gradient norms only for it)."""
    return None if _last_root is None else _last_root()


def _run_backward(root: Function, walk, *arguments) -> None:
    """``walk(*arguments)`` (a backward pass that starts at ``root``), then the callbacks it queued."""
    global _queued_callbacks, _last_root
    _last_root = weakref.ref(root)
    outer, _queued_callbacks = _queued_callbacks, []
    try:
        walk(*arguments)
        callbacks = _queued_callbacks
    finally:
        _queued_callbacks = outer
    for callback in callbacks:
        callback()


def _walk_backward(root: Function, grad, retain_graph: bool) -> None:
    """The first-order walk on arrays into the leaves' ``grad``: the fast path, kept to the
    essentials because at batch size 1 its overhead is what a step costs. Everything else
    (create_graph, autograd.grad, hooks) takes :func:`_walk_graph`."""
    pending = {root: grad}
    for node in topological_order(root):
        grad_out = pending.pop(node, None)
        if grad_out is None:
            continue
        if node._released:
            raise RuntimeError(
                f"backward through {node.name} a second time: its saved arrays were freed "
                f"by the first backward(). Pass retain_graph=True to the first call to keep them."
            )
        if node._retained is not None:
            kept = node._retained()
            if kept is not None:
                _accumulate_leaf(kept, grad_out)
        started = time.perf_counter() if _observers else 0.0
        inputs = node.inputs
        grads = gradient_tuple(node, node.backward(grad_out), len(inputs))
        if _observers:
            _notify("on_backward", node, grad_out, grads, time.perf_counter() - started)
        if not retain_graph:
            node.release()
        _deliver(node, inputs, grads, grad_out, pending)


def _deliver(node: Function, inputs: tuple, grads: tuple, grad_out, pending: dict) -> None:
    """Hand ``node``'s input gradients on: into a leaf's ``grad``, or to the node that made the
    input (``pending``, summed)."""
    repeated = None  # whether backward returned one array for two inputs; asked only for leaves
    for tensor, g in zip(inputs, grads):
        if g is None or not tensor.requires_grad:
            continue
        data = tensor.data
        if g.shape != data.shape or g.dtype != data.dtype:
            g = fit_gradient(node.name, data.shape, data.dtype, g)
        creator = tensor.creator
        if creator is None:
            # A fresh gradient is kept without a copy, unless the same array also goes
            # elsewhere: it is grad_out passed through, or returned for two inputs.
            if repeated is None:
                present = [id(other) for other in grads if other is not None]
                repeated = len(set(present)) < len(present)
            _accumulate_leaf(tensor, g, may_be_shared=repeated or g is grad_out)
        elif creator in pending:
            pending[creator] = pending[creator] + g
        else:
            pending[creator] = g


def forward_and_backward(function: Function, inputs: tuple):
    """What ``function(*inputs).backward()`` does, without the output Tensor: its forward on the
    arrays, then the first-order walk from a gradient of 1 into the inputs' ``grad`` (through their
    creators where an input has one). Returns the output array, which must hold one element. For a
    whole training step recorded as one node (``train.FusedStep``); under an observer, with gradient
    hooks or with gradients disabled, call it the ordinary way."""
    arrays = [t.data for t in inputs]
    if len(arrays) > 1:
        _check_arrays(function, arrays)
    function.needs_input_grad = tuple([t.requires_grad for t in inputs])
    out = function.forward(*arrays)
    if out.size != 1:
        raise RuntimeError(f"{function.name}: forward_and_backward needs an output of one element, got shape "
                           f"{out.shape}")
    function.inputs, function._retained, function._released = inputs, None, False
    seed = backend.array_module(out).array(1, dtype=out.dtype).reshape(out.shape)
    if all([t.creator is None for t in inputs]):
        _run_backward(function, _backward_into_leaves, function, seed)
    else:
        _run_backward(function, _walk_backward, function, seed, False)
    return out


def _backward_into_leaves(node: Function, grad_out) -> None:
    """:func:`_walk_backward` for a graph of one node whose inputs are all leaves: no order to
    find, nothing pending."""
    inputs = node.inputs
    grads = gradient_tuple(node, node.backward(grad_out), len(inputs))
    node.release()
    _deliver(node, inputs, grads, grad_out, None)


def _walk_graph(seeds: dict, retain_graph: bool, create_graph: bool, captured: dict | None) -> None:
    """The general walk: from several outputs (``seeds``: node → gradient of its output), into
    ``captured`` (``autograd.grad``: a leaf's id, or a non-leaf's creator → [tensor, gradient])
    or the leaves, through each node's ``backward_graph`` when ``create_graph``, running gradient
    hooks. Grad mode is ``create_graph`` meanwhile, as in PyTorch's engine."""
    with _GradMode(create_graph):
        _walk_graph_nodes(seeds, retain_graph, create_graph, captured)


def _walk_graph_nodes(seeds: dict, retain_graph: bool, create_graph: bool, captured: dict | None) -> None:
    pending = dict(seeds)
    order = topological_order(*seeds)
    useful = None if captured is None else _leading_to(order, captured)
    accumulate = _accumulate_leaf_on_graph if create_graph else _accumulate_leaf
    hooked_leaves = {}  # id → (leaf, its gradient so far): its hooks see it whole, once
    for node in order:
        grad_out = pending.pop(node, None)
        if grad_out is None:
            continue
        if _hooks_of(node):
            grad_out = _run_hooks(_hooks_of(node), grad_out)
        if node._released:
            raise RuntimeError(
                f"backward through {node.name} a second time: its saved arrays were freed "
                f"by the first backward(). Pass retain_graph=True to the first call to keep them."
            )
        if captured is not None:
            if node in captured:  # autograd.grad asked for this node's output
                _capture(captured[node], grad_out)
            if node not in useful:
                continue
        elif node._retained is not None:
            kept = node._retained()
            if kept is not None:
                accumulate(kept, grad_out)
        started = time.perf_counter() if _observers else 0.0
        inputs = node.inputs
        if create_graph:
            if node.backward_graph is None:
                raise RuntimeError(
                    f"{getattr(node, 'op_name', None) or node.name} cannot be differentiated twice: it has no "
                    f"backward_graph(dy), its gradients written with differentiable ops (needed by create_graph=True)"
                )
            grads = gradient_tuple(node, node.backward_graph(grad_out), len(inputs))
        else:
            grads = gradient_tuple(node, node.backward(grad_out), len(inputs))
        if _observers:
            _notify("on_backward", node, grad_out, grads, time.perf_counter() - started)
        if not retain_graph:
            node.release()
        for tensor, g in zip(inputs, grads):
            if g is None or not tensor.requires_grad:
                continue
            data = tensor.data
            if g.shape != data.shape or g.dtype != data.dtype:
                g = fit_gradient(node.name, data.shape, data.dtype, g)
            creator = tensor.creator
            if creator is not None:
                pending[creator] = pending[creator] + g if creator in pending else g
            elif _hooks_of(tensor) or (captured is not None and id(tensor) in captured):
                earlier = hooked_leaves.get(id(tensor))
                hooked_leaves[id(tensor)] = (tensor, g if earlier is None else earlier[1] + g)
            elif captured is None:
                accumulate(tensor, g)
    for tensor, g in hooked_leaves.values():
        g = _run_hooks(_hooks_of(tensor), g)
        if captured is None:
            accumulate(tensor, g)
        else:
            _capture(captured[id(tensor)], g)


def _leading_to(order: list, captured: dict) -> set:
    """The nodes of ``order`` through which a gradient reaches a tensor ``autograd.grad`` asked
    for: the walk skips the others, as far below the inputs as the graph goes."""
    useful = set()
    for node in reversed(order):  # every node after the nodes it depends on
        for tensor in node.inputs:
            creator = tensor.creator
            if (id(tensor) in captured) if creator is None else (creator in useful or creator in captured):
                useful.add(node)
                break
    return useful


def _capture(slot: list, grad) -> None:
    """Add ``grad`` to what ``autograd.grad`` returns for one of its inputs (``slot[1]``)."""
    slot[1] = grad if slot[1] is None else slot[1] + grad


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated
    (``torch.autograd.grad``): no tensor's ``grad`` changes.

    outputs, inputs: a Tensor or a sequence of Tensors; grad_outputs: one gradient per
    output (None for a one-element output, whose gradient is then 1). With
    ``create_graph=True`` the gradients are Tensors with a graph of their own, to be
    differentiated again; otherwise Tensors holding plain arrays. An input that the outputs
    do not depend on raises, unless ``allow_unused=True`` (its gradient is then None).
    """
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, *backend.array_types)):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"autograd.grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, tensor in enumerate(inputs):
        if not isinstance(tensor, Tensor) or not tensor.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} is not a Tensor that requires grad")
    if retain_graph is None:
        retain_graph = create_graph
    captured = {}
    slots = [captured.setdefault(tensor.creator if tensor.creator is not None else id(tensor), [tensor, None])
             for tensor in inputs]
    seeds = {}
    for output, gradient in zip(outputs, grad_outputs):
        seed = _seed_gradient(output, gradient, "autograd.grad")
        if create_graph:
            seed = gradient if isinstance(gradient, Tensor) and gradient.requires_grad else Tensor(seed)
        if output.creator is None and id(output) in captured:  # d(output)/d(output): the seed itself
            _capture(captured[id(output)], seed)
        if output.creator is not None:
            node = output.creator
            seeds[node] = seed if node not in seeds else seeds[node] + seed
    if seeds:
        _run_backward(next(iter(seeds)), _walk_graph, seeds, retain_graph, create_graph, captured)
    results = []
    for i, (tensor, value) in enumerate(slots):
        if value is None and not allow_unused:
            raise RuntimeError(f"autograd.grad: input {i} (shape {tensor.shape}) was not used to compute the "
                               f"outputs; pass allow_unused=True to get None for it")
        results.append(value if value is None or isinstance(value, Tensor) else Tensor(value))
    return tuple(results)


class _Alias(Function):
    """The identity, as a node: a second name for an input, so that a gradient taken with respect
    to it is the partial derivative through that use alone (see :func:`recomputed_gradients`)."""

    def forward(self, x):
        return x

    def backward(self, dy):
        return (dy,)

    def backward_graph(self, dy):
        return (dy,)


def recomputed_gradients(node: Function, recompute, dy: Tensor) -> tuple:
    """``node.backward_graph(dy)`` for an op whose forward ``recompute(*inputs)`` computes again
    with differentiable ops (a Chain's steps, an LSTM's unrolled recurrence): the gradient of that
    graph with respect to each input position, on the graph. Each position gets an alias, so that
    an input computed from another input (h0 from x) or given twice (one weight used twice) still
    gets the partial derivative of its own position, as an op's backward returns."""
    need = node.needs_input_grad
    aliases = [_Alias()(t) if wanted else t for t, wanted in zip(node.inputs, need)]
    wanted = [alias for alias, wanted in zip(aliases, need) if wanted]
    found = iter(grad(recompute(*aliases), wanted, dy, create_graph=True, allow_unused=True))
    return tuple(next(found) if wanted else None for wanted in need)


def gradient_tuple(function: Function, grads, count: int) -> tuple:
    """What ``function.backward`` returned, as a tuple of ``count`` gradients (a lone
    array counts as one); a RuntimeError naming the op if the count is wrong."""
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != count:
        raise RuntimeError(f"{function.name}.backward returned {len(grads)} gradients for {count} inputs")
    return grads


def fit_gradient(op: str, shape: tuple, dtype, g):
    """Check that ``op``'s backward returned a gradient that fits an input of this shape and
    dtype; sum it over broadcast axes if needed."""
    if g.shape != shape:
        try:
            g = g.sum_to_size(shape) if isinstance(g, Tensor) else sum_to(g, shape)
        except ValueError:
            raise RuntimeError(
                f"{op}.backward returned a gradient of shape {g.shape} for an input of shape {shape}"
            ) from None
    if g.dtype != dtype:
        raise TypeError(
            f"{op}.backward returned a {g.dtype} gradient for a {dtype} input "
            f"(gradients must keep their input's dtype; no silent casts)"
        )
    return g


def as_tensor_like(value, like: Tensor) -> Tensor:
    """Lift a Python or NumPy scalar (or array) to a constant Tensor next to ``like``.

    Floating tensors give a real constant (number or array, bool, int or float) their
    own dtype, so ``x * 2`` and ``x * numpy.arange(3)`` stay float32.
    """
    if isinstance(value, Tensor):
        return value
    array = backend.array_module(like.data).asarray(value)
    if like.data.dtype.kind == "f" and array.dtype.kind in "biuf":
        array = array.astype(like.data.dtype, copy=False)
    return Tensor(array)

