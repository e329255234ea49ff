"""Planning a run before it starts: its scales (:mod:`.run`) and its memory (:mod:`.memory`)."""
from .memory import Reference, estimate_peak_bytes, preflight
from .run import ESTIMATE_CONTENT, RunPlan, megapixels, output_size, run_plan, scales_for

__all__ = ["ESTIMATE_CONTENT", "Reference", "RunPlan", "estimate_peak_bytes", "megapixels", "output_size", "preflight",
           "run_plan", "scales_for"]
