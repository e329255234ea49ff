"""Optical flow, warping, occlusion masks and the flicker metric (Ruder et al., "Artistic style transfer
for videos", 2016). Flows are (H, W, 2) float32 arrays of (dx, dy) in pixels; images are (H, W, C) floats."""
from __future__ import annotations

import numpy as np

from ..errors import StylekitError
from ..options import FLOW_METHODS



class FlowEstimator:
    """Dense optical flow between two RGB uint8 frames with OpenCV: DIS (fast, default) or Farneback, computed at
    ``scale`` times the frames' size (the flow then brought back to full size), which is cheaper for large
    frames."""

    def __init__(self, method: str = "dis", scale: float = 1.0) -> None:
        import cv2

        if method not in FLOW_METHODS:
            raise StylekitError(f"unknown flow method {method!r}: choose one of {', '.join(FLOW_METHODS)}")
        if not 0 < scale <= 1:
            raise StylekitError(f"the flow's scale must be above 0 and at most 1, got {scale}")
        self.method, self.scale = method, scale
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST) if method == "dis" else None

    def __call__(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Flow f with source(x) ≈ target(x + f(x))."""
        h, w = source.shape[:2]
        return self._full(self._flow(self._gray(source), self._gray(target)), (h, w))

    def linked(self, frame: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The backward flow (``frame`` to ``previous``) and its :func:`consistency_mask`, both computed at the
        flow's size and brought to the frame's."""
        import cv2

        h, w = frame.shape[:2]
        a, b = self._gray(frame), self._gray(previous)
        backward, forward = self._flow(a, b), self._flow(b, a)
        mask = consistency_mask(backward, forward)
        if mask.shape != (h, w):
            mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
        return self._full(backward, (h, w)), mask

    def _gray(self, image: np.ndarray) -> np.ndarray:
        import cv2

        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        h, w = gray.shape
        small = (max(8, round(w * self.scale)), max(8, round(h * self.scale)))
        return gray if small == (w, h) else cv2.resize(gray, small, interpolation=cv2.INTER_AREA)

    def _flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        import cv2

        if self._dis is not None:
            return self._dis.calc(a, b, None)
        return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)

    @staticmethod
    def _full(flow: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
        """A flow computed at a smaller size, brought to (h, w) (its vectors scaled with it)."""
        import cv2

        h, w = hw
        if flow.shape[:2] == (h, w):
            return flow
        grown = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
        return grown * np.float32([w / flow.shape[1], h / flow.shape[0]])


def _grid(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return xs + flow[..., 0], ys + flow[..., 1]


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at x + flow(x) (bilinear, edges replicated): with the flow from frame t to frame t-1,
    this carries frame t-1's pixels to where they are in frame t."""
    import cv2

    map_x, map_y = _grid(flow)
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _sq(flow: np.ndarray) -> np.ndarray:
    return flow[..., 0] * flow[..., 0] + flow[..., 1] * flow[..., 1]


def consistency_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """(H, W) float32 mask, 1 where the backward flow (t -> t-1) is reliable, 0 at disocclusions (forward and
    backward flows disagree) and motion boundaries (Ruder et al. 2016, eqs. 5-6)."""
    import cv2

    forward_at = warp(forward, backward)  # forward flow read at x + backward(x)
    disoccluded = _sq(forward_at + backward) > 0.01 * (_sq(forward_at) + _sq(backward)) + 0.5
    grad = np.zeros(backward.shape[:2], np.float32)
    for c in range(2):  # central differences, as np.gradient, in float32
        grad += cv2.Sobel(backward[..., c], cv2.CV_32F, 1, 0, ksize=1, scale=0.5) ** 2
        grad += cv2.Sobel(backward[..., c], cv2.CV_32F, 0, 1, ksize=1, scale=0.5) ** 2
    boundary = grad > 0.01 * _sq(backward) + 0.002
    return (~(disoccluded | boundary)).astype(np.float32)


def flicker_pairs(stylized: list[np.ndarray], backward_flows: list[np.ndarray],
                  masks: list[np.ndarray]) -> list[tuple[float, float]]:
    """For each stylised frame after the first: the masked absolute difference (0-1 units) to the previous
    stylised frame warped to it, summed, and the mask's weight; ``backward_flows[i]``/``masks[i]`` map frame
    i+1 to frame i."""
    pairs = []
    for i in range(1, len(stylized)):
        current = stylized[i].astype(np.float32) / 255
        warped = warp(stylized[i - 1].astype(np.float32) / 255, backward_flows[i - 1])
        m = masks[i - 1][..., None]
        pairs.append((float((np.abs(current - warped) * m).sum()), float(m.sum()) * current.shape[-1]))
    return pairs


def flicker(stylized: list[np.ndarray], backward_flows: list[np.ndarray], masks: list[np.ndarray]) -> float:
    """Mean masked absolute difference (0-1 units) between each stylised frame and the previous stylised
    frame warped to it (see :func:`flicker_pairs`)."""
    pairs = flicker_pairs(stylized, backward_flows, masks)
    return sum(t for t, _ in pairs) / max(sum(w for _, w in pairs), 1.0)
