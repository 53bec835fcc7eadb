"""Bytes held for backward over time: the buffers of every node still waiting for its backward."""
from __future__ import annotations

from .saved import SavedMemory


class HeldBuffers:
    """Counts each buffer once while any live node holds it, and remembers the peak.

    A node is added when its forward records it on the graph and dropped when its saved
    arrays are released (after its backward) or when it is garbage-collected unused.
    """

    def __init__(self):
        self._buffers: dict[int, list] = {}   # buffer id → [bytes, holders, belongs to a leaf]
        self.total = 0
        self.leaf_total = 0
        self.peak = 0
        self.peak_leaf = 0

    def add(self, memory: SavedMemory) -> None:
        for key, nbytes in memory.buffers.items():
            entry = self._buffers.get(key)
            if entry is None:
                is_leaf = key in memory.leaf_buffers
                self._buffers[key] = [nbytes, 1, is_leaf]
                self.total += nbytes
                self.leaf_total += nbytes if is_leaf else 0
            else:
                entry[1] += 1
        if self.total > self.peak:
            self.peak, self.peak_leaf = self.total, self.leaf_total

    def drop(self, memory: SavedMemory) -> None:
        for key in memory.buffers:
            entry = self._buffers[key]
            entry[1] -= 1
            if entry[1] == 0:
                del self._buffers[key]
                self.total -= entry[0]
                self.leaf_total -= entry[0] if entry[2] else 0
