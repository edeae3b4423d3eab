"""Fingerprints of a few seeded nights, to show that speed work left the numbers alone.

    .venv/bin/python benchmarks/same_numbers.py --save before.json   # on the old code
    .venv/bin/python benchmarks/same_numbers.py --compare before.json  # on the new code

A fingerprint is a night's summary plus a SHA-256 of every precinct record, call and series
row (times written with ``repr``, so one ulp of difference shows). Nights: the defaults, the
defaults with no busy signals, the defaults with staff coming on and off duty at the hotline
and at HQ in the same minutes, and each preset in ``scenarios/``, seeds 1 and 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

from sim import NightConfig, run_night
from sim.config import HotlineShift, HQShift
from sim.metrics import summarize
from sim.night import Night
from sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SEEDS = (1, 2)


def configs() -> dict[str, NightConfig]:
    """The nights fingerprinted, by name."""
    default = NightConfig()
    named = {
        "defaults": default,
        "no-busy": replace(default, hotline=replace(default.hotline, lines=100_000)),
        "shifts": replace(
            default,
            hotline=replace(
                default.hotline,
                shifts=(HotlineShift(120.0, operators=10), HotlineShift(240.0, operators=60)),
            ),
            hq=replace(
                default.hq,
                shifts=(HQShift(120.0, verifiers=2, data_entry_staff=1), HQShift(240.0, 30, 8)),
            ),
        ),
    }
    for path in sorted(SCENARIOS.glob("*.toml")):
        named[path.stem] = load_scenario(path).night
    return named


def fingerprint(night: Night) -> dict:
    digest = hashlib.sha256()
    for r in night.records:
        digest.update(
            repr(
                (
                    r.precinct,
                    r.has_app,
                    [(a.channel, a.start_min, a.end_min, a.outcome) for a in r.attempts],
                    r.ready_min,
                    r.channel,
                    r.received_min,
                    r.received,
                    r.findings,
                    r.verified_min,
                    r.published_min,
                    r.published,
                    r.publications,
                )
            ).encode()
        )
    for c in night.calls:
        digest.update(
            repr(
                (
                    c.kind,
                    c.caller,
                    c.placed_min,
                    c.talk_min,
                    c.patience_min,
                    c.wait_min,
                    c.outcome,
                    c.ended_min,
                )
            ).encode()
        )
    digest.update(repr(night.series).encode())
    summary = {k: repr(v) for k, v in summarize(night).items()}
    return {"summary": summary, "sha256": digest.hexdigest()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="write the fingerprints to this JSON file")
    group.add_argument("--compare", type=Path, help="compare with fingerprints saved earlier")
    args = parser.parse_args()
    now = {
        f"{name} seed {seed}": fingerprint(run_night(config, seed))
        for name, config in configs().items()
        for seed in SEEDS
    }
    if args.save:
        args.save.write_text(json.dumps(now, indent=1))
        print(f"{len(now)} nights fingerprinted -> {args.save}")
        return 0
    before = json.loads(args.compare.read_text())
    differ = 0
    for key in sorted(before.keys() | now.keys()):
        if before.get(key) == now.get(key):
            continue
        differ += 1
        old, new = before.get(key, {}), now.get(key, {})
        changed = [
            f"{k}: {old.get('summary', {}).get(k)} -> {v}"
            for k, v in new.get("summary", {}).items()
            if old.get("summary", {}).get(k) != v
        ]
        print(f"DIFFERS {key}: " + ("; ".join(changed) or "records differ, summary equal"))
    print(f"{len(now) - differ} of {len(now)} nights identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
