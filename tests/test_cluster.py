"""Nights on a Dask cluster: a real distributed.LocalCluster of worker processes on loopback."""

import math
import os
import signal
from dataclasses import fields, is_dataclass, replace

import numpy as np
import pytest

from caucus.cli import main
from sim.config import NightConfig, PrecinctsConfig
from studies.runner import (
    CALL_RECORD_NIGHTS,
    SCHEDULER_VARIABLE,
    aggregates,
    run_nights,
    run_replications,
)

distributed = pytest.importorskip("distributed")

SMALL = replace(
    NightConfig(),
    precincts=replace(PrecinctsConfig(), regular=240, satellites=10, counties=12),
)
"""A night of 250 precincts with the default hotline and prank flood (about a tenth of a
second)."""


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster


def _same(a, b) -> bool:
    """Equal number for number, NaN equal to NaN (reduced nights, and what they hold)."""
    if is_dataclass(a):
        return type(a) is type(b) and all(
            _same(getattr(a, f.name), getattr(b, f.name)) for f in fields(a)
        )
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def test_same_tells_nights_apart():
    (a,), (again,) = run_nights(SMALL, 3, 1, aggregates), run_nights(SMALL, 3, 1, aggregates)
    assert np.isnan(a.report_hold_p90_by_hour).any() and _same(a, again)
    assert not _same(a, replace(a, delay_min={**a.delay_min, "hq": a.delay_min["hq"] + 1e-9}))
    assert _same([math.nan, (1, None)], [math.nan, (1, None)]) and not _same([math.nan], [0.0])


@pytest.mark.slow
def test_same_seeds_give_the_same_nights_on_dask_as_locally(cluster):
    local = run_replications(SMALL, 7, CALL_RECORD_NIGHTS + 1, workers=1)
    remote = run_replications(SMALL, 7, CALL_RECORD_NIGHTS + 1, cluster=cluster.scheduler_address)
    assert [r.index for r in remote] == list(range(CALL_RECORD_NIGHTS + 1))
    assert all(_same(a, b) for a, b in zip(local, remote, strict=True))
    assert local[0].summary != local[1].summary  # nights differ from each other
    assert remote[0].calls and not remote[CALL_RECORD_NIGHTS].calls  # per-call rows: first nights


@pytest.mark.slow
def test_a_worker_killed_mid_run_has_its_nights_run_again_and_counted_once(cluster):
    nights = 8
    local = run_nights(SMALL, 5, nights, aggregates)
    killed: list[int] = []
    ticks: list[tuple[int, int]] = []
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as watcher:

        def kill_a_busy_worker(done: int, total: int) -> None:
            ticks.append((done, total))
            if killed:
                return
            busy = [w for w, keys in watcher.processing().items() if keys]
            pids = watcher.run(os.getpid, workers=busy[:1])
            for pid in pids.values():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

        remote = run_nights(
            SMALL,
            5,
            nights,
            aggregates,
            progress=kill_a_busy_worker,
            cluster=cluster.scheduler_address,
        )
        watcher.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker
    assert len(killed) == 1, "no worker was busy when the first night came back"
    assert ticks == [(done, nights) for done in range(1, nights + 1)]
    assert all(_same(a, b) for a, b in zip(local, remote, strict=True))


def test_aggregates_carry_no_per_precinct_or_per_call_rows():
    (night,) = run_nights(SMALL, 3, 1, aggregates)
    assert night.precincts == [] and night.calls == []
    assert night.summary["calls_report"] > 0 and len(night.published) > 0


@pytest.mark.slow
def test_simulate_on_the_cluster_named_by_the_environment(cluster, tmp_path, monkeypatch, capsys):
    scenario = tmp_path / "small.toml"
    scenario.write_text(
        'name = "small"\nseed = 3\nreplications = 3\n[precincts]\nregular = 120\nsatellites = 5\n'
    )
    local, remote = tmp_path / "local", tmp_path / "remote"
    assert main(["simulate", str(scenario), "--out", str(local), "--workers", "1"]) == 0
    monkeypatch.setenv(SCHEDULER_VARIABLE, cluster.scheduler_address)
    assert main(["simulate", str(scenario), "--out", str(remote), "--quiet"]) == 0
    assert (local / "replications.csv").read_text() == (remote / "replications.csv").read_text()
    capsys.readouterr()


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_line_and_no_run_folder(tmp_path, capsys):
    scenario = tmp_path / "small.toml"
    scenario.write_text('name = "small"\n[precincts]\nregular = 20\nsatellites = 1\n')
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", str(scenario), "--out", str(out), "--cluster", "tcp://127.0.0.1:9"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("caucus: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert not out.exists() and not list(tmp_path.glob("run*"))
