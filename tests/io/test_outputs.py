"""Outputs: checked before work, never over an input, atomic, no debris left by a killed writer."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from stylekit.errors import StylekitError
from stylekit.io import batch_outputs, check_distinct, check_output_path, check_writable_folder, write_atomic


def test_output_paths_are_checked_before_any_work(tmp_path):
    with pytest.raises(StylekitError, match="cannot write in /proc"):
        check_output_path("/proc/out.png")
    with pytest.raises(StylekitError, match="is a folder: give a file name inside it"):
        check_output_path(tmp_path, None, "--history")
    (tmp_path / "x.png").mkdir()
    with pytest.raises(StylekitError, match="is a folder"):
        check_output_path(tmp_path / "x.png")
    with pytest.raises(StylekitError, match="does not exist"):
        check_writable_folder(tmp_path / "nope", "-o")
    assert check_output_path(tmp_path / "h.json", None, "--history") == tmp_path / "h.json"
    assert list(tmp_path.iterdir()) == [tmp_path / "x.png"]  # the write probe leaves nothing


def test_no_output_over_an_input_or_another_output(tmp_path):
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"precious")
    with pytest.raises(StylekitError, match="is one of the inputs"):
        check_distinct([(tmp_path / "photo.png", "--history")], [photo])
    with pytest.raises(StylekitError, match="-o and --history are both"):
        check_distinct([(tmp_path / "o.png", "-o"), (tmp_path / "." / "o.png", "--history")], [photo])
    link = tmp_path / "link.png"
    link.symlink_to(photo)
    with pytest.raises(StylekitError, match="is one of the inputs"):
        check_distinct([(link, "-o")], [str(photo)])
    assert photo.read_bytes() == b"precious"


def test_batch_names_never_collide_and_outputs_are_not_inputs(tmp_path):
    files = [tmp_path / n for n in ("a.png", "a.jpg", "b.png", "b_stylized.png")]
    plan = batch_outputs(files, tmp_path)
    assert {k.name: v.name for k, v in plan.items()} == {"a.png": "a_png_stylized.png", "a.jpg": "a_jpg_stylized.png",
                                                         "b.png": "b_stylized.png"}  # b_stylized.png: an output


def test_stale_temporary_files_are_removed_by_the_next_write(tmp_path):
    out = tmp_path / "o.png"
    dead = tmp_path / ".o.png.pid999999999.abcd.tmp.png"  # no such process
    old = tmp_path / ".o.png.xyz.tmp.png"  # an older stylekit's name, without a pid
    alive = tmp_path / f".o.png.pid{os.getpid()}.efgh.tmp.png"  # a writer that is still running
    for path in (dead, old, alive):
        path.write_bytes(b"debris")
    hours_ago = time.time() - 7200
    os.utime(old, (hours_ago, hours_ago))
    write_atomic(out, lambda tmp: Path(tmp).write_bytes(b"done"))
    assert out.read_bytes() == b"done" and not dead.exists() and not old.exists() and alive.exists()


def test_an_interrupted_write_leaves_nothing(tmp_path):
    def explode(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "o.png", explode)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="no /proc: only a running pid is told apart")
def test_debris_of_a_killed_unreaped_writer_or_of_a_reused_pid_is_removed(tmp_path):
    import subprocess

    out = tmp_path / "o.png"
    killed = subprocess.Popen(["sleep", "60"])  # killed with -9 and not reaped: a zombie keeps its pid
    killed.kill()
    deadline = time.time() + 30
    while Path(f"/proc/{killed.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z" and time.time() < deadline:
        time.sleep(0.01)
    zombie = tmp_path / f".o.png.pid{killed.pid}.abcd.tmp.png"
    reused = tmp_path / f".o.png.pid{os.getpid()}.efgh.tmp.png"  # written before this process started
    for path in (zombie, reused):
        path.write_bytes(b"debris")
    long_ago = time.time() - 10 * 86400
    os.utime(reused, (long_ago, long_ago))
    write_atomic(out, lambda tmp: Path(tmp).write_bytes(b"done"))
    killed.wait()
    assert out.read_bytes() == b"done" and not zombie.exists() and not reused.exists()


def test_another_users_file_in_a_sticky_folder_is_refused_before_work(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    theirs = shared / "out.png"
    theirs.write_bytes(b"")
    monkeypatch.setattr(os, "geteuid", lambda: 4242)  # an ordinary user who owns neither the file nor the folder
    with pytest.raises(StylekitError, match="belongs to another user"):
        check_output_path(theirs)
    check_output_path(shared / "new.png")  # a new name there is fine


def test_a_write_the_system_refuses_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys, content_path,
                                                                  style_path):
    from stylekit.cli import main

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(StylekitError, match="permission denied"):
        write_atomic(tmp_path / "x.txt", lambda tmp: tmp.write_text("x"))
    code = main(["transfer", str(content_path), str(style_path), "-o", str(tmp_path / "out.png"), "--backbone",
                 "scratch", "--size", "32", "--steps", "2", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "permission denied" in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["content.png", "style.png"])


ORDINARY = 65534  # nobody: the user the refusals below run as when the suite runs as root


def _refusals_as_an_ordinary_user(folder: str, drop: bool) -> list[tuple[int, str]]:
    """In a fresh process: ``transfer`` into a read-only folder, from an unreadable file, then into a writable one,
    as an ordinary user (``drop``: first as root, so every module is loaded, then as :data:`ORDINARY`)."""
    import contextlib
    import io

    from stylekit.cli import main

    base = Path(folder)
    photo, style = base / "content.png", base / "style.png"

    def run(content: Path, out: Path) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            # --init content: the run needs no packaged model file, which an ordinary user cannot read when the
            # checkout sits in a root-only folder (as CI's copy does)
            code = main(["transfer", str(content), str(style), "-o", str(out), "--backbone", "scratch", "--size",
                         "32", "--steps", "2", "--init", "content", "-q"])
        return code, err.getvalue()

    if drop:
        assert run(photo, base / "warm.png")[0] == 0
        (base / "warm.png").unlink()
        os.setgroups([])
        os.setgid(ORDINARY)
        os.setuid(ORDINARY)
    return [run(photo, base / "locked" / "out.png"), run(base / "secret.png", base / "out2.png"),
            run(photo, base / "out.png")]


def test_as_an_ordinary_user_an_unwritable_folder_or_unreadable_input_is_one_line(content_path, style_path):
    import multiprocessing
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="stylekit-user-"))  # outside pytest's root-only folders
    try:
        folder.chmod(0o777)
        for name, source in (("content.png", content_path), ("style.png", style_path), ("secret.png", content_path)):
            shutil.copy(source, folder / name)
            (folder / name).chmod(0o644)
        (folder / "secret.png").chmod(0o000)
        (folder / "locked").mkdir(mode=0o555)
        (folder / "locked").chmod(0o555)
        drop = os.geteuid() == 0  # root reads and writes anything: the refusals need an ordinary user
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            locked, unreadable, fine = pool.apply(_refusals_as_an_ordinary_user, (str(folder), drop))
        assert locked[0] == 2 and locked[1].count("\n") == 1 and "permission denied" in locked[1]
        assert unreadable[0] == 2 and unreadable[1].count("\n") == 1 and "cannot read" in unreadable[1]
        assert fine == (0, "") and (folder / "out.png").stat().st_uid == (ORDINARY if drop else os.geteuid())
        assert sorted(p.name for p in folder.iterdir()) == ["content.png", "locked", "out.png", "secret.png",
                                                            "style.png"]  # no debris
        assert list((folder / "locked").iterdir()) == []
    finally:
        shutil.rmtree(folder, ignore_errors=True)
