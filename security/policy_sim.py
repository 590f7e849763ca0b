"""A small IAM policy evaluator for the synthesized stacks: does a policy allow one call?

The emulator does not enforce IAM, so nothing at run time tells a missing grant from a present one. The
tests evaluate each synthesized policy (``cdktf.out/stacks/lakeforge-*/cdk.tf.json``) against the calls
each component makes (``tests/synth/test_iam_policy_sim.py``): every call must be allowed (no missing
grant) and every statement must be needed by a call (no excess grant).

What is evaluated, as AWS documents it for a single account:

* a request is allowed when some ``Allow`` statement matches it and no ``Deny`` statement does
  (an explicit deny wins; nothing matching is an implicit deny);
* a statement matches when its ``Action`` (or ``NotAction``), ``Resource`` (or ``NotResource``),
  ``Principal`` (resource policies, when the request names one) and every ``Condition`` match;
* ``*`` and ``?`` wildcards in actions (case-insensitive) and resources (case-sensitive);
* condition operators: ``String[Not]Equals[IgnoreCase]``, ``String[Not]Like``, ``Arn[Not]Equals``,
  ``Arn[Not]Like`` (each of the six ARN fields matched on its own), ``Bool``, ``Null``, ``Numeric*``,
  each with ``...IfExists``, and the ``ForAnyValue:``/``ForAllValues:`` set prefixes. Several values
  of one key are OR-ed, several keys and operators AND-ed. A key missing from the request fails a
  positive operator and satisfies a negated one (``...IfExists`` is satisfied). An unknown operator
  raises :class:`UnsupportedPolicy`, so a policy the evaluator cannot read fails its test instead of
  passing silently;
* policy variables in condition values (``${aws:userid}``): replaced by the request's value of that key; a
  value whose variable the request lacks matches nothing (the special characters ``${*}``, ``${?}``, ``${$}``
  raise :class:`UnsupportedPolicy`).

Not modelled: policy variables in ``Resource``, permission boundaries, SCPs, session policies.

Synthesized policies hold Terraform references (``${aws_s3_bucket.x.arn}``); :class:`StackResolver`
replaces them with the ARNs and names the resources will have (a fixed test account and the stack's
region), so the evaluator sees real strings. Standard library only.
"""
from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = ["Decision", "Request", "StackResolver", "UnsupportedPolicy", "evaluate", "glob_match", "needed",
           "s3_bucket_arn", "s3_object_arn", "s3_uri", "statement_matches", "statements"]

TEST_ACCOUNT = "111122223333"
TEST_PARTITION = "aws"
TEST_MSK_UUID = "0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"
"""The UUID an MSK cluster's ARN ends with (``cluster/<name>/<uuid>``), as the simulated stacks use it."""


class UnsupportedPolicy(ValueError):
    """The policy uses something this evaluator does not model."""


@dataclass(frozen=True)
class Request:
    """One call: an action on one resource ARN, with its request context (condition keys)."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    """Condition keys of the request, e.g. ``{"s3:prefix": "source=erp/"}``; a list for multi-valued keys."""
    principal: str = ""
    """The calling principal's ARN (only resource policies look at it)."""
    why: str = ""
    """Where the call comes from (shown in test failures)."""

    def __str__(self) -> str:
        ctx = f" {dict(self.context)}" if self.context else ""
        return f"{self.action} {self.resource}{ctx}" + (f"  ({self.why})" if self.why else "")


@dataclass(frozen=True)
class Decision:
    """The outcome: ``Allow``, ``Deny`` (explicit) or ``ImplicitDeny``, and the statements that decided it."""

    effect: str
    sids: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.effect == "Allow"


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, (str, bool, int, float, Mapping)) else list(value)


@lru_cache(maxsize=4096)
def _glob_re(pattern: str, ignore_case: bool) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard matching: ``*`` any run of characters (``/`` included), ``?`` exactly one."""
    return bool(_glob_re(pattern, ignore_case).match(value))


def _arn_match(pattern: str, value: str) -> bool:
    """``ArnLike``: the six colon-separated fields are matched one by one (the resource field keeps its colons)."""
    p, v = pattern.split(":", 5), value.split(":", 5)
    if len(p) != 6 or len(v) != 6:
        return glob_match(pattern, value)
    return all(glob_match(a, b) for a, b in zip(p, v))


def _number(x: Any) -> float:
    return float(x)


_BASE_OPERATORS = {
    "StringEquals": (lambda c, v: str(c) == str(v), False),
    "StringNotEquals": (lambda c, v: str(c) == str(v), True),
    "StringEqualsIgnoreCase": (lambda c, v: str(c).lower() == str(v).lower(), False),
    "StringNotEqualsIgnoreCase": (lambda c, v: str(c).lower() == str(v).lower(), True),
    "StringLike": (lambda c, v: glob_match(str(c), str(v)), False),
    "StringNotLike": (lambda c, v: glob_match(str(c), str(v)), True),
    "ArnEquals": (lambda c, v: _arn_match(str(c), str(v)), False),
    "ArnLike": (lambda c, v: _arn_match(str(c), str(v)), False),
    "ArnNotEquals": (lambda c, v: _arn_match(str(c), str(v)), True),
    "ArnNotLike": (lambda c, v: _arn_match(str(c), str(v)), True),
    "Bool": (lambda c, v: str(c).lower() == str(v).lower(), False),
    "NumericEquals": (lambda c, v: _number(v) == _number(c), False),
    "NumericNotEquals": (lambda c, v: _number(v) == _number(c), True),
    "NumericLessThan": (lambda c, v: _number(v) < _number(c), False),
    "NumericLessThanEquals": (lambda c, v: _number(v) <= _number(c), False),
    "NumericGreaterThan": (lambda c, v: _number(v) > _number(c), False),
    "NumericGreaterThanEquals": (lambda c, v: _number(v) >= _number(c), False),
}
"""Operator -> (does one policy value match one request value, is the operator negated)."""


_VARIABLE = re.compile(r"\$\{([^{}]+)\}")


def _substitute(value: Any, context: Mapping[str, Any]) -> Any:
    """A condition value with its policy variables replaced from the request context; None when one of them
    has no value in the request (the value then matches nothing)."""
    if not isinstance(value, str) or "${" not in value:
        return value
    missing = False

    def one(m: re.Match) -> str:
        nonlocal missing
        name = m.group(1)
        if name in ("*", "?", "$"):
            raise UnsupportedPolicy(f"the policy variable ${{{name}}} (a literal {name!r} in a pattern)")
        if context.get(name) is None or isinstance(context[name], (list, tuple)):
            missing = True
            return ""
        return str(context[name])

    out = _VARIABLE.sub(one, value)
    return None if missing else out


def _condition_holds(operator: str, key: str, policy_values: Any, context: Mapping[str, Any]) -> bool:
    op, set_op = operator, ""
    if ":" in op:
        set_op, op = op.split(":", 1)
        if set_op not in ("ForAnyValue", "ForAllValues"):
            raise UnsupportedPolicy(f"condition operator {operator!r}")
    if_exists = op.endswith("IfExists")
    if if_exists:
        op = op[: -len("IfExists")]
    values = [str(v).lower() if isinstance(v, bool) else v for v in _as_list(policy_values)]
    values = [v for v in (_substitute(v, context) for v in values) if v is not None]
    present = key in context and context[key] is not None
    if op == "Null":
        wants_absent = str(values[0]).lower() == "true"
        return wants_absent != present
    if op not in _BASE_OPERATORS:
        raise UnsupportedPolicy(f"condition operator {operator!r}")
    match, negated = _BASE_OPERATORS[op]
    if not present:
        if if_exists or set_op == "ForAllValues":
            return True
        return negated
    request_values = _as_list(context[key])
    request_values = [str(v).lower() if isinstance(v, bool) else v for v in request_values]

    def one(value: Any) -> bool:
        hit = any(match(c, value) for c in values)
        return not hit if negated else hit

    if set_op == "ForAllValues":
        return all(one(v) for v in request_values)
    if set_op == "ForAnyValue":
        return any(one(v) for v in request_values)
    if len(request_values) != 1:
        raise UnsupportedPolicy(f"{key} has several values: use ForAnyValue/ForAllValues")
    return one(request_values[0])


def _principal_matches(principal: Any, caller: str) -> bool:
    if principal == "*":
        return True
    for kind, values in (principal or {}).items():
        for value in _as_list(values):
            if value == "*" or value == caller:
                return True
            if kind == "AWS":
                root = re.fullmatch(r"arn:([^:]+):iam::(\d+|[^:]+):root", value)
                account = root.group(2) if root else (value if re.fullmatch(r"\d{12}", value) else None)
                if account and re.match(rf"arn:[^:]+:(iam|sts)::{re.escape(account)}:", caller):
                    return True
    return False


def statement_matches(st: Mapping[str, Any], request: Request) -> bool:
    """Whether one statement applies to the request (its effect aside)."""
    if "Action" in st:
        if not any(glob_match(a, request.action, ignore_case=True) for a in _as_list(st["Action"])):
            return False
    elif "NotAction" in st:
        if any(glob_match(a, request.action, ignore_case=True) for a in _as_list(st["NotAction"])):
            return False
    else:
        raise UnsupportedPolicy(f"statement without Action: {st}")
    if "Resource" in st:
        if not any(glob_match(r, request.resource) for r in _as_list(st["Resource"])):
            return False
    elif "NotResource" in st:
        if any(glob_match(r, request.resource) for r in _as_list(st["NotResource"])):
            return False
    if request.principal and ("Principal" in st or "NotPrincipal" in st):
        if "NotPrincipal" in st:
            raise UnsupportedPolicy("NotPrincipal")
        if not _principal_matches(st["Principal"], request.principal):
            return False
    for operator, keys in (st.get("Condition") or {}).items():
        for key, values in keys.items():
            if not _condition_holds(operator, key, values, request.context):
                return False
    return True


def statements(policies: Iterable[Mapping[str, Any] | str]) -> list[Mapping[str, Any]]:
    """Every statement of some policy documents (JSON strings or parsed)."""
    out = []
    for policy in policies:
        doc = json.loads(policy) if isinstance(policy, str) else policy
        out.extend(_as_list(doc.get("Statement")))
    return out


def evaluate(policies: Iterable[Mapping[str, Any] | str], request: Request) -> Decision:
    """The decision of some policies together on one request (explicit deny > allow > implicit deny)."""
    sts = statements(policies)
    denies = [st.get("Sid", "?") for st in sts if st.get("Effect") == "Deny" and statement_matches(st, request)]
    if denies:
        return Decision("Deny", tuple(denies))
    allows = [st.get("Sid", "?") for st in sts if st.get("Effect") == "Allow" and statement_matches(st, request)]
    return Decision("Allow", tuple(allows)) if allows else Decision("ImplicitDeny")


# --- Terraform references in synthesized JSON ----------------------------------------------------------

_REF = re.compile(r"(?<!\$)\$\{([^{}]+)\}")
"""A Terraform reference; ``$${...}`` is Terraform's escape for a literal ``${...}``."""


_NAMED: dict[str, tuple[str, dict[str, str]]] = {
    "aws_s3_bucket": ("bucket", {"id": "{n}", "arn": "arn:{p}:s3:::{n}"}),
    "aws_iam_role": ("name", {"id": "{n}", "arn": "arn:{p}:iam::{a}:role/{n}"}),
    "aws_cloudwatch_log_group": ("name", {"id": "{n}", "arn": "arn:{p}:logs:{r}:{a}:log-group:{n}"}),
    "aws_sqs_queue": ("name", {"arn": "arn:{p}:sqs:{r}:{a}:{n}", "url": "https://sqs.{r}.amazonaws.com/{a}/{n}",
                               "id": "https://sqs.{r}.amazonaws.com/{a}/{n}"}),
    "aws_kinesis_stream": ("name", {"arn": "arn:{p}:kinesis:{r}:{a}:stream/{n}",
                                    "id": "arn:{p}:kinesis:{r}:{a}:stream/{n}"}),
    "aws_lambda_function": ("function_name", {"id": "{n}", "arn": "arn:{p}:lambda:{r}:{a}:function:{n}"}),
    # MSK appends the cluster's UUID (and a revision suffix) to its name in the ARN
    "aws_msk_cluster": ("cluster_name", {"arn": "arn:{p}:kafka:{r}:{a}:cluster/{n}/" + TEST_MSK_UUID,
                                         "id": "arn:{p}:kafka:{r}:{a}:cluster/{n}/" + TEST_MSK_UUID,
                                         "cluster_uuid": TEST_MSK_UUID}),
    # AWS appends 6 random characters to a secret's ARN
    "aws_secretsmanager_secret": ("name", {"arn": "arn:{p}:secretsmanager:{r}:{a}:secret:{n}-AbC123",
                                           "id": "arn:{p}:secretsmanager:{r}:{a}:secret:{n}-AbC123"}),
    "aws_redshiftserverless_namespace": ("namespace_name", {"id": "{n}"}),
    "aws_redshift_cluster": ("cluster_identifier", {"id": "{n}", "arn": "arn:{p}:redshift:{r}:{a}:cluster:{n}"}),
}
"""Resources known by a name: (the attribute holding it, the other attributes as AWS formats them from it)."""

_GENERATED_IDS: dict[str, str] = {"aws_subnet": "subnet", "aws_security_group": "sg", "aws_vpc": "vpc"}
"""Resources whose id AWS generates: the id's prefix."""

EXTERNAL_ROLE = "external:"
"""Prefix of :meth:`StackResolver.role_policies` keys for roles the stack does not create (named literally)."""


class StackResolver:
    """Replaces the Terraform references of a synthesized stack (``${aws_s3_bucket.x.arn}``, the caller's
    account id, the partition) with the values the resources will have, as AWS formats their ARNs."""

    def __init__(self, doc: Mapping[str, Any], *, account: str = TEST_ACCOUNT, partition: str = TEST_PARTITION):
        self.doc = doc
        self.account = account
        self.partition = partition
        providers = _as_list(doc.get("provider", {}).get("aws"))
        self.region = self.resolve(providers[0]["region"]) if providers else "us-east-1"

    def resource(self, rtype: str, name: str) -> Mapping[str, Any]:
        try:
            return self.doc["resource"][rtype][name]
        except KeyError:
            raise UnsupportedPolicy(f"reference to a missing resource {rtype}.{name}") from None

    def by_path(self, rtype: str, path_suffix: str) -> tuple[str, Mapping[str, Any]]:
        """The one resource of a type whose construct path ends with ``path_suffix``."""
        found = [(n, r) for n, r in self.doc.get("resource", {}).get(rtype, {}).items()
                 if r["//"]["metadata"]["path"].endswith(path_suffix)]
        if len(found) != 1:
            raise LookupError(f"{rtype} */{path_suffix}: {[n for n, _ in found]}")
        return found[0]

    def attribute(self, rtype: str, name: str, attr: str) -> str:
        """The value one resource attribute will have."""
        res = self.resource(rtype, name)
        p, r, a = self.partition, self.region, self.account

        def own(key: str) -> str:
            if key not in res:
                raise UnsupportedPolicy(f"{rtype}.{name} has no {key!r} to build {attr} from")
            return self.resolve(str(res[key]))

        if rtype in _GENERATED_IDS and attr == "id":  # AWS generates these ids: a stable stand-in per resource
            return f"{_GENERATED_IDS[rtype]}-{zlib.crc32(name.encode()):08x}"
        if rtype == "aws_kms_key" and attr in ("arn", "key_id", "id"):
            key_id = f"00000000-0000-4000-8000-{zlib.crc32(name.encode()):012d}"
            return key_id if attr != "arn" else f"arn:{p}:kms:{r}:{a}:key/{key_id}"
        if rtype == "aws_redshiftserverless_workgroup":  # its ARN holds the workgroup's id, not its name
            if attr == "workgroup_name":
                return own("workgroup_name")
            if attr in ("arn", "workgroup_id"):
                workgroup_id = f"00000000-0000-4000-9000-{zlib.crc32(name.encode()):012d}"
                return workgroup_id if attr != "arn" else (
                    f"arn:{p}:redshift-serverless:{r}:{a}:workgroup/{workgroup_id}")
        # the admin secret Redshift manages: redshift!<namespace or cluster>-<admin user>, plus AWS's 6 characters
        if (rtype, attr) in (("aws_redshiftserverless_namespace", "admin_password_secret_arn"),
                             ("aws_redshift_cluster", "master_password_secret_arn")):
            owner = own("namespace_name" if rtype == "aws_redshiftserverless_namespace" else "cluster_identifier")
            user = own("admin_username" if rtype == "aws_redshiftserverless_namespace" else "master_username")
            return f"arn:{p}:secretsmanager:{r}:{a}:secret:redshift!{owner}-{user}-AbC123"
        if rtype in _NAMED:
            name_key, forms = _NAMED[rtype]
            if attr == name_key:
                return own(name_key)
            if attr in forms:
                return forms[attr].format(p=p, r=r, a=a, n=own(name_key))
        if attr in ("name", "id") and "name" in res:  # Glue databases, jobs, crawlers, security configurations
            return own("name")
        raise UnsupportedPolicy(f"cannot resolve ${{{rtype}.{name}.{attr}}}")

    def _ref(self, expr: str) -> str:
        parts = expr.split(".")
        if parts[:2] == ["data", "aws_caller_identity"] and parts[-1] == "account_id":
            return self.account
        if parts[:2] == ["data", "aws_partition"] and parts[-1] == "partition":
            return self.partition
        if parts[:2] == ["data", "aws_region"] and parts[-1] in ("name", "region"):
            return self.region
        if len(parts) == 3:
            return self.attribute(*parts)
        raise UnsupportedPolicy(f"cannot resolve ${{{expr}}}")

    def resolve(self, text: str) -> str:
        """``text`` with every Terraform reference replaced (an unknown one raises)."""
        previous = None
        while previous != text:
            previous, text = text, _REF.sub(lambda m: self._ref(m.group(1)), text)
        return text.replace("$${", "${")

    def policy(self, text: str) -> dict[str, Any]:
        """A synthesized policy JSON string, references resolved, parsed."""
        return json.loads(self.resolve(text))

    def role_policies(self) -> dict[str, list[dict[str, Any]]]:
        """Role resource name -> its inline policies (``aws_iam_role_policy``), resolved. A policy on a role the
        stack does not create (a literal role name, e.g. QuickSight's service role) is keyed
        ``external:<role name>``."""
        out: dict[str, list[dict[str, Any]]] = {}
        for res in self.doc.get("resource", {}).get("aws_iam_role_policy", {}).values():
            m = re.fullmatch(r"\$\{aws_iam_role\.([^.]+)\.(id|name)\}", res["role"])
            if m:
                key = m.group(1)
            elif re.fullmatch(r"[\w+=,.@-]{1,64}", res["role"]):
                key = EXTERNAL_ROLE + res["role"]
            else:
                raise UnsupportedPolicy(f"role policy attached to {res['role']!r}")
            out.setdefault(key, []).append(self.policy(res["policy"]))
        return out

    def managed_policy_arns(self, role: str) -> list[str]:
        """Managed policies attached to one role (their text is AWS's, not evaluated here)."""
        return [self.resolve(a["policy_arn"]) for a in
                self.doc.get("resource", {}).get("aws_iam_role_policy_attachment", {}).values()
                if re.fullmatch(rf"\$\{{aws_iam_role\.{re.escape(role)}\.(id|name)\}}", a["role"])]


def s3_object_arn(bucket: str, key: str, partition: str = TEST_PARTITION) -> str:
    return f"arn:{partition}:s3:::{bucket}/{key}"


def s3_bucket_arn(bucket: str, partition: str = TEST_PARTITION) -> str:
    return f"arn:{partition}:s3:::{bucket}"


def s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


def needed(policies: Sequence[Mapping[str, Any]], requests: Iterable[Request]) -> dict[tuple[str, str], list[Request]]:
    """(Sid, action) of every ``Allow`` statement's action -> the requests it allows on its own."""
    reqs = list(requests)
    out: dict[tuple[str, str], list[Request]] = {}
    for st in statements(policies):
        if st.get("Effect") != "Allow":
            continue
        for action in _as_list(st.get("Action")):
            narrowed = {**st, "Action": action}
            out[(st.get("Sid", "?"), action)] = [r for r in reqs if statement_matches(narrowed, r)]
    return out
