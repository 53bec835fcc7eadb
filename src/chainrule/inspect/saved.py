"""What a Function keeps for its backward pass, and how many bytes that holds.

Definition (used by the trace and documented in the README): the arrays saved for
backward are those the Function's ``forward`` gave to ``save_for_backward`` (for a
Function written before that call existed, the arrays among its attributes right after
``forward``, directly or inside a tuple or list), and their bytes are the sum of their ``nbytes``,
with each memory buffer counted once: arrays that view one base array (``x`` and
``x.T``, two slices of one array) count as the largest of them. An array that is
also the memory of one of the op's inputs (a layer's input ``x``, its weight ``W``)
or of its output (ReLU keeps ``y``) is still counted, because the graph keeps it
alive, and is reported as shared with that input or output.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import backend


def root_buffer(array):
    """The array that owns the memory ``array`` views (``array`` itself if it owns it)."""
    while isinstance(array.base, backend.array_types):
        array = array.base
    return array


def saved_arrays(fn) -> list[tuple[str, object]]:
    """(name, array) for every array ``fn`` saved for backward, named by its class's
    ``saved_names`` (else ``saved[i]`` for the i-th given to ``save_for_backward``); for a Function that never called it, every array attribute
    (looking one level into tuples and lists, ``name[i]``)."""
    try:
        saved = fn._saved
    except AttributeError:
        found = []
        for name, value in vars(fn).items():
            if isinstance(value, backend.array_types):
                found.append((name, value))
            elif isinstance(value, (tuple, list)):
                found.extend((f"{name}[{i}]", item) for i, item in enumerate(value)
                             if isinstance(item, backend.array_types))
        return found
    names = fn.saved_names if len(fn.saved_names) == len(saved) else [f"saved[{i}]" for i in range(len(saved))]
    return [(name, value) for name, value in zip(names, saved) if isinstance(value, backend.array_types)]


@dataclass
class SavedMemory:
    """The buffers one node keeps for backward.

    buffers: id of each distinct root buffer → the bytes charged for it. names: the attributes that
    hold saved arrays. shared_with_inputs / shared_with_output: bytes of the buffers
    that are also an input's or the output's memory. leaf_buffers: ids of the buffers
    that belong to leaf inputs (parameters, data), which exist whether or not a graph
    is recorded.
    """

    buffers: dict = field(default_factory=dict)
    names: list = field(default_factory=list)
    shared_with_inputs: int = 0
    shared_with_output: int = 0
    leaf_buffers: frozenset = frozenset()

    @property
    def nbytes(self) -> int:
        return sum(self.buffers.values())


def measure_saved(fn, inputs, output) -> SavedMemory:
    """The :class:`SavedMemory` of ``fn`` right after its forward on Tensors ``inputs``
    gave Tensor ``output``."""
    memory = SavedMemory()
    for name, array in saved_arrays(fn):
        memory.names.append(name)
        key = id(root_buffer(array))
        memory.buffers[key] = max(memory.buffers.get(key, 0), array.nbytes)
    input_roots = {id(root_buffer(t.data)): t for t in inputs}
    memory.shared_with_inputs = sum(n for key, n in memory.buffers.items() if key in input_roots)
    output_root = id(root_buffer(output.data))
    memory.shared_with_output = memory.buffers.get(output_root, 0)
    memory.leaf_buffers = frozenset(key for key in memory.buffers
                                    if key in input_roots and input_roots[key].creator is None)
    return memory
