"""Locust load tests of a results-reporting endpoint: caucus-night users, shapes, SLOs, audit.

Run plain Locust with ``locust -f loadtests/locustfile.py --host URL`` (add a shape file from
``loadtests/shapes/`` to the ``-f`` list), or ``caucus loadtest`` for a run folder and a verdict.
"""
