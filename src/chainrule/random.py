"""The seeded random generator behind ``randn``, ``rand``, initialisers and shuffling.

``manual_seed(s)`` makes everything drawn afterwards reproducible; pass your own
``numpy.random.Generator`` as ``generator=`` to keep a stream separate.
"""
from __future__ import annotations

if __name__ == "random":  # Python runs from inside src/chainrule: be the standard library's random
    from _shadowed import stand_in_for_standard_library

    stand_in_for_standard_library(globals())
else:
    import numpy

    _generator = numpy.random.default_rng(0)

    def manual_seed(seed: int) -> numpy.random.Generator:
        """Reseed the default generator; returns it."""
        global _generator
        _generator = numpy.random.default_rng(seed)
        return _generator

    def default_generator() -> numpy.random.Generator:
        """The generator used when no ``generator=`` is given."""
        return _generator

    def get_state() -> dict:
        """The default generator's state (a dict of plain numbers, safe to store)."""
        return _generator.bit_generator.state

    def set_state(state: dict) -> None:
        """Restore a state from :func:`get_state`."""
        _generator.bit_generator.state = state
