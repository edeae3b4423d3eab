"""A progress bar for many nights on standard error (tqdm): nights done, rate and time left.

It stays silent when standard error is not a terminal (no carriage returns in CI logs) or when
asked to. It is the ``progress(done, total)`` callable that :func:`studies.runner.run_nights`
takes, and a context manager that ends its line however the run ends, so that a Ctrl-C
message starts on a line of its own.
"""

from __future__ import annotations

import sys
from types import TracebackType

from tqdm import tqdm


class ProgressBar:
    """``label:  24%|#####      | 12/50 nights [00:03<00:09, 3.94night/s]``."""

    def __init__(self, label: str, quiet: bool = False) -> None:
        self._bar = tqdm(
            desc=label,
            unit="night",
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} nights "
            "[{elapsed}<{remaining}, {rate_fmt}]",
            file=sys.stderr,
            disable=True if quiet else None,  # None: silent unless stderr is a terminal
            dynamic_ncols=True,
        )

    def __call__(self, done: int, total: int) -> None:
        if self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bar.close()
