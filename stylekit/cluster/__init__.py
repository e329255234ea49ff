"""Batch stylisation on Ray (the ``cluster`` extra): a folder of images, or a video in chunks of frames, on this
machine's cores or on a Ray cluster, with resumable, atomic outputs and a report of what failed."""
from .engine import Cluster, WorkerPlan, plan_workers, ray_session
from .jobs import BatchPlan, BatchReport, batch, run_batch

__all__ = ["BatchPlan", "BatchReport", "Cluster", "WorkerPlan", "batch", "plan_workers", "ray_session", "run_batch"]
