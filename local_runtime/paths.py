"""Where the project keeps its generated files. Everything here is git-ignored."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"            # downloads and tool caches (jsii, terraform plugins)
STATE = ROOT / ".state"            # running local services: data, logs, pids, terraform state
BUILD = ROOT / "build"             # build products (Lambda zips)
CDKTF_OUT = ROOT / "cdktf.out"     # synthesized Terraform
LAMBDA_BUILD = BUILD / "lambda"


def stack_dir(env: str) -> Path:
    """Directory of one environment's synthesized stack (cdk.tf.json)."""
    return CDKTF_OUT / "stacks" / f"lakeforge-{env}"
