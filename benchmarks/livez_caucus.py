"""bench_loadtest.py's subject: our Watcher polling GET /livez (run with loadtests/locustfile.py).

The watcher goes through everything it does on caucus night (its adapter's request, headers,
ETag and max-age handling, the pause, the flood-stats listener, the progress log); only the
path is the service's trivial one, so the server does next to nothing. No hooks here: the
adapter is imported from this module again by ``--adapter livez_caucus:LivezApi``.
"""

from collections.abc import Mapping
from typing import ClassVar

from loadtests.adapters import Request
from loadtests.adapters.contract import ContractV1
from loadtests.users import Watcher


class LivezApi(ContractV1):
    """Our API, except that the results watchers poll are GET /livez."""

    NAMES: ClassVar[Mapping[str, str]] = {**ContractV1.NAMES, "results": "GET /livez"}

    def results(self) -> Request:
        return Request("GET", "/livez", self.NAMES["results"], ok=frozenset({200}))


class LivezWatcher(Watcher):
    """A watcher who only polls (no precinct look-ups)."""

    tasks: ClassVar = [Watcher.poll_results]
