"""The hand-derived primitives: one Function per op, each with its derivation, and the
function users call, declared beside it in the op's module.

``ops.Linear`` is the op (``forward``/``backward`` on arrays, usable by hand);
``ops.linear`` its function; ``nn.Linear`` the layer that owns parameters and calls it.
``REGISTRY`` maps every op's name to its Function class.
"""
from . import functional, tensor_methods
from .chain import Chain
from .functional import *  # noqa: F401,F403 - the functional API
from .registry import FUNCTIONS, REGISTRY, register

globals().update({cls.__name__: cls for cls in REGISTRY.values()})

tensor_methods.install()

__all__ = ["REGISTRY", "register", "Chain", *(cls.__name__ for cls in REGISTRY.values()), *FUNCTIONS]
