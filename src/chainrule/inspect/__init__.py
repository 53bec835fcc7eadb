"""See inside the chain rule as it runs: traces, formulas, graphs, gradient checks.

These tools sit just above ``ops``: they observe Functions and walk the graph, and
reach models only through ``named_parameters()``.
"""
from .trace import OpRecord, Trace, trace, trace_one_step

__all__ = ["trace", "Trace", "OpRecord", "trace_one_step"]
