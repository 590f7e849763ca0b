"""The IAM evaluator of the policy-simulation tests (security/policy_sim.py), on hand-written policies."""
from __future__ import annotations

import pytest

from security.policy_sim import Request, StackResolver, UnsupportedPolicy, evaluate, glob_match, needed

B = "arn:aws:s3:::lake-bronze"


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource, **cond):
    st = {"Sid": "S", "Effect": "Allow", "Action": action, "Resource": resource}
    if cond:
        st["Condition"] = cond
    return st


def test_glob_wildcards():
    assert glob_match("source=*/kinesis-*", "source=erp/entity=x/kinesis-1.jsonl")  # * crosses "/"
    assert glob_match("a?c", "abc") and not glob_match("a?c", "abbc")
    assert not glob_match("source=*", "landing/erp/x.csv")
    assert glob_match("s3:get*", "s3:GetObject", ignore_case=True)
    assert not glob_match("a.c", "abc")  # regex characters are literal


def test_action_resource_and_implicit_deny():
    p = policy(allow(["s3:PutObject"], f"{B}/source=*/kinesis-*"))
    assert evaluate([p], Request("s3:PutObject", f"{B}/source=erp/entity=p/ingest_date=d/kinesis-1-2.jsonl")).allowed
    assert evaluate([p], Request("S3:putobject", f"{B}/source=erp/kinesis-1")).allowed  # actions ignore case
    assert evaluate([p], Request("s3:PutObject", f"{B}/source=erp/x/backfill-1.jsonl")).effect == "ImplicitDeny"
    assert evaluate([p], Request("s3:DeleteObject", f"{B}/source=erp/kinesis-1")).effect == "ImplicitDeny"
    assert evaluate([p], Request("s3:PutObject", f"{B.upper()}/source=erp/kinesis-1")).effect == "ImplicitDeny"


def test_explicit_deny_wins():
    p = policy(allow("s3:GetObject", f"{B}/*"),
               {"Sid": "D", "Effect": "Deny", "Action": "s3:*", "Resource": f"{B}/*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    assert evaluate([p], Request("s3:GetObject", f"{B}/k", {"aws:SecureTransport": True})).allowed
    assert evaluate([p], Request("s3:GetObject", f"{B}/k", {"aws:SecureTransport": False})).effect == "Deny"
    # The key missing: Bool is a positive operator, the deny does not apply.
    assert evaluate([p], Request("s3:GetObject", f"{B}/k")).allowed


def test_string_like_prefix_condition():
    p = policy(allow("s3:ListBucket", B, StringLike={"s3:prefix": "source=*/entity=*/ingest_date=*/kinesis-*"}))
    ok = "source=erp/entity=policy/ingest_date=2026-12-02/kinesis-shardId-000000000000-"
    assert evaluate([p], Request("s3:ListBucket", B, {"s3:prefix": ok})).allowed
    assert not evaluate([p], Request("s3:ListBucket", B, {"s3:prefix": "landing/erp/"})).allowed
    assert not evaluate([p], Request("s3:ListBucket", B, {"s3:prefix": "source=erp/"})).allowed
    assert not evaluate([p], Request("s3:ListBucket", B)).allowed  # no prefix: the whole bucket


def test_string_equals_values_are_ored_and_keys_anded():
    p = policy(allow("kms:Decrypt", "*", StringEquals={"kms:ViaService": ["s3.x.amazonaws.com", "glue.x.amazonaws.com"],
                                                       "kms:CallerAccount": "1"}))
    assert evaluate([p], Request("kms:Decrypt", "k", {"kms:ViaService": "glue.x.amazonaws.com",
                                                      "kms:CallerAccount": "1"})).allowed
    assert not evaluate([p], Request("kms:Decrypt", "k", {"kms:ViaService": "glue.x.amazonaws.com",
                                                          "kms:CallerAccount": "2"})).allowed
    assert not evaluate([p], Request("kms:Decrypt", "k", {"kms:ViaService": "sqs.x.amazonaws.com",
                                                          "kms:CallerAccount": "1"})).allowed


def test_negated_ifexists_null_and_set_operators():
    neg = policy(allow("s3:GetObject", "*", StringNotEquals={"aws:SourceVpc": "vpc-1"}))
    assert evaluate([neg], Request("s3:GetObject", "x")).allowed  # missing key satisfies a negated operator
    assert not evaluate([neg], Request("s3:GetObject", "x", {"aws:SourceVpc": "vpc-1"})).allowed
    ifexists = policy(allow("s3:GetObject", "*", StringEqualsIfExists={"aws:SourceVpc": "vpc-1"}))
    assert evaluate([ifexists], Request("s3:GetObject", "x")).allowed
    assert not evaluate([ifexists], Request("s3:GetObject", "x", {"aws:SourceVpc": "vpc-2"})).allowed
    null = policy(allow("s3:GetObject", "*", Null={"aws:SourceVpc": "true"}))
    assert evaluate([null], Request("s3:GetObject", "x")).allowed
    assert not evaluate([null], Request("s3:GetObject", "x", {"aws:SourceVpc": "vpc-1"})).allowed
    anyv = policy(allow("s3:GetObject", "*", **{"ForAnyValue:StringLike": {"aws:TagKeys": "team*"}}))
    assert evaluate([anyv], Request("s3:GetObject", "x", {"aws:TagKeys": ["a", "team-x"]})).allowed
    allv = policy(allow("s3:GetObject", "*", **{"ForAllValues:StringLike": {"aws:TagKeys": "team*"}}))
    assert not evaluate([allv], Request("s3:GetObject", "x", {"aws:TagKeys": ["a", "team-x"]})).allowed


def test_arn_like_matches_field_by_field():
    p = policy(allow("kms:Decrypt", "*", ArnLike={"aws:PrincipalArn": "arn:aws:iam::111122223333:role/lf-glue-*"}))
    assert evaluate([p], Request("kms:Decrypt", "k", {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/lf-glue-x"})).allowed
    assert not evaluate([p], Request("kms:Decrypt", "k", {"aws:PrincipalArn": "arn:aws:iam::999999999999:role/lf-glue-x"})).allowed


def test_bool_grant_condition_and_principals():
    key_policy = policy({"Sid": "Grants", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                         "Action": "kms:CreateGrant", "Resource": "*",
                         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}})
    role = "arn:aws:iam::111122223333:role/r"
    assert evaluate([key_policy], Request("kms:CreateGrant", "k", {"kms:GrantIsForAWSResource": True}, role)).allowed
    assert not evaluate([key_policy], Request("kms:CreateGrant", "k", {"kms:GrantIsForAWSResource": False}, role)).allowed
    assert not evaluate([key_policy], Request("kms:CreateGrant", "k", {}, role)).allowed
    other = "arn:aws:iam::999999999999:role/r"
    assert not evaluate([key_policy], Request("kms:CreateGrant", "k", {"kms:GrantIsForAWSResource": True}, other)).allowed


def test_policy_variables_in_conditions_come_from_the_request():
    """``${aws:userid}`` (as AWS's AmazonRedshiftDataFullAccess scopes the Data API's follow-up calls)."""
    p = policy(allow("redshift-data:DescribeStatement", "*",
                     StringEquals={"redshift-data:statement-owner-iam-userid": "${aws:userid}"}))
    me = "AROAEXAMPLE:session"
    assert evaluate([p], Request("redshift-data:DescribeStatement", "*",
                                 {"redshift-data:statement-owner-iam-userid": me, "aws:userid": me})).allowed
    assert not evaluate([p], Request("redshift-data:DescribeStatement", "*",
                                     {"redshift-data:statement-owner-iam-userid": "AROAOTHER:x",
                                      "aws:userid": me})).allowed
    # the variable's key missing from the request: the value matches nothing (not the literal text)
    assert not evaluate([p], Request("redshift-data:DescribeStatement", "*",
                                     {"redshift-data:statement-owner-iam-userid": "${aws:userid}"})).allowed
    literal = policy(allow("s3:ListBucket", B, StringLike={"s3:prefix": "a${*}b*"}))
    with pytest.raises(UnsupportedPolicy, match="literal"):
        evaluate([literal], Request("s3:ListBucket", B, {"s3:prefix": "a*bc"}))


def test_resolver_knows_the_redshift_attributes_policies_and_job_arguments_use():
    doc = {"provider": {"aws": [{"region": "sa-east-1"}]},
           "resource": {"aws_redshiftserverless_workgroup": {"w": {"workgroup_name": "lf-dev"}},
                        "aws_redshiftserverless_namespace": {"n": {"namespace_name": "lf-dev",
                                                                   "admin_username": "admin"}},
                        "aws_redshift_cluster": {"c": {"cluster_identifier": "lf-prod", "master_username": "admin"}}}}
    r = StackResolver(doc, account="123456789012")
    assert r.resolve("${aws_redshiftserverless_workgroup.w.workgroup_name}") == "lf-dev"
    assert r.resolve("${aws_redshiftserverless_workgroup.w.arn}").startswith(
        "arn:aws:redshift-serverless:sa-east-1:123456789012:workgroup/")  # the workgroup's id, not its name
    assert r.resolve("${aws_redshiftserverless_namespace.n.admin_password_secret_arn}") == (
        "arn:aws:secretsmanager:sa-east-1:123456789012:secret:redshift!lf-dev-admin-AbC123")
    assert r.resolve("${aws_redshift_cluster.c.arn}") == "arn:aws:redshift:sa-east-1:123456789012:cluster:lf-prod"


def test_unknown_operator_is_an_error_not_a_pass():
    p = policy(allow("s3:GetObject", "*", DateGreaterThan={"aws:CurrentTime": "2020-01-01T00:00:00Z"}))
    with pytest.raises(UnsupportedPolicy, match="DateGreaterThan"):
        evaluate([p], Request("s3:GetObject", "x", {"aws:CurrentTime": "2026-01-01T00:00:00Z"}))


def test_needed_maps_each_statement_action_to_the_calls_it_allows():
    p = policy({"Sid": "W", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": f"{B}/*"})
    calls = [Request("s3:PutObject", f"{B}/a")]
    assert needed([p], calls) == {("W", "s3:PutObject"): calls, ("W", "s3:DeleteObject"): []}


def test_resolver_turns_references_into_arns():
    doc = {"provider": {"aws": [{"region": "sa-east-1"}]},
           "resource": {"aws_s3_bucket": {"b": {"bucket": "lf-bronze-${data.aws_caller_identity.caller.account_id}",
                                                "//": {"metadata": {"path": "s/lake/bronze"}}}},
                        "aws_iam_role": {"r": {"name": "lf-role"}}}}
    r = StackResolver(doc, account="123456789012")
    assert r.resolve("${aws_s3_bucket.b.arn}/source=*") == "arn:aws:s3:::lf-bronze-123456789012/source=*"
    assert r.resolve("arn:${data.aws_partition.partition.partition}:x") == "arn:aws:x"
    assert r.resolve("${aws_iam_role.r.arn}") == "arn:aws:iam::123456789012:role/lf-role"
    # $${...} is Terraform's escape for a literal ${...} (partition projection templates)
    assert r.resolve("s3://${aws_s3_bucket.b.bucket}/t/month=$${month}") == "s3://lf-bronze-123456789012/t/month=${month}"
    with pytest.raises(UnsupportedPolicy):
        r.resolve("${aws_s3_bucket.missing.arn}")
