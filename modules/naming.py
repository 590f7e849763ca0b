"""Resource names: ``<prefix>-<part>-...`` with underscores in the parts turned into hyphens, checked against the
service's length limit where AWS has one (private: may change in a minor version).

Standard library only. A cdktf token in a name (e.g. the account id, only known at plan time) counts as
:data:`TOKEN_LENGTH` characters in the check.
"""
from __future__ import annotations

from .options import TOKEN_RE

__all__ = ["ALARM_NAME", "BUCKET_NAME", "CRAWLER_NAME", "DASHBOARD_NAME", "ROLE_NAME", "TOKEN_LENGTH", "TOPIC_NAME",
           "Limit", "resource_name"]

TOKEN_LENGTH = 12
"""How many characters a token counts as (an account id, the usual token in a name)."""

Limit = tuple[str, int, int]
"""``(what, shortest, longest)``: what the name is (for the error) and the lengths AWS accepts."""

BUCKET_NAME: Limit = ("bucket name", 3, 63)
TOPIC_NAME: Limit = ("SNS topic name", 1, 256)
ALARM_NAME: Limit = ("CloudWatch alarm name", 1, 255)
DASHBOARD_NAME: Limit = ("CloudWatch dashboard name", 1, 255)
CRAWLER_NAME: Limit = ("Glue crawler name", 1, 255)
ROLE_NAME: Limit = ("IAM role name", 1, 64)


def resource_name(prefix: str, *parts: str, suffix: str = "", limit: Limit | None = None) -> str:
    """``<prefix>-<part>-...[-<suffix>]``: ``_`` in a part becomes ``-``; ``suffix`` (e.g. a token) is appended
    as it is when not empty. With ``limit``, a name outside its lengths raises ``ValueError`` ("<what> '<name>'
    must be <shortest>-<longest> characters")."""
    name = "-".join([prefix, *(part.replace("_", "-") for part in parts)])
    if suffix:
        name = f"{name}-{suffix}"
    if limit is not None:
        what, shortest, longest = limit
        length = len(TOKEN_RE.sub("x" * TOKEN_LENGTH, name))
        if not shortest <= length <= longest:
            raise ValueError(f"{what} {name!r} must be {shortest}-{longest} characters")
    return name
