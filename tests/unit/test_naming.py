"""``modules.naming.resource_name``: the ``<prefix>-<part>...`` names the constructs give their resources."""
from __future__ import annotations

import pytest

from modules.naming import ALARM_NAME, BUCKET_NAME, ROLE_NAME, resource_name

TOKEN = "${TfToken[TOKEN.12]}"


def test_parts_are_joined_with_hyphens_and_underscores_become_hyphens():
    assert resource_name("lakeforge-dev", "athena_results") == "lakeforge-dev-athena-results"
    assert resource_name("lakeforge-dev", "platform", "unhealthy", limit=ALARM_NAME) == \
        "lakeforge-dev-platform-unhealthy"
    assert resource_name("lakeforge-dev") == "lakeforge-dev"


def test_the_suffix_is_appended_as_it_is():
    assert resource_name("p", "access_logs", suffix="") == "p-access-logs"
    assert resource_name("p", "bronze", suffix=TOKEN) == f"p-bronze-{TOKEN}"


def test_the_length_limit_counts_a_token_as_twelve_characters():
    prefix = "x" * 42  # 42 + "-bronze" (7) + "-" + token (12) = 62
    assert resource_name(prefix, "bronze", suffix=TOKEN, limit=BUCKET_NAME)
    with pytest.raises(ValueError, match=r"bucket name .* must be 3-63 characters"):
        resource_name(prefix + "xx", "bronze", suffix=TOKEN, limit=BUCKET_NAME)
    with pytest.raises(ValueError, match="3-63 characters"):
        resource_name("a", "", limit=BUCKET_NAME)  # "a-": 2 characters
    with pytest.raises(ValueError, match="IAM role name"):
        resource_name("p" * 60, "quicksight", "vpc", limit=ROLE_NAME)
