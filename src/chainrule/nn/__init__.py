"""Layers, losses and initialisers built from chainrule's hand-derived ops.

    from chainrule import nn
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
    loss = nn.CrossEntropyLoss()(model(x), y)

``nn.Linear`` is the layer that owns parameters; ``ops.Linear`` is the op it calls.
Parameter names, shapes and state_dict keys match PyTorch's.
"""
from . import functional, init, utils
from .activation import (ELU, GELU, Hardswish, Hardtanh, Identity, LeakyReLU, LogSoftmax, Mish, ReLU, Sigmoid, SiLU,
                         Softmax, Softplus, Tanh)
from .attention import MultiheadAttention, TransformerEncoder, TransformerEncoderLayer
from .container import ModuleDict, ModuleList, ParameterList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .embedding import Embedding
from .flatten import Flatten, Unflatten
from .fused import Fused
from .linear import Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MSELoss, NLLLoss, SmoothL1Loss)
from .module import IncompatibleKeys, Module
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from .parameter import Parameter
from .pooling import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .resize import Upsample, ZeroPad2d

__all__ = [
    "functional", "init", "utils", "Module", "Parameter", "IncompatibleKeys", "Sequential", "ModuleList", "ModuleDict",
    "ParameterList", "Fused", "Mish", "Hardswish", "Hardtanh",
    "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Softmax", "LogSoftmax", "SiLU", "ELU", "Softplus", "Identity", "Flatten", "Unflatten", "Dropout",
    "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding",
    "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
    "KLDivLoss", "CosineEmbeddingLoss",
    "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Dropout2d", "Conv1d", "ConvTranspose2d", "MaxPool1d",
    "AvgPool1d", "ZeroPad2d", "Upsample", "GroupNorm", "InstanceNorm2d", "LSTM", "LSTMCell", "GRU", "GRUCell", "RNN", "RNNCell",
    "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
]
