"""The query Lambda's settings: the names of its environment variables (the construct that deploys it sets
them from these names) and their limits. Standard library only, importable without the handler's
dependencies.

* ``QUERY_API_ATHENA_WORKGROUP``: the Athena workgroup (its enforced configuration gives the result
  location and encryption); required.
* ``QUERY_API_GLUE_DATABASE``: the gold Glue database the KPI queries run in; required.
* ``QUERY_API_MAX_WAIT_SECONDS``: how long one request waits for its query (default 20; at most 28, under
  API Gateway's 30 s integration timeout); a query still running then is stopped and the answer is 504.
* ``QUERY_API_PARAMETER_STYLE``: how the values reach Athena: ``execution_parameters`` (default; AWS) or
  ``emulator_prepare`` (the local emulator only, whose Athena ignores ``ExecutionParameters``; see
  :func:`queries.kpi.emulator_statement`).
* ``QUERY_API_AUTHORIZATION``: how callers authenticate in front of the function (``AWS_IAM``, ``JWT`` or
  ``LAMBDA``, as the API's routes are set up; default ``AWS_IAM``): only described in the OpenAPI document
  (API Gateway enforces it before the function runs).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

ENV_WORKGROUP = "QUERY_API_ATHENA_WORKGROUP"
ENV_DATABASE = "QUERY_API_GLUE_DATABASE"
ENV_MAX_WAIT = "QUERY_API_MAX_WAIT_SECONDS"
ENV_PARAMETER_STYLE = "QUERY_API_PARAMETER_STYLE"
ENV_AUTHORIZATION = "QUERY_API_AUTHORIZATION"
ENVIRONMENT_VARIABLES = (ENV_WORKGROUP, ENV_DATABASE, ENV_MAX_WAIT, ENV_PARAMETER_STYLE, ENV_AUTHORIZATION)

AUTHORIZATIONS = ("AWS_IAM", "JWT", "LAMBDA")
DEFAULT_AUTHORIZATION = "AWS_IAM"

EXECUTION_PARAMETERS = "execution_parameters"
EMULATOR_PREPARE = "emulator_prepare"
PARAMETER_STYLES = (EXECUTION_PARAMETERS, EMULATOR_PREPARE)

DEFAULT_MAX_WAIT_SECONDS = 20.0
MAX_WAIT_SECONDS = 28.0
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
"""Deepest row a page token may point at (a KPI has far fewer rows; a bigger offset is refused)."""


@dataclass(frozen=True)
class Settings:
    workgroup: str
    database: str
    max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS
    parameter_style: str = EXECUTION_PARAMETERS


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from the environment; ``ValueError`` naming the variable that is missing or invalid."""
    env = os.environ if environ is None else environ
    missing = [name for name in (ENV_WORKGROUP, ENV_DATABASE) if not env.get(name)]
    if missing:
        raise ValueError(f"environment variable(s) not set: {', '.join(missing)}")
    raw_wait = env.get(ENV_MAX_WAIT) or str(DEFAULT_MAX_WAIT_SECONDS)
    try:
        wait = float(raw_wait)
    except ValueError:
        raise ValueError(f"{ENV_MAX_WAIT} must be a number of seconds, got {raw_wait!r}") from None
    if not 0 < wait <= MAX_WAIT_SECONDS:
        raise ValueError(f"{ENV_MAX_WAIT} must be in (0, {MAX_WAIT_SECONDS}], got {wait}")
    style = env.get(ENV_PARAMETER_STYLE) or EXECUTION_PARAMETERS
    if style not in PARAMETER_STYLES:
        raise ValueError(f"{ENV_PARAMETER_STYLE} must be one of {PARAMETER_STYLES}, got {style!r}")
    return Settings(env[ENV_WORKGROUP], env[ENV_DATABASE], wait, style)


def authorization(environ: Mapping[str, str] | None = None) -> str:
    """``QUERY_API_AUTHORIZATION`` (default ``AWS_IAM``); ``ValueError`` for another value."""
    env = os.environ if environ is None else environ
    value = env.get(ENV_AUTHORIZATION) or DEFAULT_AUTHORIZATION
    if value not in AUTHORIZATIONS:
        raise ValueError(f"{ENV_AUTHORIZATION} must be one of {AUTHORIZATIONS}, got {value!r}")
    return value
