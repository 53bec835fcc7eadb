"""The hand-derived primitives: one Function per op, each with its derivation.

``ops.Linear`` is the op (``forward``/``backward`` on arrays, usable by hand);
``nn.Linear`` is the layer that owns parameters and calls it. ``REGISTRY`` maps
every op's name to its Function class.
"""
from . import tensor_methods
from .chain import Chain
from .activations import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh
from .channel_dropout import Dropout2d
from .conv import Conv2d
from .embedding import Embedding
from .elementwise import Abs, Add, Cast, Clip, Div, Exp, Log, Maximum, Minimum, Mul, Neg, Pow, PowScalar, Sqrt, Sub, Where
from .functional import *  # noqa: F401,F403 - the functional API
from .functional import __all__ as _functional_names
from .fused import MSE, Linear, SoftmaxCrossEntropy
from .losses import BinaryCrossEntropyWithLogits, NLLLoss
from .normalization import BatchNorm, LayerNorm
from .regularization import Dropout
from .linalg import MatMul
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .reductions import LogSumExp, Max, Mean, Min, Sum, Var
from .registry import REGISTRY, register
from .shape import BroadcastTo, Concatenate, GetItem, Pad, Permute, Reshape, Stack

tensor_methods.install()

__all__ = [
    "REGISTRY", "register", "Chain",
    "Abs", "Add", "Cast", "Clip", "Div", "Exp", "Log", "Maximum", "Minimum", "Mul", "Neg", "Pow", "PowScalar",
    "Sqrt", "Sub", "Where", "MatMul", "Sum", "Mean", "Reshape", "Permute", "ReLU",
    "Max", "Min", "LogSumExp", "Var", "BroadcastTo", "GetItem", "Concatenate", "Stack", "Pad",
    "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Softplus", "Softmax", "LogSoftmax",
    "Linear", "SoftmaxCrossEntropy", "MSE",
    "BatchNorm", "LayerNorm", "Dropout", "Embedding", "NLLLoss", "BinaryCrossEntropyWithLogits",
    "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Dropout2d",
    *_functional_names,
]
