"""Training: the fit loop, evaluation, checkpoints, progress, plots and recipes."""
from .checkpoint import load_checkpoint, save_checkpoint
from .fit import TrainingDiverged, TrainingInterrupted, evaluate, fit
from .fused_step import FusedStep
from .lock import RunFolderBusy
from .plots import plot_confusion_matrix, plot_history
from .recipes import RecipeError
from .run import evaluate_checkpoint, train

__all__ = ["fit", "FusedStep", "evaluate", "train", "evaluate_checkpoint", "save_checkpoint", "load_checkpoint",
           "TrainingInterrupted", "TrainingDiverged", "RecipeError", "RunFolderBusy", "plot_history",
           "plot_confusion_matrix"]
