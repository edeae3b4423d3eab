"""The progress bar: time left on a terminal, silence elsewhere, and Ctrl-C on its own line."""

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from studies.progress import ProgressBar


def _terminal() -> tuple[int, int]:
    """A pseudo-terminal 100 columns wide: (master, replica) file descriptors."""
    master, replica = pty.openpty()
    fcntl.ioctl(replica, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    return master, replica


def _terminal_output(quiet: bool, monkeypatch) -> str:
    """What a bar over 4 nights writes to a terminal."""
    master, replica = _terminal()
    with os.fdopen(replica, "w") as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        with ProgressBar("small", quiet=quiet) as progress:
            for done in range(1, 5):
                progress(done, 4)
        out = _read_all(master)
    os.close(master)
    return out.decode()


def _read_all(master: int, wait_s: float = 0.2) -> bytes:
    out = b""
    while select.select([master], [], [], wait_s)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other end is closed
            break
        if not chunk:
            break
        out += chunk
    return out


def test_on_a_terminal_the_bar_shows_nights_and_time_left(monkeypatch):
    out = _terminal_output(False, monkeypatch)
    assert "small" in out and "4/4" in out
    assert re.search(r"\d\d:\d\d<\d\d:\d\d", out)  # elapsed<remaining
    assert out.endswith("\n")


def test_quiet_on_a_terminal_writes_nothing(monkeypatch):
    assert _terminal_output(True, monkeypatch) == ""


def test_silent_when_stderr_is_not_a_terminal(capsys):
    with ProgressBar("small") as progress:
        for done in range(1, 4):
            progress(done, 3)
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_ctrl_c_prints_on_its_own_line_and_leaves_no_run_folder(tmp_path):
    scenario = tmp_path / "long.toml"
    scenario.write_text('name = "long"\nseed = 1\nreplications = 400\n')
    out = tmp_path / "run"
    master, replica = _terminal()
    caucus = Path(sys.executable).with_name("caucus")
    process = subprocess.Popen(
        [str(caucus), "simulate", str(scenario), "--out", str(out), "--workers", "1"],
        stdin=replica,
        stdout=replica,
        stderr=replica,
        close_fds=True,
    )
    os.close(replica)
    seen = b""
    deadline = time.monotonic() + 120
    while b"/400" not in seen and time.monotonic() < deadline:  # a night or two done
        if select.select([master], [], [], 1)[0]:
            seen += os.read(master, 4096)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    seen += _read_all(master, 0.5)
    os.close(master)
    text = seen.decode()
    assert "/400" in text
    assert re.search(r"\r?\ninterrupted\r?\n", text), text[-300:]
    assert not out.exists() and not list(tmp_path.glob("run*"))
