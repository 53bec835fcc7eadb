"""The lstm and transformer workloads: the ``charlm`` recipe of ``chainrule train`` (its default sizes
per architecture) on Debian's fortunes, against the same model in PyTorch eager.

lstm: Embedding(V→64), LSTM(64→256), Linear(256→V). transformer: token and position embeddings (128),
two pre-norm causal TransformerEncoderLayers (4 heads, GELU feed-forward of 512), LayerNorm,
Linear(128→V). Both: windows of 128 characters, batch 32, Adam, float32, mean cross-entropy over
every next character. chainrule builds model and optimizer through ``chainrule.train.recipes``
(what ``chainrule train --model charlm`` trains); PyTorch's model is built from torch.nn as its
documentation shows (``nn.LSTM(batch_first=True)``; ``nn.TransformerEncoderLayer(norm_first=True,
activation="gelu", batch_first=True)`` called with a causal mask and ``is_causal=True``) with the
same parameter names, and loads chainrule's initial weights. Both see the same batches in the same
order; only the steps are timed. The figure is characters (tokens) per second.
"""
from __future__ import annotations

import time

import numpy

from . import memory, runner
from .cnn import describe
from .report import _ratio, _table, training_rss
from .stats import Spread
from .trainers import training_step

FRAMEWORKS = ("chainrule", "torch")
ARCHITECTURES = ("lstm", "transformer")
STEPS = 60
QUICK_STEPS = 15
WARMUP = 3


def _recipe(arch: str) -> dict:
    from chainrule.train import recipes

    return recipes.recipe_for({"model": "charlm", "arch": arch})


def _batches(recipe: dict, count: int, seed: int) -> tuple[int, list]:
    """(vocabulary size, ``count`` batches of (x, y) int64 (batch, context)) from fortunes' training windows."""
    from chainrule import data

    text = data.fortunes_text()
    vocabulary = data.CharVocabulary.from_text(text)
    windows = data.CharDataset(data.split_text(text)[0], vocabulary, recipe["context"])
    x, y = windows.tensors
    order = numpy.random.default_rng(seed).permutation(len(x))
    size = recipe["batch_size"]
    return len(vocabulary), [(x[order[i * size:(i + 1) * size]], y[order[i * size:(i + 1) * size]])
                             for i in range(count)]


class ChainruleLanguageModel:
    def __init__(self, recipe: dict, vocab_size: int, seed: int):
        import chainrule as cr
        from chainrule.train import recipes
        from chainrule.train.language_models import next_token_loss

        cr.manual_seed(seed)
        self.model = recipes.build_language_model(recipe, vocab_size)
        self.optimizer = recipes.build_optimizer(recipe, self.model.parameters())
        self.loss = next_token_loss
        self.cr = cr

    def state(self) -> dict:
        return {name: numpy.array(value) for name, value in self.model.state_dict().items()}

    def batch(self, x, y):
        return self.cr.Tensor(x), self.cr.Tensor(y)

    def step(self, batch) -> None:
        training_step(self.model, self.loss, self.optimizer, batch)


class TorchLanguageModel:
    def __init__(self, recipe: dict, vocab_size: int, seed: int, state: dict, threads: int):
        import torch

        torch.set_num_threads(threads)
        torch.manual_seed(seed)
        nn = torch.nn
        width, context = recipe["width"], recipe["context"]
        if recipe["arch"] == "lstm":
            self.model = _TorchLSTM(nn, vocab_size, width, recipe["layers"])
        else:
            self.model = _TorchGPT(torch, vocab_size, width, recipe["heads"], recipe["layers"], context)
        self.model.load_state_dict({name: torch.from_numpy(array) for name, array in state.items()})
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"])
        self.torch = torch

    def loss(self, logits, targets):
        return self.torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    def batch(self, x, y):
        return self.torch.from_numpy(x), self.torch.from_numpy(y)

    def step(self, batch) -> None:
        training_step(self.model, self.loss, self.optimizer, batch)


def _TorchLSTM(nn, vocab_size: int, width: int, layers: int):
    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, 64)
            self.lstm = nn.LSTM(64, width, layers, batch_first=True)
            self.head = nn.Linear(width, vocab_size)

        def forward(self, tokens):
            return self.head(self.lstm(self.embedding(tokens))[0])

    return CharLSTM()


def _TorchGPT(torch, vocab_size: int, width: int, heads: int, layers: int, context: int):
    nn = torch.nn

    class CharTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding = nn.Embedding(vocab_size, width)
            self.position_embedding = nn.Embedding(context, width)
            self.blocks = nn.ModuleList(nn.TransformerEncoderLayer(width, heads, 4 * width, 0.0, "gelu",
                                                                   batch_first=True, norm_first=True)
                                        for _ in range(layers))
            self.norm = nn.LayerNorm(width)
            self.head = nn.Linear(width, vocab_size)
            self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(context), persistent=False)

        def forward(self, tokens):
            length = tokens.shape[1]
            x = self.token_embedding(tokens) + self.position_embedding(torch.arange(length))
            for block in self.blocks:
                x = block(x, src_mask=self.mask[:length, :length], is_causal=True)
            return self.head(self.norm(x))

    return CharTransformer()


def train(framework: str, threads: int, arch: str, steps: int, seed: int) -> dict:
    """``steps`` timed training steps (after WARMUP untimed ones): characters per second, peak RSS."""
    recipe = _recipe(arch)
    vocab_size, batches = _batches(recipe, steps + WARMUP, seed)
    trainer = ChainruleLanguageModel(recipe, vocab_size, seed)
    if framework == "torch":
        trainer = TorchLanguageModel(recipe, vocab_size, seed, trainer.state(), threads)
    converted = [trainer.batch(x, y) for x, y in batches]
    for batch in converted[:WARMUP]:
        trainer.step(batch)
    rss_before = memory.rss_mb()
    memory.reset_peak()
    start = time.perf_counter()
    for batch in converted[WARMUP:]:
        trainer.step(batch)
    seconds = time.perf_counter() - start
    return {"chars_per_second": steps * recipe["batch_size"] * recipe["context"] / seconds,
            "step_ms": 1e3 * seconds / steps, "rss_before_mb": rss_before, "peak_rss_mb": memory.peak_rss_mb(),
            "describe": describe(framework, threads)}


def table(results: dict[str, list[dict]]) -> str:
    reference = results.get("torch")
    rows = []
    for name, runs in results.items():
        step = [run["step_ms"] for run in runs]
        added = training_rss(runs)
        rows.append([name, Spread.of([run["chars_per_second"] for run in runs]).format(",.0f"),
                     Spread.of(step).format(".1f"),
                     _ratio(step, [run["step_ms"] for run in reference] if reference else None),
                     Spread.of(added).format(".1f"),
                     _ratio(added, training_rss(reference) if reference else None)])
    return _table(["framework", "chars / s", "ms / step", "time × PyTorch", "training RSS MiB", "× PyTorch"], rows)


def run_task(arch: str, arguments, frameworks: list[str], common: dict, section) -> dict:
    """The ``lstm`` or ``transformer`` task of ``python -m benchmarks``, interleaved over the frameworks."""
    names = [name for name in frameworks if name in FRAMEWORKS]
    steps = QUICK_STEPS if arguments.quick else STEPS
    recipe = _recipe(arch)
    results = runner.interleaved("charlm", names, arch=arch, steps=steps, **common)
    section(f"{arch}: the charlm recipe's training step (width {recipe['width']}, {recipe['layers']} layer(s), "
            f"batch {recipe['batch_size']} × {recipe['context']} characters, Adam), {steps} steps, "
            f"{common['reps']} runs each", table(results))
    return {arch: results}
