"""The shared optimisation engine."""
from .callbacks import (Callback, EarlyStopping, FunctionCallback, ItemProgress, KeepBest, Progress, SaveEvery,
                        StopRun, StopScale)
from .loop import OPTIMIZER_CHOICES, OPTIMIZERS, OptimResult, Scale, make_optimizer, optimize
from .schedule import schedule

__all__ = ["OPTIMIZER_CHOICES", "OPTIMIZERS", "Callback", "EarlyStopping", "FunctionCallback", "ItemProgress",
           "KeepBest", "OptimResult", "Progress", "SaveEvery", "Scale", "StopRun", "StopScale", "make_optimizer",
           "optimize", "schedule"]
