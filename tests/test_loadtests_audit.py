"""The audit squares clients' receipts with the service's export (pure data, no service)."""

from __future__ import annotations

from pathlib import Path

from loadtests.audit import audit
from loadtests.receipts import ReceiptLog, ReceiptRecord, canonical_sha256, read_receipts

BODY = {"attendance": 61}


def _stored(receipt_id: str, precinct: str = "P0001", stage: str = "open", **extra) -> dict:
    return {
        "receipt_id": receipt_id,
        "precinct_id": precinct,
        "stage": stage,
        "idempotency_key": f"run-{precinct}-{stage}",
        "body_sha256": canonical_sha256(BODY),
        "body": BODY,
        "correction_of": None,
        **extra,
    }


def _receipt(receipt_id: str, precinct: str = "P0001", stage: str = "open") -> ReceiptRecord:
    return ReceiptRecord(
        precinct_id=precinct,
        stage=stage,
        idempotency_key=f"run-{precinct}-{stage}",
        sent_sha256=canonical_sha256(BODY),
        receipt_id=receipt_id,
        receipt_sha256=canonical_sha256(BODY),
        entered_by=f"chair:{precinct}",
        status=201,
    )


def test_canonical_hash_matches_the_contract() -> None:
    # Receipt.body_sha256 in the OpenAPI contract: nulls dropped, keys sorted, no spaces.
    import hashlib

    expected = hashlib.sha256(b'{"attendance":61,"groups":[{"first":3,"name":"Warren"}]}')
    body = {"groups": [{"name": "Warren", "first": 3}], "attendance": 61, "correction": None}
    assert canonical_sha256(body) == expected.hexdigest()


def test_every_receipt_stored_once_passes() -> None:
    receipts = [_receipt("a"), _receipt("a"), _receipt("b", stage="close")]
    report = audit(receipts, [_stored("a"), _stored("b", stage="close")])
    assert report.passed
    assert (report.receipts, report.stored) == (2, 2)


def test_receipt_without_stored_report_is_lost() -> None:
    report = audit([_receipt("a"), _receipt("b", "P0002")], [_stored("a")])
    assert not report.passed
    assert [(f.precinct_id, f.receipt_id) for f in report.lost] == [("P0002", "b")]


def test_altered_body_fails() -> None:
    row = _stored("a", body={"attendance": 62})
    report = audit([_receipt("a")], [row])
    assert [f.receipt_id for f in report.altered] == ["a"]


def test_stage_accepted_twice_fails() -> None:
    export = [_stored("a"), _stored("b", idempotency_key="other-key")]
    report = audit([_receipt("a"), _receipt("b")], export)
    assert not report.passed
    assert report.accepted_twice and report.duplicated


def test_corrections_and_unreceipted_rows_do_not_fail() -> None:
    export = [_stored("a"), _stored("c", idempotency_key="fix", correction_of="a")]
    report = audit([_receipt("a")], export)
    assert report.passed
    assert [f.receipt_id for f in report.unreceipted] == ["c"]


def test_receipt_logs_of_several_processes_are_read_together(tmp_path: Path) -> None:
    ReceiptLog(tmp_path).append(_receipt("a"))
    (tmp_path / "receipts-999999.jsonl").write_text(
        (tmp_path / next(p.name for p in tmp_path.iterdir())).read_text().replace('"a"', '"b"')
    )
    assert sorted(r.receipt_id for r in read_receipts(tmp_path)) == ["a", "b"]
