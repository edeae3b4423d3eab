"""The OpenAPI schema is the contract: served, checked in, and fuzzed with schemathesis.

After a deliberate API change, refresh the checked-in copy with
``CAUCUS_UPDATE_CONTRACT=1 pytest tests/test_reporting_contract.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

CONTRACT = Path(__file__).parent / "contract" / "openapi-v1.json"


def test_served_schema_is_the_checked_in_contract(reporting_client):
    served = reporting_client.get("/openapi.json").json()
    if os.environ.get("CAUCUS_UPDATE_CONTRACT"):
        CONTRACT.write_text(json.dumps(served, indent=2, sort_keys=True) + "\n")
    assert served == json.loads(CONTRACT.read_text()), (
        "the served OpenAPI schema drifted from tests/contract/openapi-v1.json: if the change is"
        " intended, refresh it with CAUCUS_UPDATE_CONTRACT=1 and review the diff"
    )


def test_contract_names_every_operation():
    contract = json.loads(CONTRACT.read_text())
    operations = {(m.upper(), p) for p, item in contract["paths"].items() for m in item}
    assert operations == {
        ("POST", "/api/v1/sessions"),
        ("POST", "/api/v1/precincts/{precinct_id}/open"),
        ("POST", "/api/v1/precincts/{precinct_id}/first-alignment"),
        ("POST", "/api/v1/precincts/{precinct_id}/close"),
        ("GET", "/api/v1/results"),
        ("GET", "/api/v1/precincts/{precinct_id}"),
        ("GET", "/api/v1/admin/export"),
        ("GET", "/api/v1/candidates"),
        ("GET", "/api/v1/admin/alerts"),
        ("POST", "/api/v1/admin/precincts/{precinct_id}/unlock"),
        ("POST", "/api/v1/admin/precincts/{precinct_id}/code"),
        ("POST", "/api/v1/admin/precincts/unlock"),
        ("POST", "/api/v1/admin/sessions/revoke"),
        ("GET", "/api/v1/admin/reviews"),
        ("POST", "/api/v1/admin/reviews/{receipt_id}"),
        ("GET", "/api/v1/admin/releases"),
        ("POST", "/api/v1/admin/releases"),
        ("GET", "/api/v1/admin/progress"),
        ("GET", "/healthz"),
        ("GET", "/livez"),
        ("GET", "/metrics"),
    }
    assert {"HTTPBearer", "AdminKey"} <= set(contract["components"]["securitySchemes"])


@pytest.fixture(scope="module")
def reporting_fuzz_target(tmp_path_factory, reporting_server_factory):
    """A real `caucus serve` on loopback, and an operator's token for it."""
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    server = reporting_server_factory(f"sqlite:///{db}")
    with server.client() as client:
        token = client.post("/api/v1/sessions", json=server.operator).json()["token"]
    yield server, token
    server.stop()


def _negative(case: schemathesis.Case) -> bool:
    """Whether any part of the case was generated to break the schema."""
    meta = case.meta
    return meta is not None and (
        meta.generation.mode.is_negative
        or any(c.mode.is_negative for c in meta.components.values())
    )


# The fuzzer reads the checked-in contract, not the served schema: it tests the promise.
schema = schemathesis.openapi.from_dict(json.loads(CONTRACT.read_text()))


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_fuzz_no_5xx_and_responses_match_the_schema(case, reporting_fuzz_target):
    server, token = reporting_fuzz_target
    headers = {}
    if not _negative(case):
        # Valid cases carry real credentials, so they get past sign-in to the handlers.
        hotline = "/api/v1/admin/precincts/{precinct_id}/"
        admin = case.path.startswith("/api/v1/admin/") and not case.path.startswith(hotline)
        key = server.admin_key if admin else token
        headers["Authorization"] = f"Bearer {key}"
    response = case.call(base_url=server.url, headers=headers, timeout=30)
    # Well-formed data may still break the caucus rules (422 impossible-result), so the
    # generic "valid data accepted" check gives way to a sharper one: the parser never refuses
    # what the schema allows.
    case.validate_response(response, headers=headers, excluded_checks=[positive_data_acceptance])
    if response.status_code == 422 and not _negative(case):
        # Names must be on the roster's candidate list, which the schema cannot know.
        assert response.json()["type"] in ("impossible-result", "unknown-candidate"), response.text
