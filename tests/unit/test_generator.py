"""Sample-data generator: determinism, exact bad records, coherence, CLI, documents (that it never ships is
tests/unit/test_import_direction.py and tests/unit/test_bundling.py)."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from data_contracts import reasons
from data_contracts.contracts import REGISTRY
from data_contracts.reference import COMPANY_INSURER_CODE
from data_contracts.validation import classify
from sample_data import (
    GeneratedRecord,
    expected_counts,
    generate,
    generate_documents,
    manifest,
    to_kinesis_event,
)
from sample_data.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dataset() -> list[GeneratedRecord]:
    return generate(3000, seed=42, bad_share=0.1)


def test_same_seed_same_bytes_different_seed_different():
    first, again = generate(400, seed=7, bad_share=0.2), generate(400, seed=7, bad_share=0.2)
    assert first == again
    assert [r.payload for r in first] == [r.payload for r in again]
    other = generate(400, seed=8, bad_share=0.2)
    assert [r.payload for r in first] != [r.payload for r in other]


@pytest.mark.parametrize(("records", "share"), [(0, 0.5), (1, 0.0), (7, 1.0), (10, 0.7), (100, 0.07), (999, 0.1),
                                                (1000, 0.25), (500, 0.0)])
def test_exact_count_and_bad_count(records, share):
    out = generate(records, seed=3, bad_share=share)
    assert len(out) == records
    bad = [r for r in out if r.expected_reason is not None]
    assert len(bad) == round(records * share)
    counts = expected_counts(out)
    assert sum(counts["valid"].values()) + sum(counts["bad"].values()) == records
    assert set(counts["bad"]) == set(reasons.ALL_REASONS)
    assert set(counts["valid"]) == set(REGISTRY)
    if len(bad) >= len(reasons.ALL_REASONS):
        assert all(n >= 1 for n in counts["bad"].values()), counts["bad"]


def test_bad_records_are_spread_over_every_reason(dataset):
    counts = expected_counts(dataset)
    assert sum(counts["bad"].values()) == 300
    assert max(counts["bad"].values()) - min(counts["bad"].values()) <= 1  # round-robin
    assert all(counts["valid"][key] > 0 for key in REGISTRY)


def test_bad_records_are_at_random_positions(dataset):
    positions = [i for i, r in enumerate(dataset) if r.expected_reason]
    assert positions[0] < 100 and positions[-1] > 2900
    assert len({b - a for a, b in zip(positions, positions[1:])}) > 5


def test_labels_match_the_validator(dataset):
    for record in dataset:
        envelope, reason, error = classify(record.payload)
        assert reason == record.expected_reason, (record, error)
        if envelope is not None:
            assert (envelope["source"], envelope["entity"]) == (record.source, record.entity)
        elif reason == reasons.UNKNOWN_ENTITY:
            assert record.entity is None


def test_payloads_are_single_lines(dataset):
    assert all(b"\n" not in r.payload and r.payload for r in dataset)
    assert all(r.partition_key and len(r.partition_key) <= 256 for r in dataset)
    encodings = [r for r in dataset if r.expected_reason == reasons.INVALID_ENCODING]
    for record in encodings:
        with pytest.raises(UnicodeDecodeError):
            record.payload.decode("utf-8")


def _good_envelopes(records, distinct: bool = False):
    envelopes = [json.loads(r.payload) for r in records if r.expected_reason is None]
    if distinct:  # drop the producer retries (same event id)
        envelopes = list({env["event_id"]: env for env in envelopes}.values())
    return envelopes


def test_erp_records_reference_earlier_records(dataset):
    customers, policies = set(), set()
    deleted = set()
    checked = Counter()
    for env in _good_envelopes(dataset):
        data, entity = env["data"], env["entity"]
        if env["source"] != "erp":
            continue
        if entity == "customer":
            if env["op"] == "delete":
                deleted.add(data["customer_id"])
            customers.add(data["customer_id"])
        elif entity == "policy":
            assert data["customer_id"] in customers and data["customer_id"] not in deleted
            assert data["start_date"] < data["end_date"]
            policies.add(data["policy_id"])
            checked[entity] += 1
        elif entity == "premium_installment":
            assert data["policy_id"] in policies
            assert data["installment_id"].startswith(data["policy_id"].replace("POL-", "INS-"))
            checked[entity] += 1
        elif entity == "claim":
            assert data["policy_id"] in policies
            assert data["occurrence_date"] <= data["notification_date"]
            assert data["paid_amount"] <= data["incurred_amount"] or data["status"] in ("denied", "withdrawn")
            checked[entity] += 1
    assert checked["policy"] > 50 and checked["premium_installment"] > 500 and checked["claim"] > 5


def test_installments_of_a_policy_add_up_to_its_premium(dataset):
    premium = {}
    amounts = defaultdict(dict)
    for env in _good_envelopes(dataset):
        if env["entity"] == "policy":
            premium.setdefault(env["data"]["policy_id"], env["data"]["annual_premium"])
        elif env["entity"] == "premium_installment":
            amounts[env["data"]["policy_id"]][env["data"]["installment_number"]] = env["data"]["amount"]
    complete = 0
    for policy_id, by_number in amounts.items():
        if len(by_number) == max(by_number) and max(by_number) in (1, 3, 6, 10, 12):
            if round(sum(by_number.values()) * 100) == round(premium[policy_id] * 100):
                complete += 1
    assert complete >= len(amounts) * 0.8


def test_updates_of_the_same_key_move_forward_in_time(dataset):
    versions = defaultdict(list)
    for env in _good_envelopes(dataset):
        contract = REGISTRY[(env["source"], env["entity"])]
        key = (env["source"], env["entity"]) + tuple(env["data"][k] for k in contract.business_key)
        versions[key].append((env["event_time"], env["event_id"]))
    updated = [key for key, v in versions.items() if len({event_id for _, event_id in v}) > 1]
    assert len(updated) > 100
    assert {key[1] for key in updated} >= {"policy", "premium_installment", "claim", "market_statistics"}
    for key, v in versions.items():
        times = [t for t, _ in v]
        assert times == sorted(times), key
        distinct = {}
        for moment, event_id in v:
            distinct.setdefault(event_id, moment)
        assert len(set(distinct.values())) == len(distinct), key  # no two versions share an event_time


def test_event_ids_unique_except_producer_retries(dataset):
    good = [r for r in dataset if r.expected_reason is None]
    ids = Counter(json.loads(r.payload)["event_id"] for r in good)
    repeated = [event_id for event_id, n in ids.items() if n > 1]
    assert 0 < len(repeated) <= len(good) // 100
    by_id = defaultdict(set)
    for r in good:
        by_id[json.loads(r.payload)["event_id"]].add(r.payload)
    assert all(len(payloads) == 1 for payloads in by_id.values())  # a retry repeats the same bytes


def test_susep_statistics_include_the_company_consistent_with_erp():
    records = generate(6000, seed=5)
    stats = [env["data"] for env in _good_envelopes(records) if env["source"] == "susep"]
    assert stats
    insurers = {s["insurer_code"] for s in stats}
    assert COMPANY_INSURER_CODE in insurers and len(insurers) == 6
    months = {s["reference_month"] for s in stats}
    assert len(months) == 12
    latest = {}  # restatements and retries repeat a key: keep its latest version
    for env in sorted(_good_envelopes(records), key=lambda e: e["event_time"]):
        if env["source"] == "susep" and env["data"]["insurer_code"] == COMPANY_INSURER_CODE:
            data = env["data"]
            latest[(data["reference_month"], data["line_of_business"], data["state"])] = data
    written = sum(s["premiums_written"] for s in latest.values())
    erp_sp = sum(env["data"]["annual_premium"] for env in _good_envelopes(records, distinct=True)
                 if env["entity"] == "policy" and env["data"]["state"] == "SP" and env["data"]["status"] == "active"
                 and env["data"]["issued_at"].startswith("2024"))
    assert written > 0
    assert written == pytest.approx(erp_sp, rel=0.01)  # the SUSEP cube covers SP: same written premium
    competitors = [s for s in stats if s["insurer_code"] != COMPANY_INSURER_CODE]
    assert sum(s["premiums_written"] for s in competitors) > written


def test_deletes_carry_only_the_key():
    deletes = [env for env in _good_envelopes(generate(3000, seed=9)) if env["op"] == "delete"]
    assert deletes
    assert all(env["data"].keys() == {"customer_id"} for env in deletes)


def test_invalid_arguments():
    with pytest.raises(ValueError):
        generate(-1)
    with pytest.raises(ValueError):
        generate(10, bad_share=1.5)


def test_manifest_and_kinesis_event(dataset):
    info = manifest(dataset, seed=42, bad_share=0.1)
    assert info["records"] == 3000 and info["valid_total"] + info["bad_total"] == 3000
    assert set(info["valid"]) == {f"{s}.{e}" for s, e in REGISTRY}
    json.dumps(info)
    event = to_kinesis_event(dataset[:5], first_sequence=100, sequence_step=7)
    records = event["Records"]
    assert [r["kinesis"]["sequenceNumber"] for r in records] == ["100", "107", "114", "121", "128"]
    assert records[2]["eventID"] == "shardId-000000000000:114"
    assert [base64.b64decode(r["kinesis"]["data"]) for r in records] == [r.payload for r in dataset[:5]]
    assert records[0]["kinesis"]["partitionKey"] == dataset[0].partition_key


def test_cli_writes_one_line_per_record(tmp_path):
    out, info = tmp_path / "sample.jsonl", tmp_path / "manifest.json"
    command = [sys.executable, "-m", "sample_data", "--records", "250", "--seed", "4",
               "--bad-share", "0.1", "--out", str(out), "--manifest", str(info)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 251
    expected = generate(250, seed=4, bad_share=0.1)
    assert lines[:-1] == [r.payload for r in expected]
    written = json.loads(info.read_text())
    assert written["bad_total"] == 25 and written["records"] == 250
    assert written["bad"] == expected_counts(expected)["bad"]
    stdout = subprocess.run(command[:-4] + ["--out", "-"], cwd=ROOT, check=True, capture_output=True).stdout
    assert stdout == out.read_bytes()


def test_cli_creates_missing_folders(tmp_path):
    out, info = tmp_path / "a" / "b" / "sample.jsonl", tmp_path / "c" / "manifest.json"
    assert cli_main(["--records", "5", "--out", str(out), "--manifest", str(info)]) == 0
    assert len(out.read_bytes().split(b"\n")) == 6 and json.loads(info.read_text())["records"] == 5


@pytest.mark.parametrize("paths, message", [
    (lambda t: ["--out", str(t)], "--out {t}: is a folder; give a file path, e.g. {t}/sample.jsonl"),
    (lambda t: ["--out", str(t / "s.jsonl"), "--manifest", str(t)], "--manifest {t}: is a folder; give a file path"),
    (lambda t: ["--out", str(t / "s.jsonl"), "--manifest", str(t / "plain" / "m.json")],
     "--manifest {t}/plain/m.json: {t}/plain is a file, not a folder; choose another path"),
    (lambda t: ["--out", str(t / "plain" / "deeper" / "s.jsonl")],
     "--out {t}/plain/deeper/s.jsonl: {t}/plain is a file, not a folder; choose another path"),
    (lambda t: ["--out", str(t / "s.jsonl"), "--manifest", str(t / "." / "s.jsonl")],
     "--manifest {t}/s.jsonl: same file as --out; give the manifest its own path"),
    (lambda t: ["--out", str(t / "s.jsonl"), "--manifest", "/proc/lakeforge-no-such/m.json"],
     "--manifest /proc/lakeforge-no-such/m.json: cannot write ("),
])
def test_cli_refuses_an_unwritable_path_with_one_line_before_writing(tmp_path, capsys, paths, message):
    (tmp_path / "plain").write_text("a file")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert cli_main(["--records", "5", *paths(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m sample_data: error: " + message.format(t=tmp_path)), err
    assert err.count("\n") == 1
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


def test_cli_refusal_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sample_data", "--records", "3", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"python -m sample_data: error: --out {tmp_path}: is a folder; give a file path, " \
                          f"e.g. {tmp_path}/sample.jsonl\n"


def test_documents_are_deterministic_and_well_formed():
    docs = generate_documents(9, seed=1)
    assert docs == generate_documents(9, seed=1)
    assert docs != generate_documents(9, seed=2)
    assert len(docs) == 9 and len({key for key, _, _ in docs}) == 9
    kinds = Counter(content_type for _, _, content_type in docs)
    assert kinds == {"text/plain; charset=utf-8": 3, "application/json": 3, "application/pdf": 3}
    for key, body, content_type in docs:
        assert key.startswith("claims/CLM-")
        if key.endswith(".txt"):
            assert "SINISTRO" in body.decode("utf-8")
        elif key.endswith(".json"):
            assert json.loads(body)["claim_id"] in key
        else:
            assert key.endswith(".pdf") and body.startswith(b"%PDF-1.4") and body.rstrip().endswith(b"%%EOF")
            startxref = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
            assert body[startxref:].startswith(b"xref")
