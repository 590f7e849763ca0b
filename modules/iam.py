"""Least-privilege IAM policy documents, shared by every construct.

Policies are built as plain Python data and serialized with :func:`json.dumps` (deterministic, sorted
statement keys). This deliberately avoids passing nested dicts through the jsii struct layer, which
silently drops multi-word keys; cdktf tokens (``${aws_s3_bucket.x.arn}``) inside the strings are
resolved at synth time as usual.

Guard rails (:func:`statement_violations`, one rule set): raised as :class:`PolicyError` while building
(:func:`policy_document`, :func:`assume_role_policy`, i.e. at synth) and reported by :func:`find_violations`
over synthesized JSON:

* an ``Allow`` action contains no wildcard at all: not ``*``, ``s3:*``, ``s3:Put*``, ``iam:Pass*`` nor
  ``?``; every granted action is named (``Deny`` statements may be broad);
* an ``Allow`` never goes to ``Principal: "*"``;
* an identity-policy ``Allow`` may use resource ``*`` only with actions that AWS defines without a
  resource type (see :data:`RESOURCELESS_ACTIONS`, e.g. X-Ray ``PutTraceSegments``);
* identity policies name no principal, resource and trust policies always do.

Standalone module: no cdktf import, so it is cheap and usable by tests that inspect synthesized JSON.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

POLICY_VERSION = "2012-10-17"

RESOURCELESS_ACTIONS: frozenset[str] = frozenset({
    "ec2:DescribeNetworkInterfaces",  # Lambda in a VPC and its MSK poller: EC2 look-ups take no resource
    "ec2:DescribeVpcs",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "cloudwatch:PutMetricData",  # scope it with a cloudwatch:namespace condition
    "ec2:DescribeSubnets",  # List/Describe actions of EC2 take no resource
    "ec2:DescribeSecurityGroups",
    # the Redshift Data API's follow-up calls: scope them with redshift-data:statement-owner-iam-userid
    "redshift-data:DescribeStatement",
    "redshift-data:GetStatementResult",
    "redshift-data:CancelStatement",
})
"""Actions that support no resource-level scoping, so ``Resource: "*"`` is the only valid form."""


def policy_variable(key: str) -> str:
    """An IAM policy variable (``${aws:userid}``) as a synthesized policy must hold it: ``$${...}``, Terraform's
    escape for a literal ``${`` (Terraform would otherwise read it as an interpolation); AWS receives
    ``${aws:userid}``."""
    return "$${" + key + "}"


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
    """Actions, e.g. ``("s3:PutObject",)``. In an ``Allow``, no wildcard (``*``, ``s3:Put*``, ``?``)."""

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
    doc = {"Version": POLICY_VERSION, "Statement": [statement_to_dict(s) for s in stmts]}
    problems = violations(doc, RESOURCE if resource_policy else IDENTITY)
    if problems:
        raise PolicyError("; ".join(problems))
    return json.dumps(doc, separators=(",", ":"))


def assume_role_policy(service: str | Sequence[str], *, source_account: str | None = None,
                       source_arn: str | None = None) -> str:
    """Trust policy letting an AWS service (e.g. ``lambda.amazonaws.com``; or several) assume a role, optionally only on
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
            principals={"Service": (service,) if isinstance(service, str) else tuple(service)},
            conditions=conditions,
        ))],
    }
    # A trust policy has no Resource element.
    del doc["Statement"][0]["Resource"]
    problems = violations(doc, TRUST)
    if problems:
        raise PolicyError("; ".join(problems))
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
    """``s3:PutObject`` (+ ``s3:AbortMultipartUpload`` with ``multipart``)."""

    multipart: bool = True
    """With ``write``: the writer uploads large objects in parts and aborts a failed upload
    (``s3:AbortMultipartUpload``). False for writers of small objects in one request."""

    delete: bool = False
    """``s3:DeleteObject`` (Spark overwrites and commit protocols delete their temporary files)."""


def _ancestors(prefix: str) -> list[str]:
    """``a/b/c/`` -> ``["a", "a/b", "a/b/c"]``: the "directory" paths a Hadoop S3 client probes above a key."""
    parts = [p for p in prefix.split("/") if p]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def s3_statements(accesses: Iterable[S3Access]) -> list[Statement]:
    """Least-privilege statements for :class:`S3Access` grants (object actions on ``<bucket>/<prefix>*``).

    A write below prefixes also gets ``s3:GetObject`` on the bare keys of the prefixes and their parents
    (``ProbeWritePrefixes``: ``a/b/`` -> ``a`` and ``a/b``, objects that do not exist): before creating a
    folder, Hadoop's S3A ``mkdirs`` walks up the path with a HEAD on each parent until one exists, and a
    403 there fails the write (recorded in tests/e2e/test_iam_recorded.py)."""
    out: list[Statement] = []
    buckets: list[str] = []
    accesses_list = list(accesses)
    for a in accesses_list:
        actions = (("s3:GetObject",) if a.read else ()) + (
            ("s3:PutObject",) if a.write else ()) + (
            ("s3:AbortMultipartUpload",) if a.write and a.multipart else ()) + (
            ("s3:DeleteObject",) if a.delete else ())
        if not actions:
            raise PolicyError(f"{a.sid}: an S3Access grants nothing")
        objects = tuple(f"{a.bucket_arn}/{p}*" for p in a.prefixes) or (f"{a.bucket_arn}/*",)
        out.append(Statement(sid=a.sid, actions=actions, resources=objects))
        if a.bucket_arn not in buckets:
            buckets.append(a.bucket_arn)
    probes = [f"{a.bucket_arn}/{anc}" for a in accesses_list if a.write for p in a.prefixes
              for anc in _ancestors(p)]
    if probes:
        out.append(Statement(sid="ProbeWritePrefixes", actions=("s3:GetObject",),
                             resources=tuple(dict.fromkeys(probes))))
    if buckets:
        out.append(Statement(sid="ListLakeBuckets", actions=("s3:GetBucketLocation", "s3:ListBucket"),
                             resources=tuple(buckets)))
    return out


IDENTITY, RESOURCE, TRUST = "identity", "resource", "trust"
"""Policy kinds: a role's own policy, a resource's policy (bucket, key, queue), a role's trust policy."""

WILDCARD_CHARS = ("*", "?")
"""IAM wildcards: in an ``Allow`` action either one widens the grant to actions nobody reviewed."""


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, (str, Mapping)) else list(value)


def policy_kind(doc: Mapping[str, Any]) -> str:
    """The kind of a (synthesized) policy document: :data:`TRUST` when a statement names a principal and
    no resource, :data:`RESOURCE` when one names a principal, else :data:`IDENTITY`."""
    stmts = _as_list(doc.get("Statement"))
    if any("Principal" in st or "NotPrincipal" in st for st in stmts):
        return TRUST if all("Resource" not in st and "NotResource" not in st for st in stmts) else RESOURCE
    return IDENTITY


def statement_violations(st: Mapping[str, Any], kind: str) -> list[str]:
    """The least-privilege rules, on one statement in its JSON form: the one rule set that both
    :func:`policy_document` (while building, as :class:`PolicyError`) and :func:`find_violations` (over
    synthesized JSON) apply.

    * ``Effect`` is ``Allow`` or ``Deny``; ``Action`` is present (never ``NotAction``/``NotResource``);
      ``Resource`` is present except in a trust policy, which has none;
    * an identity policy names no principal; a resource or trust policy statement names one;
    * an ``Allow`` action contains no wildcard at all (``*``, ``s3:*``, ``s3:Put*``, ``iam:Pass*``,
      ``s3:?etObject``): every granted action is spelled out. ``Deny`` statements may be broad;
    * an ``Allow`` never goes to ``Principal: "*"`` (or ``{"AWS": "*"}``);
    * an identity-policy ``Allow`` uses ``Resource: "*"`` only with :data:`RESOURCELESS_ACTIONS` (in a
      resource policy ``*`` means the resource itself).
    """
    name = st.get("Sid") or json.dumps(st, sort_keys=True)[:200]
    effect = st.get("Effect")
    if effect not in ("Allow", "Deny"):
        return [f"{name}: effect must be Allow or Deny, not {effect!r}"]
    out: list[str] = []
    for key in ("NotAction", "NotResource", "NotPrincipal"):
        if key in st:
            out.append(f"{name}: {key} is not used (name what is granted or denied)")
    actions = [str(a) for a in _as_list(st.get("Action"))]
    resources = [str(r) for r in _as_list(st.get("Resource"))]
    if not actions:
        out.append(f"{name}: a statement needs actions")
    if kind == TRUST:
        if resources:
            out.append(f"{name}: a trust policy statement has no Resource")
    elif not resources:
        out.append(f"{name}: a statement needs actions and resources")
    principal = st.get("Principal")
    if kind == IDENTITY and principal is not None:
        out.append(f"{name}: an identity policy statement cannot name principals")
    if kind in (RESOURCE, TRUST) and principal is None:
        out.append(f"{name}: a {kind} policy statement needs a principal")
    if effect == "Deny":
        return out
    wild = [a for a in actions if any(c in a for c in WILDCARD_CHARS)]
    if "*" in wild:
        out.append(f"{name}: Allow with action '*' is forbidden")
    elif wild:
        out.append(f"{name}: wildcard actions {wild} in an Allow: name each action")
    everyone = principal == "*" or (isinstance(principal, Mapping)
                                    and any("*" in _as_list(v) for v in principal.values()))
    if everyone:
        out.append(f"{name}: Allow to Principal '*' is forbidden")
    if kind == IDENTITY and "*" in resources:
        scoped = [a for a in actions if a not in RESOURCELESS_ACTIONS]
        if scoped:
            out.append(f"{name}: actions {scoped} support resource-level scoping; name the ARNs instead of '*'")
    return out


def violations(doc: Mapping[str, Any], kind: str | None = None) -> list[str]:
    """Every rule broken by a policy document (:func:`statement_violations` on each statement)."""
    kind = kind or policy_kind(doc)
    stmts = _as_list(doc.get("Statement"))
    if not stmts:
        return ["a policy needs at least one statement"]
    return [p for st in stmts for p in statement_violations(st, kind)]


def find_violations(policy: str | Mapping[str, Any], kind: str | None = None) -> list[str]:
    """The least-privilege rules broken by a synthesized policy (the same rules :func:`policy_document`
    enforces while building). ``kind`` (:data:`IDENTITY`, :data:`RESOURCE`, :data:`TRUST`) defaults to
    :func:`policy_kind`. Accepts the JSON string or the parsed document."""
    doc = json.loads(policy) if isinstance(policy, str) else policy
    return violations(doc, kind)
