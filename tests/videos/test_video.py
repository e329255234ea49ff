"""Video: flow utilities, PyAV round trip with audio, temporal consistency, resume, CLI errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from stylekit.cli import main
from stylekit.errors import StylekitError
from stylekit.objectives import temporal_loss
from stylekit.videos import FlowEstimator, consistency_mask, flicker, probe, read_frames, run_video, warp
from stylekit.optim import Callback, ItemProgress, StopRun
from stylekit.options import FastOptions, TransferOptions, VideoOptions
from stylekit.videos.clips import make_clip
from stylekit.videos import stylize
from stylekit.videos.stylize import FrameStylizer, segments, work_dir
from tests.conftest import pattern


def _textured(h: int = 64, w: int = 96, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    import cv2
    noise = rng.uniform(0, 255, (h // 4, w // 4, 3)).astype(np.uint8)
    return cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)


def test_flow_warp_and_mask_on_a_translation():
    a = _textured()
    b = np.roll(a, 3, axis=1)  # content moves 3 px right
    flows = FlowEstimator("dis")
    backward = flows(b, a)
    assert np.median(backward[8:-8, 8:-8, 0]) == pytest.approx(-3, abs=0.5)
    warped = warp(a.astype(np.float32), backward)
    assert np.abs(warped[8:-8, 8:-8] - b[8:-8, 8:-8]).mean() < 6
    mask = consistency_mask(backward, flows(a, b))
    assert mask[8:-8, 8:-8].mean() > 0.8


def test_consistency_mask_flags_disagreeing_flows():
    backward = np.zeros((20, 20, 2), np.float32)
    forward = np.zeros((20, 20, 2), np.float32)
    forward[5:10, 5:10] = 6.0  # forward says these pixels moved; backward says nothing did
    mask = consistency_mask(backward, forward)
    assert mask[5:10, 5:10].max() == 0 and mask[15:, 15:].min() == 1


def test_flicker_is_zero_for_frames_that_follow_the_flow():
    a = _textured()
    frames = [a, np.roll(a, 2, axis=1)]
    flows = FlowEstimator()
    back = flows(frames[1], frames[0])
    mask = consistency_mask(back, flows(frames[0], frames[1]))
    steady = flicker(frames, [back], [mask])
    noisy = flicker([frames[0], _textured(seed=1)], [back], [mask])
    assert steady < 0.03 < noisy


def test_temporal_loss_by_hand():
    image = torch.tensor([[[[1.0, 2.0]]]])
    target = torch.tensor([[[[0.0, 0.0]]]])
    mask = torch.tensor([[[[1.0, 0.5]]]])
    assert temporal_loss(image, target, mask).item() == pytest.approx((1 + 0.5 * 4) / 2)


@pytest.fixture
def clip(tmp_path, sample_images):
    path = tmp_path / "clip.mp4"
    make_clip(sample_images / "landscape.jpg", path, "pan", frames=6, size=(96, 64), fps=12)
    return path


def test_clip_has_video_and_audio(clip):
    info = probe(clip)
    assert (info.width, info.height, info.fps, info.has_audio) == (96, 64, 12, True)
    assert len(list(read_frames(clip))) == 6


def _stylised(path):
    return list(read_frames(path))


def test_fast_video_keeps_rate_and_audio_and_temporal_blend_reduces_flicker(clip, tmp_path, weights_dir,
                                                                             style_path):
    independent = run_video(clip, style_path, tmp_path / "a.mp4", VideoOptions(temporal_weight=0.0))
    blended = run_video(clip, style_path, tmp_path / "b.mp4", VideoOptions(temporal_weight=0.8))
    for out in (independent, blended):
        info = probe(out)
        assert (info.width, info.height, info.fps, info.has_audio) == (96, 64, 12, True)
        assert not work_dir(out).exists()
    source = list(read_frames(clip))
    flows = FlowEstimator()
    backs = [flows(source[i + 1], source[i]) for i in range(5)]
    masks = [consistency_mask(backs[i], flows(source[i], source[i + 1])) for i in range(5)]
    assert flicker(_stylised(blended), backs, masks) < 0.8 * flicker(_stylised(independent), backs, masks)


def test_interrupted_job_resumes_without_redoing_frames(clip, tmp_path, weights_dir, style_path, monkeypatch):
    out = tmp_path / "out.mp4"
    monkeypatch.setattr(stylize, "SEGMENT_FRAMES", 2)
    calls = []
    original = FrameStylizer.__call__
    monkeypatch.setattr(FrameStylizer, "__call__", lambda self, *a: calls.append(1) or original(self, *a))

    class StopAfterThree(Callback):
        def on_item(self, progress: ItemProgress) -> None:
            if progress.done == 3:
                raise KeyboardInterrupt

    class Record(Callback):
        def on_item(self, progress: ItemProgress) -> None:
            seen.append((progress.done, progress.total))

    with pytest.raises(KeyboardInterrupt):
        run_video(clip, style_path, out, callbacks=[StopAfterThree()])
    assert not out.exists() and segments(work_dir(out)) == [(work_dir(out) / "000000-000002.mp4", 2)]
    assert len(calls) == 3 and [p.name for p in work_dir(out).glob("*.png")] == ["000001.png"]
    seen = []
    run_video(clip, style_path, out, callbacks=[Record()])
    assert len(calls) == 7  # frames 3-6 only: the third, in a segment not finished, again
    assert seen[-1] == (6, 6) and out.is_file() and not work_dir(out).exists()
    assert len(list(read_frames(out))) == 6


def test_a_changed_job_does_not_reuse_frames(clip, tmp_path, weights_dir, style_path):
    out = tmp_path / "out.mp4"
    work_dir(out).mkdir()
    (work_dir(out) / "job.json").write_text(json.dumps({"input": "something else"}))
    with pytest.raises(StylekitError, match="different job"):
        run_video(clip, style_path, out)


def test_gatys_video_with_temporal_loss(tmp_path, style_path):
    from PIL import Image
    small = tmp_path / "small.mp4"  # a disc crossing a still background, 48x32, three frames
    make_clip(Image.fromarray(pattern(96, 0, "content")), small, "object", frames=3, size=(48, 32), fps=12,
              audio=False)
    source = list(read_frames(small))
    flows = FlowEstimator()
    backs = [flows(source[i + 1], source[i]) for i in range(2)]
    masks = [consistency_mask(backs[i], flows(source[i], source[i + 1])) for i in range(2)]

    def flicker_at(weight):
        gatys = TransferOptions(steps=4, min_size=None, backbone="scratch")
        out = run_video(small, style_path, tmp_path / f"g{weight:g}.mp4",
                        VideoOptions(method="transfer", size=48, temporal_weight=weight, transfer=gatys, frame_steps=4,
                                     seed=0))
        frames = list(read_frames(out))
        assert len(frames) == 3 and frames[0].shape == (32, 48, 3)
        return flicker(frames, backs, masks)

    independent = flicker_at(0.0)  # every frame on its own, from the content
    start_only = flicker_at(1e-9)  # later frames start from the warped previous one; the term weighs nothing
    temporal = flicker_at(2000.0)
    assert temporal < 0.8 * start_only  # the temporal loss term itself holds frames to the warped previous one
    assert temporal < 0.8 * independent


def test_cli_video_errors(tmp_path, style_path, capsys):
    not_video = tmp_path / "x.mp4"
    not_video.write_bytes(b"hello")
    assert main(["video", str(not_video), str(style_path), "-o", str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("stylekit: error:") and "not a video" in err and len(err.splitlines()) == 1
    assert main(["video", str(not_video), str(style_path), "-o", str(tmp_path / "o.gif")]) == 2
    assert "o.gif" in capsys.readouterr().err
    assert main(["video", str(not_video), str(style_path), "-o", str(tmp_path / "o.mp4"),
                 "--temporal-weight", "3"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


def test_cli_video_runs(clip, tmp_path, weights_dir):
    style = tmp_path / "s.png"
    from PIL import Image
    Image.fromarray(pattern(48, 1, "style")).save(style)
    out = tmp_path / "o.mkv"
    assert main(["video", str(clip), str(style), "-o", str(out), "--model", "wct", "--max-frames", "2", "-q"]) == 0
    assert len(list(read_frames(out))) == 2


def test_cli_interrupt_names_the_frames_done_off_a_terminal(clip, tmp_path, weights_dir, style_path, monkeypatch,
                                                            capsys):
    original = FrameStylizer.__call__
    calls = []

    def stop_on_third(self, *args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(FrameStylizer, "__call__", stop_on_third)
    monkeypatch.setattr(stylize, "SEGMENT_FRAMES", 2)
    assert main(["video", str(clip), str(style_path), "-o", str(tmp_path / "out.mp4")]) == 130
    assert "interrupted after 2 frames; 2 finished frames are kept" in capsys.readouterr().err  # not a terminal


def test_a_trained_model_paints_a_video_without_a_style_image_and_a_new_model_is_a_new_job(clip, tmp_path,
                                                                                             style_path):
    from stylekit.options import TrainOptions
    from stylekit.training import run_training
    from stylekit.videos.stylize import job_key

    model = tmp_path / "m.pt"
    options = TrainOptions(backbone="scratch", size=32, style_size=64, batch_size=1, steps=1, seed=1)
    run_training([style_path], options, str(model))
    out = tmp_path / "o.mp4"
    assert main(["video", str(clip), "-o", str(out), "--model", str(model), "--max-frames", "2", "-q"]) == 0
    assert len(list(read_frames(out))) == 2
    opts = VideoOptions(fast=FastOptions(model=str(model)))
    before = job_key(clip, [], opts)
    run_training([style_path], options, str(model), overwrite=True)  # the same path, trained again
    model.touch()
    assert job_key(clip, [], opts) != before


def test_train_fits_a_model_to_the_clip_first_and_an_interrupted_training_resumes(clip, tmp_path, style_path,
                                                                                  monkeypatch, capsys):
    from stylekit.feedforward.trained import read_model_file
    from stylekit.training import trainer
    from stylekit.videos.stylize import CLIP_MODEL

    out = tmp_path / "o.mp4"
    real_run = trainer.Trainer.run

    class StopAfterOne(Callback):
        def on_step(self, progress):
            raise StopRun  # as a Ctrl-C after the first step

    def stopped(self, callbacks=()):
        return real_run(self, [*callbacks, StopAfterOne()])

    monkeypatch.setattr(trainer.Trainer, "run", stopped)
    args = ["video", str(clip), str(style_path), "-o", str(out), "--train", "3", "--max-frames", "2"]
    assert main(args) == 130
    assert "training a model on 2 frames of the clip (3 steps)" in capsys.readouterr().err
    kept = work_dir(out) / CLIP_MODEL
    assert read_model_file(kept)["training"]["step"] == 1 and not out.exists()
    monkeypatch.setattr(trainer.Trainer, "run", real_run)
    assert main(args) == 0, capsys.readouterr().err
    assert len(list(read_frames(out))) == 2 and not work_dir(out).exists()
    assert "training on the clip: step 3 of 3" in capsys.readouterr().err
    code = main(["video", str(clip), "-o", str(tmp_path / "x.mp4"), "--train", "3", "--builtin", "2"])
    assert code == 2 and "--train" in capsys.readouterr().err



@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_the_flow_finds_a_shift_at_full_and_at_half_size(scale, sample_images):
    from PIL import Image

    photo = np.asarray(Image.open(sample_images / "landscape.jpg").convert("RGB").resize((200, 136)))
    before, after = photo[8:128, 8:192], photo[5:125, 12:196]  # the view moved 4 px right and 3 px up
    flow = FlowEstimator(scale=scale)(after, before)  # after(x) = before(x + flow)
    middle = flow[30:90, 30:150]
    assert np.allclose(np.median(middle.reshape(-1, 2), 0), [4, -3], atol=0.5)


def test_a_video_places_two_styles_by_a_mask_and_takes_a_colour_image(clip, tmp_path, sample_images):
    from PIL import Image

    mask = np.zeros((64, 96), np.uint8)
    mask[:, :48] = 255
    Image.fromarray(mask).save(tmp_path / "half.png")
    red = np.zeros((48, 48, 3), np.uint8)
    red[..., 0] = 220
    Image.fromarray(red).save(tmp_path / "red.png")
    out = tmp_path / "o.mp4"
    assert main(["video", str(clip), str(sample_images / "starry_night.jpg"), str(sample_images / "the_scream.jpg"),
                 "--masks", str(tmp_path / "half.png"), "--color-image", str(tmp_path / "red.png"),
                 "--model", "magenta", "--max-frames", "2", "-q", "-o", str(out)]) == 0
    frames = list(read_frames(out))
    assert len(frames) == 2 and frames[0].shape == (64, 96, 3)
    assert frames[0][..., 0].mean() > frames[0][..., 2].mean() + 40  # the colour image's red
