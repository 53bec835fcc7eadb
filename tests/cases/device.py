"""Verification cases for the ops of ``chainrule/ops/device.py``."""
import chainrule as cr
from oracle import case, randn

# -- devices -----------------------------------------------------------------------
# On the CPU one ToDevice("cpu") node; on a device (the stand-in, a GPU) there and back.
case("to_device", lambda x: cr.ops.ToDevice("cpu")(x).to(x.device) * 2.0, lambda x: x.to("cpu") * 2.0, randn(3, 2))
