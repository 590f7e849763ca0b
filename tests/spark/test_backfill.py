"""The EMR backfill: ERP exports -> bronze lines in the stream's format (deterministic names, numbers, ids),
and bronze->silver accepting them."""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

from pyspark.sql import functions as F

from data_contracts import emf
from data_contracts.contracts import REGISTRY
from data_contracts.metrics import RECORDS_IN, RECORDS_OUT, RUN_FAILED
from lakehouse import backfill as bf
from lakehouse import bronze_silver as bs
from sample_data import export_rows, generate, write_export

EXPORT_TIME = "2024-06-01T03:00:00Z"


def _uri(path: Path) -> str:
    return f"file://{path}"


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".crc")}


def test_number_rows_is_consecutive_in_file_order(spark, tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"line-{i:04d} {'x' * (i % 37)}\n" for i in range(1, 401)), encoding="utf-8")
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "2048")  # many scan partitions
    try:
        df = spark.read.text(_uri(path))
        assert df.rdd.getNumPartitions() > 3
        numbered, total = bf.number_rows(df)
        rows = numbered.collect()
        again, _ = bf.number_rows(spark.read.text(_uri(path)))
        assert sorted(again.collect()) == sorted(rows)
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)
    assert total == 400
    assert sorted((r["line_number"], r["value"][:9]) for r in rows) == [(i, f"line-{i:04d}") for i in range(1, 401)]


def test_event_id_column_is_uuid5(spark):
    df = spark.range(1, 6).select(F.col("id").alias("n"))
    got = [r[0] for r in df.select(bf._event_id_column("exp-1", F.col("n"))).orderBy("n").collect()]
    assert got == [bf.event_id("exp-1", n) for n in range(1, 6)]


def _read_bronze(folder: Path) -> list[dict]:
    return [json.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.read_text().splitlines()]


def test_csv_exports_become_stream_like_bronze(spark, tmp_path, capsys):
    from emr_steps.backfill_erp import main

    records = generate(500, seed=17)
    landing = tmp_path / "bronze" / "landing" / "erp"
    n_policy = write_export(records, landing / "policy" / "policy_2024-06-01.csv", "csv", entity="policy")
    n_inst = write_export(records, landing / "premium_installment" / "installments.csv", "csv",
                          entity="premium_installment")
    bronze = _uri(tmp_path / "bronze") + "/"
    assert main(["backfill_erp.py", "--input", _uri(landing / "policy") + "/", "--entity", "policy",
                 "--bronze_path", bronze, "--records_per_file", "15"]) == 0
    assert main(["backfill_erp.py", "--input", _uri(landing / "premium_installment" / "installments.csv"),
                 "--entity", "premium_installment", "--bronze_path", bronze, "--export_id", "inst-full",
                 "--export_time", EXPORT_TIME]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    said = [line for line in out if line["event"] == "export written"]
    assert [(line["export_id"], line["lines"]) for line in said] == [("policy_2024-06-01", n_policy),
                                                                      ("inst-full", n_inst)]
    summaries = [line for line in out if line["event"] == "run summary"]  # one per step run
    assert [(s["service"], s["job"]) for s in summaries] == [("backfill_erp", "backfill_erp")] * 2
    counts = [{p.name: p.value for p in emf.parse(json.dumps(s))} for s in summaries]
    assert [(c[RECORDS_IN], c[RECORDS_OUT], c[RUN_FAILED]) for c in counts] == [(n_policy, n_policy, 0),
                                                                                (n_inst, n_inst, 0)]

    policy_dir = tmp_path / "bronze" / "source=erp" / "entity=policy" / "ingest_date=2024-06-01"
    names = sorted(p.name for p in policy_dir.glob("*.jsonl"))
    assert names == [f"backfill-policy_2024-06-01-{i:05d}.jsonl" for i in range(-(-n_policy // 15))]
    lines = _read_bronze(policy_dir)
    assert len(lines) == n_policy
    expected = export_rows(records, "policy")
    for number, (line, row) in enumerate(zip(lines, expected), start=1):
        assert list(line) == ["event", "ingest"]
        event, ingest = line["event"], line["ingest"]
        assert list(event) == ["data", "entity", "event_id", "event_time", "op", "schema_version", "source"]
        assert (event["source"], event["entity"], event["op"], event["schema_version"]) == ("erp", "policy", "upsert", 1)
        assert event["event_id"] == bf.event_id("policy_2024-06-01", number)
        assert event["event_time"][:23] == row["updated_at"][:23]
        assert ingest == {"arrival_time": "2024-06-01T00:00:00.000Z", "partition_key": row["policy_id"],
                          "sequence_number": f"{number:020d}", "shard_id": "backfill-policy_2024-06-01"}
        assert event["data"]["policy_id"] == row["policy_id"]
        assert event["data"]["sum_insured"] == str(row["sum_insured"])  # CSV values travel as strings

    inst_dir = tmp_path / "bronze" / "source=erp" / "entity=premium_installment" / "ingest_date=2024-06-01"
    inst = _read_bronze(inst_dir)
    assert [p.name for p in inst_dir.glob("*.jsonl")] == ["backfill-inst-full-00000.jsonl"]
    assert len(inst) == n_inst
    assert {x["event"]["event_time"] for x in inst} == {"2024-06-01T03:00:00.000000Z"}  # no updated_at: export time
    assert {x["event"]["data"]["paid_date"] for x in inst} >= {None}                     # blank CSV cell -> null

    # a rerun rewrites the same bytes under the same names
    before = _snapshot(tmp_path / "bronze")
    assert main(["backfill_erp.py", "--input", _uri(landing / "policy") + "/", "--entity", "policy",
                 "--bronze_path", bronze, "--records_per_file", "15"]) == 0
    assert _snapshot(tmp_path / "bronze") == before
    assert not (tmp_path / "bronze" / "_tmp" / "backfill" / "erp" / "policy").exists() or not any(
        (tmp_path / "bronze" / "_tmp" / "backfill" / "erp" / "policy").iterdir())

    # bronze->silver accepts every backfilled row, typed like the stream's
    files = [_uri(p) for p in sorted(policy_dir.glob("*.jsonl"))]
    valid, quarantine = bs.conform(bs.read_bronze_lines(spark, files), REGISTRY[("erp", "policy")], "r")
    assert quarantine.count() == 0
    got = {r["policy_id"]: r for r in valid.collect()}
    assert len(got) == n_policy
    for row in expected:
        assert got[row["policy_id"]]["sum_insured"] == Decimal(str(row["sum_insured"])).quantize(Decimal("0.01"))
        assert got[row["policy_id"]]["status"] == row["status"]
    assert {r["ingest_shard_id"] for r in got.values()} == {"backfill-policy_2024-06-01"}


def test_jsonl_export_keeps_values_and_bad_lines(spark, tmp_path):
    contract = REGISTRY[("erp", "premium_installment")]
    good = {"installment_id": "INS-0000000001-01", "policy_id": "POL-0000000001", "installment_number": 1,
            "due_date": "2024-03-06", "amount": 19.01, "paid_date": None, "status": "open"}
    text = "\n".join([json.dumps(good), "{not json", "", "[1, 2]", json.dumps({**good, "installment_id": "INS-0000000001-02",
                                                                              "installment_number": 2})]) + "\n"
    path = tmp_path / "landing" / "inst_20240601.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    records, total = bf.read_export(spark, _uri(path), "jsonl", contract)
    assert total == 5
    lines = bf.bronze_lines(records, contract, "inst_20240601", EXPORT_TIME)
    written = bf.write_bronze(spark, lines, total, _uri(tmp_path / "bronze"), contract, "inst_20240601", EXPORT_TIME)
    assert [w.rsplit("/", 1)[1] for w in written] == ["backfill-inst_20240601-00000.jsonl"]
    out = [json.loads(x) for x in Path(written[0].removeprefix("file://")).read_text().splitlines()]
    assert [x["ingest"]["sequence_number"] for x in out] == [f"{n:020d}" for n in (1, 2, 4, 5)]  # physical lines
    assert out[0]["event"]["data"] == good                          # carried verbatim, numbers stay numbers
    assert out[1]["event"]["data"] == "{not json"                   # carried as a string, not lost
    assert out[2]["event"]["data"] == "[1, 2]"

    valid, quarantine = bs.conform(bs.read_bronze_lines(spark, written), contract, "r")
    assert sorted(r["installment_id"] for r in valid.collect()) == ["INS-0000000001-01", "INS-0000000001-02"]
    assert sorted(r["rule"] for r in quarantine.collect()) == ["rule_valid_envelope", "rule_valid_envelope"]


def test_csv_options_header_case_missing_column_and_encoding(spark, tmp_path):
    from emr_steps.backfill_erp import main

    header = "CUSTOMER_ID;Person_Type;document_number;NAME;birth_date;state;created_at;updated_at;extra"
    row = "cus-00000001;pf;529.982.247-25;Conceição Araújo;17/05/1980;sp;2024-03-05 14:22:31;2024-03-05 14:22:31;x"
    path = tmp_path / "landing" / "customer_2024-06-01.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes((header + "\n" + row + "\n").encode("iso-8859-1"))
    assert main(["backfill_erp.py", "--input", _uri(path), "--entity", "customer", "--bronze_path",
                 _uri(tmp_path / "bronze"), "--delimiter", ";", "--encoding", "ISO-8859-1"]) == 0
    folder = tmp_path / "bronze" / "source=erp" / "entity=customer" / "ingest_date=2024-06-01"
    (line,) = _read_bronze(folder)
    assert line["event"]["data"]["name"] == "Conceição Araújo"
    assert line["event"]["data"]["city"] is None and "extra" not in line["event"]["data"]
    assert line["event"]["event_time"] == "2024-03-05T14:22:31.000000Z"
    valid, quarantine = bs.conform(bs.read_bronze_lines(spark, [_uri(p) for p in folder.glob("*.jsonl")]),
                                   REGISTRY[("erp", "customer")], "r")
    (q,) = quarantine.collect()
    assert (q["rule"], q["error"]) == ("rule_required_field", "city is required")
