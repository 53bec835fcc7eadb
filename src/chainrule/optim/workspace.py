"""Scratch arrays that an optimizer reuses on every step, so a step allocates nothing.

An update such as ``θ ← θ − η·b`` needs somewhere to put ``η·b`` that is neither the
parameter nor the gradient (which may alias another array and must not be written).
One flat buffer per scratch slot and dtype, as large as the largest parameter, serves
every parameter through a reshaped view of its first elements. Sharing one buffer
keeps the scratch memory at one parameter's size instead of the whole model's, and
keeps it hot in cache from one parameter to the next.
"""
from __future__ import annotations

from ..backend import array_module


class Workspace:
    """``count`` scratch arrays shaped like any parameter, views into shared buffers."""

    def __init__(self, count: int):
        self._count = count
        self._buffers: dict = {}  # dtype -> list of `count` flat arrays
        self._views: dict = {}  # (shape, dtype) -> tuple of `count` views

    def arrays(self, like) -> tuple:
        """``count`` distinct scratch arrays with the shape and dtype of ``like``.

        Their contents are garbage; the same views come back on every call for the
        same shape and dtype, so one caller must be done with them before the next.
        """
        key = (like.shape, like.dtype, type(like))
        views = self._views.get(key)
        if views is None:
            views = self._carve(like)
            self._views[key] = views
        return views

    def _carve(self, like) -> tuple:
        kind = (like.dtype, type(like))
        buffers = self._buffers.get(kind)
        if buffers is None or buffers[0].size < like.size:
            buffers = [array_module(like).empty(like.size, dtype=like.dtype) for _ in range(self._count)]
            self._buffers[kind] = buffers
            # Views into the replaced buffers would keep them alive: carve them anew.
            self._views = {key: views for key, views in self._views.items() if key[1:] != kind}
        return tuple(buffer[: like.size].reshape(like.shape) for buffer in buffers)
