"""Live progress: the line shown on a terminal, silence elsewhere, and following the log."""

from __future__ import annotations

import io
from pathlib import Path

from loadtests.adapters import Reply
from loadtests.progress import COLUMNS, ProgressFollower, Terminal, progress_line

ROW = {
    "unix_s": 1.0, "wall_s": 1.0, "night_min": 222.0, "time_of_night": "10:42 pm",
    "PrecinctChair": 31, "Watcher": 8, "PrankBot": 2, "HotlineOperator": 1, "Reviewer": 2,
    "requests_per_s": 23.04, "failures": 0, "failures_per_s": 0.0,
}  # fmt: skip


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_line_says_time_of_night_users_by_class_rate_and_failures() -> None:
    assert progress_line(ROW) == (
        "10:42 pm  chairs 31  watchers 8  prank bots 2  operators 1  reviewers 2  |  23.0 req/s,"
        " 0 failures"
    )


def test_a_terminal_shows_the_line_in_place_and_anything_else_nothing() -> None:
    tty, pipe = FakeTerminal(), io.StringIO()
    for stream in (tty, pipe):
        terminal = Terminal(stream)
        terminal.show("one")
        terminal.show("two")
        terminal.done()
    assert tty.getvalue() == "\rone\x1b[K\rtwo\x1b[K\n"
    assert pipe.getvalue() == ""


def test_the_follower_reads_whole_new_rows_only(tmp_path: Path) -> None:
    path = tmp_path / "progress.csv"
    follower = ProgressFollower(path)
    assert follower.new_rows() == []  # nothing written yet
    line = ",".join(str(ROW[c]) for c in COLUMNS)
    path.write_text(",".join(COLUMNS) + "\n" + line + "\n" + line[:9])  # the last row half out
    assert [r["PrecinctChair"] for r in follower.new_rows()] == ["31"]
    with path.open("a") as file:
        file.write(line[9:] + "\n")
    assert [r["time_of_night"] for r in follower.new_rows()] == ["10:42 pm"]
    assert follower.new_rows() == []


def test_a_refusal_says_its_status_cause() -> None:
    problem = b'{"type": "already-reported", "title": "Stage already reported", "status": 409}'
    assert Reply(409, {}, problem).problem == "already-reported: Stage already reported"
    assert Reply(401, {}, b'{"error": "wrong precinct or PIN"}').problem == "wrong precinct or PIN"
    assert Reply(502, {}, b"<html>Bad Gateway</html>\n").problem == "<html>Bad Gateway</html>"
    assert (
        Reply(0, {}, None, "ConnectionRefusedError(111)").problem == "ConnectionRefusedError(111)"
    )
