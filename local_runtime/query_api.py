"""The deployed query API as a client sees it: its local URL, the bearer token, one call, and the example call the
demo prints.

Locally the API answers at ``<emulator>/_aws/execute-api/<api_id>/$default/<path>`` over plain HTTP and wants
``Authorization: Bearer <token>`` (``[api] authorization = "LAMBDA"``, README "The query API"); the token is
read from Secrets Manager (``EnvironmentConfig.api_token_secret_name``), never printed: the example call reads
it inside a command substitution (``python -m local_runtime.query_api token``). On AWS (``AWS_IAM``) the example
call signs with SigV4 (``curl --aws-sigv4``).
"""
from __future__ import annotations

import json
import shlex
import sys
import urllib.error
import urllib.request

from environments import EnvironmentConfig, load_environment
from local_runtime.aws import client
from local_runtime.services import endpoint_from_env

EXAMPLE_PATH = "/kpis/loss_ratio?month_from=2025-01&state=SP&limit=5"
"""The example call: a KPI with filters and a small page."""


def base_url(endpoint: str, api_id: str) -> str:
    """The API's ``$default`` stage through the emulator (plain HTTP)."""
    return f"{endpoint.rstrip('/')}/_aws/execute-api/{api_id}/$default"


def token(endpoint: str, config: EnvironmentConfig) -> str:
    """The API's bearer token, from Secrets Manager."""
    secrets = client("secretsmanager", endpoint)
    return secrets.get_secret_value(SecretId=config.api_token_secret_name)["SecretString"]


def get(endpoint: str, api_id: str, path: str, bearer: str | None = None, timeout: float = 60.0
        ) -> tuple[int, object]:
    """``GET`` one path of the local API: (status, parsed JSON body, or the raw text when it is not JSON)."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    request = urllib.request.Request(base_url(endpoint, api_id) + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode("utf-8", "replace")


def example_call(config: EnvironmentConfig, outputs: dict, endpoint: str | None = None) -> str:
    """A command a user can paste to call the deployed API (no secret in it). Locally it reads the token from the
    emulator at ``AWS_ENDPOINT_URL`` (default ``http://127.0.0.1:4566``), the one ``make up`` starts."""
    if config.api.authorization == "LAMBDA":
        url = base_url(endpoint or config.endpoint, outputs["api_id"]) + EXAMPLE_PATH
        read = f".venv/bin/python -m local_runtime.query_api token {shlex.quote(config.name)}"
        return f'curl -s -H "Authorization: Bearer $({read})" {shlex.quote(url)}'
    url = outputs["api_url"].rstrip("/") + EXAMPLE_PATH
    if config.api.authorization == "AWS_IAM":
        # (temporary credentials: add -H "x-amz-security-token: $AWS_SESSION_TOKEN")
        return (f'curl -s --aws-sigv4 "aws:amz:{config.region}:execute-api" '
                f'--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" {shlex.quote(url)}')
    return f'curl -s -H "Authorization: Bearer $JWT" {shlex.quote(url)}'


def main(argv: list[str]) -> int:
    if len(argv) in (1, 2) and argv[0] == "token":
        config = load_environment(argv[1] if len(argv) == 2 else "local")
        print(token(endpoint_from_env(), config))
        return 0
    print("usage: python -m local_runtime.query_api token [local]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
