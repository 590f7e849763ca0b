"""Policy simulation: every role of every synthesized stack against the calls its component makes.

The emulator does not enforce IAM, so a missing grant would only show on AWS and an excess grant never.
Here each role's synthesized policies are evaluated (security/policy_sim.py) against the calls its
component makes (tests/synth/iam_calls.py, derived from the layout, the job contracts and arguments and
the synthesized configuration):

* missing grant: a call the component makes is not allowed;
* excess grant: a statement (for S3, each action of a statement) allows none of the calls;
* too wide: a call the component must never make (e.g. the ingest function writing the landing zone or
  deleting) is allowed;
* the KMS key policy lets each role make its KMS calls, and grants only for AWS resources.

And the ingest function's calls, recorded from its real code running against the emulator (a botocore
``before-parameter-build`` hook: operation, bucket, key or prefix), are all allowed by its synthesized
policy and all of a declared kind. The Spark jobs' calls are not recorded yet (their S3 traffic is s3a's,
from the JVM); their declared I/O is :data:`tests.synth.iam_calls.JOB_IO`.
"""
from __future__ import annotations

from collections import defaultdict

import pytest

from security.policy_sim import (
    EXTERNAL_ROLE, Request, StackResolver, evaluate, needed, s3_bucket_arn, s3_object_arn,
)
from tests.synth import iam_calls
from tests.synth.iam_calls import KNOWN_GAPS, known_gap

ENVS = ("local", "dev", "prod")

@pytest.fixture(scope="module")
def stacks(synth):
    out = {}
    for env in ENVS:
        r = StackResolver(synth.docs[env])
        names = {res["//"]["metadata"]["path"]: name for name, res in synth.docs[env]["resource"]["aws_iam_role"].items()}
        policies = r.role_policies()
        by_role = {}
        for path, name in names.items():
            suffix = "/" + path.split("/", 1)[1]
            by_role[suffix] = policies.get(name, [])
        by_role.update({key: found for key, found in policies.items() if key.startswith(EXTERNAL_ROLE)})
        out[env] = (r, by_role, iam_calls.stack_calls(r))
    return out


def _missing(stacks, env):
    r, policies, calls = stacks[env]
    missing = defaultdict(list)
    for role, reqs in calls.allowed.items():
        for req in reqs:
            if not evaluate(policies[role], req).allowed:
                missing[role].append(req)
    return missing


@pytest.mark.parametrize("env", ENVS)
def test_every_role_is_simulated(stacks, env):
    _, policies, calls = stacks[env]
    assert set(policies) == set(calls.allowed), "a role without declared calls (add them to tests/synth/iam_calls.py)"
    expected = {iam_calls.INGEST_ROLE, iam_calls.CRAWLER_ROLE, iam_calls.QUERY_ROLE,
                iam_calls.MSK_INGEST_ROLE,  # [services] msk (dev, prod), msk_ingest_lambda (local)
                *(iam_calls.glue_role(j) for j in iam_calls.JOB_IO)}
    if env == "local":
        expected.add(iam_calls.AUTHORIZER_ROLE)  # [api] authorization = "LAMBDA" locally
    else:
        expected |= {iam_calls.EMR_INSTANCE_ROLE, iam_calls.EMR_SERVICE_ROLE, iam_calls.FLOW_LOG_ROLE,
                     iam_calls.COPY_ROLE, iam_calls.QUICKSIGHT_VPC_ROLE, iam_calls.QUICKSIGHT_SERVICE_ROLE,
                     iam_calls.KAFKA_TOPICS_ROLE}
    assert set(policies) == expected
    assert all(policies[role] for role in policies), "a role without an inline policy"


@pytest.mark.parametrize("env", ENVS)
def test_only_the_emr_service_role_has_a_managed_policy(stacks, env):
    r, _, _ = stacks[env]
    attached = {name: r.managed_policy_arns(name) for name in r.doc["resource"]["aws_iam_role"]}
    attached = {name: arns for name, arns in attached.items() if arns}
    # AWS's own policy, scoped by the EMR-managed tag (not evaluated here: its text is AWS's).
    expected = {} if env == "local" else {
        next(n for n in attached): ["arn:aws:iam::aws:policy/service-role/AmazonEMRServicePolicy_v2"]}
    assert attached == expected
    if expected:
        assert next(iter(attached)).startswith("emr_service_role")


@pytest.mark.parametrize("env", ENVS)
def test_every_call_is_allowed(stacks, env):
    problems = [f"{role}: {req}" for role, reqs in _missing(stacks, env).items() for req in reqs if not known_gap(role, req)]
    assert not problems, "missing grants:\n" + "\n".join(problems)


@pytest.mark.parametrize("env", ENVS)
def test_known_gaps_are_still_open(stacks, env):
    missing = _missing(stacks, env)
    for (role, action, glob), reason in KNOWN_GAPS.items():
        hits = [req for req in missing.get(role, []) if known_gap(role, req) == glob]
        assert hits, f"fixed? remove it from KNOWN_GAPS: {role} {action} {glob}: {reason}"


@pytest.mark.parametrize("env", ENVS)
def test_every_grant_is_needed(stacks, env):
    """Each statement allows at least one call; each S3 action of a statement too."""
    _, policies, calls = stacks[env]
    excess = []
    for role, docs in policies.items():
        uses = needed(docs, calls.allowed[role])
        by_sid = defaultdict(list)
        for (sid, action), reqs in uses.items():
            by_sid[sid].append((action, reqs))
        for sid, actions in by_sid.items():
            if not any(reqs for _, reqs in actions):
                excess.append(f"{role}: statement {sid} allows none of the component's calls")
            excess += [f"{role}: {sid} grants {action}, which no call needs"
                       for action, reqs in actions if action.startswith("s3:") and not reqs]
    assert not excess, "\n".join(excess)


@pytest.mark.parametrize("env", ENVS)
def test_forbidden_calls_are_denied(stacks, env):
    _, policies, calls = stacks[env]
    assert calls.denied.get(iam_calls.INGEST_ROLE)
    wide = [f"{role}: {req}" for role, reqs in calls.denied.items() for req in reqs
            if evaluate(policies[role], req).allowed]
    assert not wide, "grants wider than needed:\n" + "\n".join(wide)


def _key(r) -> tuple[str, dict]:
    """(ARN, policy) of the stack's one KMS key."""
    ((name, key),) = r.doc["resource"]["aws_kms_key"].items()
    return r.attribute("aws_kms_key", name, "arn"), r.policy(key["policy"])


@pytest.mark.parametrize("env", ENVS)
def test_key_policy_allows_each_role_its_kms_calls(stacks, env):
    r, _, calls = stacks[env]
    _, key_policy = _key(r)
    assert calls.key_calls
    refused = [str(req) for req in calls.key_calls if not evaluate([key_policy], req).allowed]
    assert not refused, "the key policy refuses:\n" + "\n".join(refused)


@pytest.mark.parametrize("env", ENVS)
def test_key_policy_creates_grants_only_for_aws_resources(stacks, env):
    r, _, _ = stacks[env]
    key_arn, key_policy = _key(r)
    admin = f"arn:aws:iam::{r.account}:role/administrator"
    for flag, allowed in ((True, True), (False, False), (None, False)):
        ctx = {"kms:CallerAccount": r.account} | ({} if flag is None else {"kms:GrantIsForAWSResource": flag})
        decision = evaluate([key_policy], Request("kms:CreateGrant", key_arn, ctx, principal=admin))
        assert decision.allowed is allowed, (flag, decision)
        if allowed:
            assert decision.sids == ("AllowGrantsForAwsResources",)


# --- the ingest function's calls, recorded from its code running against the emulator --------------------

S3_ACTIONS = {
    "PutObject": "s3:PutObject", "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject", "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "DeleteObject": "s3:DeleteObject",
    "DeleteObjects": "s3:DeleteObject", "ListObjectsV2": "s3:ListBucket", "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
}
"""S3 API operation -> the IAM action it is authorized as."""


def as_request(operation: str, params: dict) -> list[Request]:
    if operation not in S3_ACTIONS:
        raise AssertionError(f"unexpected S3 operation {operation} (map it to its IAM action)")
    action, bucket = S3_ACTIONS[operation], params["Bucket"]
    if action == "s3:ListBucket":
        ctx = {"s3:prefix": params["Prefix"]} if params.get("Prefix") is not None else {}
        return [Request(action, s3_bucket_arn(bucket), ctx, why=f"recorded {operation}")]
    keys = [o["Key"] for o in params["Delete"]["Objects"]] if operation == "DeleteObjects" else [params["Key"]]
    return [Request(action, s3_object_arn(bucket, k), why=f"recorded {operation}") for k in keys]


def test_recorded_ingest_calls_are_allowed_and_declared(stacks, emulator, monkeypatch):
    from lambda_src.ingest import app
    from local_runtime.aws import client
    from sample_data import generate, to_kinesis_event

    r, policies, calls = stacks["local"]
    bronze = r.attribute("aws_s3_bucket", r.by_path("aws_s3_bucket", "/lake/bronze")[0], "bucket")
    quarantine = r.attribute("aws_s3_bucket", r.by_path("aws_s3_bucket", "/lake/quarantine")[0], "bucket")
    monkeypatch.setenv("BRONZE_BUCKET", bronze)
    monkeypatch.setenv("QUARANTINE_BUCKET", quarantine)
    s3 = client("s3", emulator.endpoint)
    for name in (bronze, quarantine):
        s3.create_bucket(Bucket=name)
    recorded: list[tuple[str, dict]] = []
    s3.meta.events.register("before-parameter-build.s3.*",
                            lambda model, params, **_: recorded.append((model.name, dict(params))))

    handler = app.handler_for(s3)
    records = generate(60, seed=3, bad_share=0.2)
    handler(to_kinesis_event(records[:40]), None)
    handler(to_kinesis_event(records), None)      # redelivered with more records: a different batch
    handler(to_kinesis_event(records[:40]), None)  # the first batch again

    requests = [req for op, params in recorded for req in as_request(op, params)]
    assert {req.action for req in requests} >= {"s3:PutObject"}
    assert {req.resource.split("/", 1)[0] for req in requests if req.action == "s3:PutObject"} == {
        f"arn:aws:s3:::{bronze}", f"arn:aws:s3:::{quarantine}"}
    policy = policies[iam_calls.INGEST_ROLE]
    refused = [str(req) for req in requests if not evaluate(policy, req).allowed]
    assert not refused, "the ingest function's real calls the policy refuses:\n" + "\n".join(refused)
    declared = {(req.action, req.resource.split("/", 1)[0]) for req in calls.allowed[iam_calls.INGEST_ROLE]}
    undeclared = [str(req) for req in requests if (req.action, req.resource.split("/", 1)[0]) not in declared]
    assert not undeclared, "calls missing from tests/synth/iam_calls.py:\n" + "\n".join(undeclared)
