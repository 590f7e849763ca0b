"""environments/*.toml and environments/config.py: strict, validated, cheap to load."""
from __future__ import annotations

import copy
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from environments import ENVIRONMENTS, ENVIRONMENTS_DIR, REQUIRED_TAGS, ConfigError, load_environment, \
    parse_environment

ROOT = Path(__file__).resolve().parents[2]


def raw(env: str) -> dict:
    return tomllib.loads((ENVIRONMENTS_DIR / f"{env}.toml").read_text())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_loads(env):
    cfg = load_environment(env)
    assert cfg.name == env
    assert cfg.name_prefix == f"lakeforge-{env}"
    assert cfg.stack_name == f"lakeforge-{env}"
    for tag in REQUIRED_TAGS:
        assert cfg.tags[tag]
    assert cfg.tags["ManagedBy"] == "terraform"
    assert cfg.tags["Environment"] == env


def test_local_specifics():
    cfg = load_environment("local")
    assert cfg.region == "us-east-1"
    assert cfg.endpoint == "http://127.0.0.1:4566"
    assert cfg.force_destroy is True
    assert cfg.backend.type == "local" and cfg.backend.path.endswith("local.tfstate")
    assert cfg.lambda_.architecture == "x86_64"
    s = cfg.services
    assert s.s3_lake and s.kms and s.kinesis and s.ingest_lambda
    assert not s.emr


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_cloud_specifics(env):
    cfg = load_environment(env)
    assert cfg.region == "sa-east-1"
    assert cfg.endpoint == ""
    assert cfg.force_destroy is False
    b = cfg.backend
    assert b.type == "s3" and b.bucket and b.key and b.region and b.encrypt
    assert b.use_lockfile or b.dynamodb_table
    s = cfg.services
    assert all([s.s3_lake, s.kms, s.kinesis, s.ingest_lambda, s.emr])


@pytest.mark.parametrize("switch", ["emr_serverless"])
def test_switches_of_constructs_not_built_yet_are_refused(switch):
    assert_config_rejected(lambda d: d["services"].update({switch: True}),
                           f"services.{switch}: ")
    assert_config_rejected(lambda d: d["services"].update({switch: False}), "has no construct yet")


def test_the_warehouse_needs_the_network_and_neither_runs_locally():
    assert_config_rejected(lambda d: d["services"].update({"network": False}),
                           "services.redshift: needs s3_lake and network")
    for switch in ("network", "redshift"):
        assert_config_rejected(lambda d: d["services"].update({"network": True, "redshift": True}),
                               f"services.{switch}: ", env="local")


def test_quicksight_needs_the_warehouse_never_runs_locally_and_takes_only_quicksight_arns():
    assert_config_rejected(lambda d: d["services"].update({"redshift": False}),
                           "services.quicksight: needs redshift, athena and glue_catalog")
    assert_config_rejected(lambda d: d["services"].update({"quicksight": True}), "services.quicksight: ", env="local")
    assert_config_rejected(lambda d: d.setdefault("quicksight", {}).update({"owner_arns": ["arn:aws:iam::1:user/x"]}),
                           "quicksight.owner_arns")
    assert_config_rejected(lambda d: d["quicksight"].update({"redshift_secret_arn": "my-secret"}),
                           "quicksight.redshift_secret_arn")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_lifecycle_bronze_transitions(env):
    bronze = load_environment(env).lifecycle.bronze
    assert bronze.standard_ia_days >= 30
    assert bronze.glacier_days >= bronze.standard_ia_days + 30
    assert load_environment(env).lifecycle.athena_results.expiration_days > 0


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(surprise=1), "unknown key(s) surprise"),
    (lambda d: d["lambda"].update(memroy_mb=128), "lambda: unknown key(s) memroy_mb"),
    (lambda d: d["lambda"].update(memory_mb="512"), "lambda.memory_mb: expected int, got str"),
    (lambda d: d["kinesis"].update(capacity_mode="AUTO"), "kinesis.capacity_mode"),
    (lambda d: d.update(force_destroy=True), "force_destroy: only allowed in local"),
    (lambda d: d.update(endpoint="http://127.0.0.1:4566"), "endpoint: only the local environment"),
    (lambda d: d["tags"].pop("CostCenter"), "tags: missing or empty ['CostCenter']"),
    (lambda d: d["tags"].update(ManagedBy="hand"), "tags.ManagedBy"),
    (lambda d: d["backend"].update(use_lockfile=False), "dynamodb_table or use_lockfile"),
    (lambda d: d["lifecycle"]["bronze"].update(standard_ia_days=10), "standard_ia_days: 0 or >= 30"),
    (lambda d: d["lifecycle"]["bronze"].update(glacier_days=40), "glacier_days: must be >= standard_ia_days + 30"),
    (lambda d: d.update(log_retention_days=42), "not a CloudWatch Logs retention value"),
    (lambda d: d["services"].update(kinesis=False), "services.ingest_lambda: needs s3_lake and kinesis"),
    (lambda d: d.pop("region"), "region: required key missing"),
    (lambda d: d.update(name_prefix="x" * 50), "name_prefix"),
    (lambda d: d["glue"].update(worker_type="G.4X"), "glue.execution_class: FLEX needs worker_type G.1X or G.2X"),
    # Unbounded retries: a poison record would block its shard (the event source's own limits).
    (lambda d: d["lambda"].update(max_retry_attempts=-1), "lambda.max_retry_attempts: 0-10000 (got -1)"),
    (lambda d: d["lambda"].update(max_record_age_seconds=-1), "lambda.max_record_age_seconds: 60-604800 s (got -1)"),
    # Across constructs: the event source against the stream and the function.
    (lambda d: d["lambda"].update(max_record_age_seconds=86401),
     "lambda.max_record_age_seconds: 86401 s is longer than the stream keeps records (kinesis.retention_hours = 24"),
    (lambda d: d["kinesis"].update(retention_hours=48) or d["lambda"].update(max_record_age_seconds=48 * 3600 + 1),
     "is longer than the stream keeps records (kinesis.retention_hours = 48, 172800 s)"),
    (lambda d: d["lambda"].update(batching_window_seconds=61),
     "lambda.batching_window_seconds: 61 s is longer than the function timeout (lambda.timeout_seconds = 60 s)"),
    (lambda d: d["lambda"].pop("timeout_seconds") and d["lambda"].update(batching_window_seconds=61),
     "lambda.batching_window_seconds: 61 s is longer than the function timeout (lambda.timeout_seconds = 60 s)"),
    # Raw layers keep personal data in the clear: they must expire.
    (lambda d: d["lifecycle"]["bronze"].pop("expiration_days"),
     "lifecycle.bronze.expiration_days: bronze keeps raw payloads with personal data in the clear"),
    (lambda d: d["lifecycle"]["quarantine"].update(expiration_days=0),
     "lifecycle.quarantine.expiration_days: quarantine keeps raw payloads"),
    # Concurrent batches of one shard would break the ingest's exactly-once rule.
    (lambda d: d["lambda"].update(parallelization_factor=2),
     "lambda.parallelization_factor: 2, but the ingest stores each record once only with one batch per shard"),
])
def test_invalid_configs_are_rejected(mutate, message):
    assert_config_rejected(mutate, message)


def test_event_source_bounds_at_their_limits_are_accepted():
    data = copy.deepcopy(raw("dev"))
    data["lambda"].update(max_retry_attempts=0, max_record_age_seconds=24 * 3600, batching_window_seconds=60,
                          timeout_seconds=60)
    cfg = parse_environment(data, source="dev.toml", expected_name="dev")
    assert (cfg.lambda_.max_retry_attempts, cfg.lambda_.max_record_age_seconds) == (0, 86400)


def test_left_out_retry_settings_are_bounded():
    """A file without the retry settings gets the event source's bounded defaults (never Lambda's -1)."""
    data = copy.deepcopy(raw("dev"))
    for key in ("max_retry_attempts", "max_record_age_seconds"):
        data["lambda"].pop(key)
    lam = parse_environment(data, source="dev.toml", expected_name="dev").lambda_
    assert 0 <= lam.max_retry_attempts <= 10000 and 60 <= lam.max_record_age_seconds <= 86400


def test_prevent_destroy_only_in_prod():
    assert {env: load_environment(env).prevent_destroy for env in ENVIRONMENTS} == \
        {"local": False, "dev": False, "prod": True}


def assert_config_rejected(mutate, message: str, env: str = "dev") -> None:
    """``<env>.toml`` (dev by default) changed by ``mutate`` is refused with an error that contains ``message``."""
    data = copy.deepcopy(raw(env))
    mutate(data)
    with pytest.raises(ConfigError) as err:
        parse_environment(data, source=f"{env}.toml", expected_name=env)
    assert message in str(err.value)


def test_file_name_must_match(tmp_path):
    (tmp_path / "dev.toml").write_text((ENVIRONMENTS_DIR / "prod.toml").read_text())
    with pytest.raises(ConfigError, match="does not match the file name"):
        load_environment("dev", tmp_path)


def test_config_module_does_not_import_the_bindings():
    code = ("import sys, modules, environments as e; e.load_environment('dev'); "
            "bad = [m for m in sys.modules if m.startswith(('cdktf', 'constructs', 'jsii'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_msk_needs_the_network_never_runs_locally_and_spreads_its_brokers():
    assert_config_rejected(lambda d: d["services"].update({"network": False, "redshift": False}),
                           "services.msk: needs s3_lake and network")
    assert_config_rejected(lambda d: d["services"].update({"msk": True}), "services.msk: no emulator", env="local")
    assert_config_rejected(lambda d: d["msk"].update(broker_count=4),
                           "msk.broker_count: 4 brokers do not spread evenly over the network's 3 zones")
    assert_config_rejected(lambda d: d["msk"].update(batching_window_seconds=61),
                           "msk.batching_window_seconds: 61 s is longer than the function timeout")
    assert_config_rejected(lambda d: d["msk"].update(enhanced_monitoring="EVERYTHING"), "msk.enhanced_monitoring")
    assert_config_rejected(lambda d: d["msk"].update(consumer_group_id="bad group"), "msk.consumer_group_id")
    assert_config_rejected(lambda d: d["msk"].update(ingest_topic="x"), "msk: unknown key(s) ingest_topic")
    serverless = copy.deepcopy(raw("dev"))
    serverless["msk"].update(deployment="serverless", broker_count=4)  # brokers are not sized in serverless
    assert parse_environment(serverless, source="dev.toml", expected_name="dev").msk.deployment == "serverless"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_msk_is_on_in_the_cloud_and_smaller_in_dev(env):
    cfg = load_environment(env)
    assert cfg.services.msk and cfg.msk.deployment == "provisioned"
    assert load_environment("dev").msk.broker_count < load_environment("prod").msk.broker_count
    assert not load_environment("local").services.msk
