"""See inside the chain rule as it runs: traces, formulas, graphs, gradient checks.

    with cr.trace() as t: ...        # every op of a forward and backward pass, as a table
    cr.explain(loss)                 # the backward pass as the formulas it applies
    cr.draw_graph(loss, "g.svg")     # the graph, as Graphviz DOT and a picture
    cr.check_gradients(model)        # missing, all-zero or non-finite gradients

These tools sit just above ``ops``: they observe Functions and walk the graph, and
reach models only through ``named_parameters()``.
"""
if __name__ == "inspect":  # Python runs from inside src/chainrule: be the standard library's inspect
    from _shadowed import stand_in_for_standard_library

    stand_in_for_standard_library(globals())
else:
    from .dot import draw_graph, to_dot
    from .explain import ExplainStep, explain, explain_steps, format_explanation
    from .formula import Clause
    from .gradient_health import (
        GradientProblem,
        GradientWarning,
        check_gradients,
        gradient_problems,
    )
    from .graph import ComputationGraph, build_graph
    from .trace import OpRecord, Trace, trace, trace_one_step

    __all__ = [
        "Clause",
        "ComputationGraph",
        "ExplainStep",
        "GradientProblem",
        "GradientWarning",
        "OpRecord",
        "Trace",
        "build_graph",
        "check_gradients",
        "draw_graph",
        "explain",
        "explain_steps",
        "format_explanation",
        "gradient_problems",
        "to_dot",
        "trace",
        "trace_one_step",
    ]
