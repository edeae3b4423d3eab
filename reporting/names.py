"""Candidate names: a roster's fixed list, and look-alike names refused (Unicode UTS #39).

A preference group must be named exactly as on the list. A name that is not on it but looks
like one that is (another script's letters, invisible joiners, other case or width, accents,
stray spaces) is named in the refusal: its *skeleton* matches a candidate's. The skeleton
follows UTS #39 section 4: NFKC, then each character replaced by the prototype of its
confusable set (from the Unicode confusables data that ``confusable_homoglyphs`` ships), with
marks and invisible characters dropped, spaces ignored, and case folded.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@cache
def _prototypes() -> dict[str, str]:
    """Character → the one character standing for its confusable set (ASCII when there is one).

    The data lists pairs that look alike; a set is everything joined by such pairs.
    """
    data = json.loads(files("confusable_homoglyphs").joinpath("confusables.json").read_text())
    parent: dict[str, str] = {}

    def root(c: str) -> str:
        while parent.get(c, c) != c:
            parent[c] = parent.get(parent[c], parent[c])
            c = parent[c]
        return c

    for char, homoglyphs in data.items():
        for other in (h["c"] for h in homoglyphs if len(h["c"]) == 1):
            a, b = sorted((root(char), root(other)), key=lambda c: (not c.isascii(), c))
            parent[b] = a
    return {c: root(c) for c in parent}


def skeleton(name: str) -> str:
    """What ``name`` looks like: equal skeletons are names a reader cannot tell apart."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", name))
    kept = (
        prototypes.get(c, c)
        for c in decomposed
        if not unicodedata.category(c).startswith(("M", "C", "Z")) and not c.isspace()
    )
    return "".join(prototypes.get(c, c) for c in "".join(kept).casefold())


@dataclass(frozen=True, slots=True)
class CandidateList:
    """The names preference groups may take, NFKC-normalised, no two alike."""

    names: tuple[str, ...]
    by_skeleton: dict[str, str]

    @classmethod
    def from_lines(cls, lines: list[str]) -> CandidateList:
        """The list from a file's lines (blank lines skipped); refuses look-alike entries."""
        names = tuple(line.strip() for line in lines if line.strip())
        if not names:
            raise ValueError("the candidate list is empty")
        by_skeleton: dict[str, str] = {}
        for name in names:
            if unicodedata.normalize("NFKC", name) != name:
                raise ValueError(f"candidate {name!r} is not NFKC-normalised")
            twin = by_skeleton.setdefault(skeleton(name), name)
            if twin != name:
                raise ValueError(f"candidates {twin!r} and {name!r} look alike")
        return cls(names, by_skeleton)

    def refusal(self, name: str) -> str | None:
        """Why ``name`` may not name a group (None when it is a candidate on the list)."""
        if name in self.names:
            return None
        twin = self.by_skeleton.get(skeleton(name))
        if twin is not None:
            return f"{name!r} looks like the candidate {twin!r} but is not it ({_spell(name)})"
        return f"{name!r} is not a candidate on this roster"


def _spell(name: str) -> str:
    """The characters that are not plain ASCII, by Unicode name."""
    odd = [f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in name if not c.isascii()]
    return ", ".join(odd) if odd else "case or spacing differs"
