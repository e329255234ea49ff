"""Video stylisation with temporal consistency: PyAV input/output, optical flow, warping, flicker metric."""
from .flow import FlowEstimator, consistency_mask, flicker, flicker_pairs, warp
from .io import VideoInfo, VideoWriter, probe, read_frames
from .stylize import run_video, video

__all__ = ["FlowEstimator", "VideoInfo", "VideoWriter", "consistency_mask", "flicker", "flicker_pairs", "probe",
           "read_frames", "run_video", "video", "warp"]
