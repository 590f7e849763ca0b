"""Least-privilege IAM policy documents, shared by every construct.

Policies are built as plain Python data and serialized with :func:`json.dumps` (deterministic, sorted
statement keys). This deliberately avoids passing nested dicts through the jsii struct layer, which
silently drops multi-word keys; cdktf tokens (``${aws_s3_bucket.x.arn}``) inside the strings are
resolved at synth time as usual.

Guard rails (raised as :class:`PolicyError` while building, i.e. at synth):

* an ``Allow`` statement may not use the action ``*`` (or ``<service>:*`` unless it is a resource
  policy whose principal is the account itself, e.g. the KMS key administrators);
* an identity-policy ``Allow`` may use resource ``*`` only with actions that AWS defines without a
  resource type (see :data:`RESOURCELESS_ACTIONS`, e.g. X-Ray ``PutTraceSegments``).

Standalone module: no cdktf import, so it is cheap and usable by tests that inspect synthesized JSON
(:func:`find_violations`).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

POLICY_VERSION = "2012-10-17"

RESOURCELESS_ACTIONS: frozenset[str] = frozenset({
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "cloudwatch:PutMetricData",  # scope it with a cloudwatch:namespace condition
})
"""Actions that support no resource-level scoping, so ``Resource: "*"`` is the only valid form."""


class PolicyError(ValueError):
    """A policy statement breaks the least-privilege rules."""


@dataclass(frozen=True)
class Condition:
    """One IAM condition: ``{test: {variable: values}}``."""

    test: str
    """Operator, e.g. ``StringEquals``, ``ArnLike``, ``Bool``."""

    variable: str
    """Condition key, e.g. ``aws:SecureTransport``."""

    values: tuple[str, ...]
    """Values (one value is emitted as a scalar)."""


@dataclass(frozen=True)
class Statement:
    """One IAM policy statement."""

    actions: tuple[str, ...]
    """Actions, e.g. ``("s3:PutObject",)``. Never ``*``."""

    resources: tuple[str, ...]
    """Resource ARNs (tokens allowed). ``*`` only for :data:`RESOURCELESS_ACTIONS` or in resource
    policies, where it means "this resource"."""

    sid: str = ""
    """Statement id (alphanumeric)."""

    effect: str = "Allow"
    """``Allow`` or ``Deny``."""

    principals: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Resource policies only: ``{"AWS": (...)}`` / ``{"Service": (...)}``; ``{"*": ()}`` means
    ``Principal: "*"`` (allowed for ``Deny`` statements only)."""

    conditions: tuple[Condition, ...] = ()
    """Conditions, combined with AND."""


def _scalar_or_list(values: Sequence[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def _check(st: Statement, resource_policy: bool) -> None:
    if st.effect not in ("Allow", "Deny"):
        raise PolicyError(f"{st.sid or st.actions}: effect must be Allow or Deny")
    if not st.actions or not st.resources:
        raise PolicyError(f"{st.sid or st.actions}: a statement needs actions and resources")
    if st.effect == "Deny":
        return
    if "*" in st.actions:
        raise PolicyError(f"{st.sid}: Allow with action '*' is forbidden")
    if "*" in st.principals:
        raise PolicyError(f"{st.sid}: Allow to Principal '*' is forbidden")
    wildcard_service = [a for a in st.actions if a.endswith(":*")]
    if wildcard_service and not resource_policy:
        raise PolicyError(f"{st.sid}: service-wide wildcard actions {wildcard_service} in an identity policy")
    if "*" in st.resources and not resource_policy:
        scoped = [a for a in st.actions if a not in RESOURCELESS_ACTIONS]
        if scoped:
            raise PolicyError(f"{st.sid}: actions {scoped} support resource-level scoping; name the ARNs instead of '*'")


def statement_to_dict(st: Statement) -> dict[str, Any]:
    """The JSON form of one statement."""
    out: dict[str, Any] = {}
    if st.sid:
        out["Sid"] = st.sid
    out["Effect"] = st.effect
    if st.principals:
        if "*" in st.principals:
            out["Principal"] = "*"
        else:
            out["Principal"] = {k: _scalar_or_list(v) for k, v in st.principals.items()}
    out["Action"] = _scalar_or_list(st.actions)
    out["Resource"] = _scalar_or_list(st.resources)
    if st.conditions:
        cond: dict[str, dict[str, Any]] = {}
        for c in st.conditions:
            cond.setdefault(c.test, {})[c.variable] = _scalar_or_list(c.values)
        out["Condition"] = cond
    return out


def policy_document(statements: Iterable[Statement], *, resource_policy: bool = False) -> str:
    """Serialize statements into a policy JSON string, enforcing the least-privilege rules.

    ``resource_policy=True`` for bucket/key/queue policies: principals are required there and
    ``Resource: "*"`` (meaning the resource itself, as in key policies) is accepted.
    """
    stmts = list(statements)
    if not stmts:
        raise PolicyError("a policy needs at least one statement")
    for st in stmts:
        _check(st, resource_policy)
        if resource_policy and not st.principals:
            raise PolicyError(f"{st.sid}: a resource policy statement needs a principal")
        if not resource_policy and st.principals:
            raise PolicyError(f"{st.sid}: an identity policy statement cannot name principals")
    return json.dumps({"Version": POLICY_VERSION, "Statement": [statement_to_dict(s) for s in stmts]},
                      separators=(",", ":"))


def assume_role_policy(service: str, *, source_account: str | None = None, source_arn: str | None = None) -> str:
    """Trust policy letting one AWS service (e.g. ``lambda.amazonaws.com``) assume a role, optionally only on
    behalf of this account (``aws:SourceAccount``) and of matching resources (``aws:SourceArn``, ``ArnLike``)."""
    conditions: tuple[Condition, ...] = ()
    if source_account:
        conditions += (Condition("StringEquals", "aws:SourceAccount", (source_account,)),)
    if source_arn:
        conditions += (Condition("ArnLike", "aws:SourceArn", (source_arn,)),)
    doc = {
        "Version": POLICY_VERSION,
        "Statement": [statement_to_dict(Statement(
            sid="AllowServiceAssumeRole", actions=("sts:AssumeRole",), resources=("*",),
            principals={"Service": (service,)}, conditions=conditions,
        ))],
    }
    # A trust policy has no Resource element.
    del doc["Statement"][0]["Resource"]
    return json.dumps(doc, separators=(",", ":"))


def deny_insecure_transport(resources: Sequence[str], *, sid: str = "DenyInsecureTransport",
                            actions: Sequence[str] = ("s3:*",)) -> Statement:
    """Resource-policy statement denying every request not made over TLS (aws:SecureTransport=false)."""
    return Statement(
        sid=sid, effect="Deny", principals={"*": ()}, actions=tuple(actions), resources=tuple(resources),
        conditions=(Condition("Bool", "aws:SecureTransport", ("false",)),),
    )


@dataclass(frozen=True)
class S3Access:
    """One S3 grant for an identity policy: objects below ``prefixes`` of one bucket.

    Object actions are limited to the prefixes; ``s3:ListBucket``/``s3:GetBucketLocation`` are granted
    on the bucket without a prefix condition, because Spark's S3 connectors probe parent "directories"
    (listing object names reveals no content)."""

    sid: str
    """Statement id (alphanumeric), e.g. ``ReadBronze``."""

    bucket_arn: str
    """Bucket ARN (token allowed)."""

    prefixes: tuple[str, ...] = ()
    """Key prefixes such as ``state/bronze_to_silver/``; empty = every object of the bucket."""

    read: bool = True
    """``s3:GetObject``."""

    write: bool = False
    """``s3:PutObject`` + ``s3:AbortMultipartUpload``."""

    delete: bool = False
    """``s3:DeleteObject`` (Spark overwrites and commit protocols delete their temporary files)."""


def s3_statements(accesses: Iterable[S3Access]) -> list[Statement]:
    """Least-privilege statements for :class:`S3Access` grants (object actions on ``<bucket>/<prefix>*``)."""
    out: list[Statement] = []
    buckets: list[str] = []
    for a in accesses:
        actions = (("s3:GetObject",) if a.read else ()) + (
            ("s3:PutObject", "s3:AbortMultipartUpload") if a.write else ()) + (
            ("s3:DeleteObject",) if a.delete else ())
        if not actions:
            raise PolicyError(f"{a.sid}: an S3Access grants nothing")
        objects = tuple(f"{a.bucket_arn}/{p}*" for p in a.prefixes) or (f"{a.bucket_arn}/*",)
        out.append(Statement(sid=a.sid, actions=actions, resources=objects))
        if a.bucket_arn not in buckets:
            buckets.append(a.bucket_arn)
    if buckets:
        out.append(Statement(sid="ListLakeBuckets", actions=("s3:GetBucketLocation", "s3:ListBucket"),
                             resources=tuple(buckets)))
    return out


def find_violations(policy: str | Mapping[str, Any]) -> list[str]:
    """Statements in a (synthesized) policy that ``Allow`` action ``*`` on resource ``*``.

    For tests over synthesized JSON: accepts the JSON string or the parsed document.
    """
    doc = json.loads(policy) if isinstance(policy, str) else policy
    stmts = doc.get("Statement", [])
    if isinstance(stmts, Mapping):
        stmts = [stmts]
    bad = []
    for st in stmts:
        if st.get("Effect") != "Allow":
            continue
        actions = st.get("Action", [])
        resources = st.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if "*" in actions and ("*" in resources or not resources):
            bad.append(st.get("Sid") or json.dumps(st))
    return bad
