"""int8 for Magenta's transformer, measured on its convolutions one at a time: fp32, bf16 (autocast) and
PyTorch's x86 quantised convolution (oneDNN; per-channel int8 weights, uint8 activations), with and without
quantising the input and dequantising the output around it, at the shapes a 640x360 frame gives. The lever for
the video's frame rate (docs/benchmarks.md); the whole network in int8 would also need each convolution's output
range calibrated, which is not done.

    python benchmarks/int8_convs.py
"""
from __future__ import annotations

import time

import torch

SHAPES = ((32, 32, 3, 1, 92, 162, "a residual convolution (x10)"), (8, 12, 10, 2, 368, 648, "the last, polyphase"),
          (3, 32, 10, 2, 368, 648, "the first, polyphase"), (16, 32, 3, 1, 182, 322, "an upsampled one"))


def median_ms(run, repeats: int = 30) -> float:
    for _ in range(5):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[repeats // 2]


@torch.no_grad()
def main() -> None:
    torch.backends.quantized.engine = "x86"
    print(f"{'convolution':>30}  {'fp32':>6}  {'bf16':>6}  {'int8':>6}  {'int8 + (de)quantise':>19}  {'vs bf16':>7}")
    for c_in, c_out, k, stride, h, w, name in SHAPES:
        x = torch.rand(1, c_in, h, w)
        conv = torch.nn.Conv2d(c_in, c_out, k, stride=stride)
        q = torch.ao.nn.quantized.Conv2d(c_in, c_out, k, stride=stride)
        scales = conv.weight.abs().amax((1, 2, 3)) / 127 + 1e-8
        q.set_weight_bias(torch.quantize_per_channel(conv.weight, scales, torch.zeros(c_out, dtype=torch.long), 0,
                                                     torch.qint8), conv.bias)
        q.scale, q.zero_point = 0.05, 64
        xc, xq = x.contiguous(memory_format=torch.channels_last), torch.quantize_per_tensor(x, 1 / 255, 0, torch.quint8)
        fp32 = median_ms(lambda: conv(xc))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = median_ms(lambda: conv(xc))
        int8 = median_ms(lambda: q(xq))
        around = median_ms(lambda: q(torch.quantize_per_tensor(x, 1 / 255, 0, torch.quint8)).dequantize())
        print(f"{name:>30}  {fp32:6.2f}  {bf16:6.2f}  {int8:6.2f}  {around:19.2f}  {bf16 / around:7.2f}")


if __name__ == "__main__":
    main()
