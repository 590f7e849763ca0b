"""The least-privilege guard of modules/iam.py: one rule set, enforced while building and over synthesized JSON."""
from __future__ import annotations

import json
import re

import pytest

from modules.iam import (
    IDENTITY, RESOURCE, TRUST, Condition, PolicyError, Statement, assume_role_policy, find_violations, policy_kind,
    policy_document,
)

OBJ = ("arn:aws:s3:::b/*",)

WILDCARD_ACTIONS = ["*", "s3:*", "s3:Put*", "iam:Pass*", "s3:?etObject", "kms:*Grant", "glue:Get*s"]


@pytest.mark.parametrize("action", WILDCARD_ACTIONS)
def test_guard_rejects_every_wildcard_action_in_an_allow(action):
    with pytest.raises(PolicyError):
        policy_document([Statement(sid="W", actions=("s3:GetObject", action), resources=OBJ)])
    with pytest.raises(PolicyError):  # in resource policies too, whatever the principal
        policy_document([Statement(sid="W", actions=(action,), resources=("*",),
                                   principals={"AWS": ("arn:aws:iam::111122223333:root",)})], resource_policy=True)


@pytest.mark.parametrize("action", WILDCARD_ACTIONS)
def test_find_violations_flags_the_same_wildcards(action):
    doc = {"Statement": [{"Sid": "W", "Effect": "Allow", "Action": ["s3:GetObject", action], "Resource": OBJ[0]}]}
    assert find_violations(doc), action
    assert find_violations(json.dumps(doc)), action


def test_deny_statements_may_be_broad():
    doc = policy_document([Statement(sid="TlsOnly", effect="Deny", actions=("s3:*",), resources=OBJ,
                                     principals={"*": ()},
                                     conditions=(Condition("Bool", "aws:SecureTransport", ("false",)),))],
                          resource_policy=True)
    assert find_violations(doc) == []


# Each case: statements as built, and the JSON a synthesized stack would hold, broken the same way.
CASES = [
    ("action '*'", Statement(sid="A", actions=("*",), resources=OBJ), IDENTITY),
    ("wildcard actions", Statement(sid="A", actions=("iam:Pass*",), resources=("arn:aws:iam::1:role/r",)), IDENTITY),
    ("resource-level scoping", Statement(sid="A", actions=("s3:PutObject",), resources=("*",)), IDENTITY),
    ("cannot name principals", Statement(sid="A", actions=("s3:GetObject",), resources=OBJ,
                                         principals={"AWS": ("arn:aws:iam::1:root",)}), IDENTITY),
    ("needs a principal", Statement(sid="A", actions=("s3:GetObject",), resources=OBJ), RESOURCE),
    ("Principal '\\*'", Statement(sid="A", actions=("s3:GetObject",), resources=OBJ, principals={"*": ()}), RESOURCE),
    ("Allow or Deny", Statement(sid="A", actions=("s3:GetObject",), resources=OBJ, effect="Maybe"), IDENTITY),
]


@pytest.mark.parametrize("message,statement,kind", CASES, ids=[c[0] for c in CASES])
def test_guard_and_find_violations_agree(message, statement, kind):
    from modules.iam import statement_to_dict

    with pytest.raises(PolicyError, match=message):
        policy_document([statement], resource_policy=kind == RESOURCE)
    found = find_violations({"Statement": [statement_to_dict(statement)]}, kind)
    assert any(re.search(message, f) for f in found), found


def test_allowed_forms_pass_both():
    doc = policy_document([
        Statement(sid="XRay", actions=("xray:PutTraceSegments",), resources=("*",)),
        Statement(sid="Read", actions=("s3:GetObject",), resources=OBJ),
    ])
    assert find_violations(doc) == [] and policy_kind(json.loads(doc)) == IDENTITY
    trust = assume_role_policy("glue.amazonaws.com", source_account="111122223333")
    assert policy_kind(json.loads(trust)) == TRUST and find_violations(trust) == []


def test_find_violations_infers_the_kind():
    resource_doc = {"Statement": [{"Sid": "R", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
                                   "Action": "kms:Decrypt", "Resource": "*"}]}
    assert policy_kind(resource_doc) == RESOURCE and find_violations(resource_doc) == []
    # The same statement in an identity policy would break two rules.
    assert len(find_violations(resource_doc, IDENTITY)) == 2
