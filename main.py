#!/usr/bin/env python
"""lakeforge: synthesize the platform's stacks with CDK for Terraform.

``python main.py`` synthesizes one stack per environment (``lakeforge-local``, ``lakeforge-dev``,
``lakeforge-prod``) into ``cdktf.out/stacks/lakeforge-<env>/cdk.tf.json``. A subset: ``python main.py
local`` or ``LAKEFORGE_ENVS=local,dev python main.py``; another output folder:
``LAKEFORGE_CDKTF_OUT=/tmp/out python main.py``. Deploy with ``make deploy ENV=...`` (plain
``terraform`` in the stack folder, see ``local_runtime/stacks.py``).

What goes into a stack, layer by layer, is in ``compose/``; each environment's settings in
``environments/<env>.toml``; the constructs, one per AWS service, in ``modules/``.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from compose import build_app
from environments import ENVIRONMENTS

ROOT = Path(__file__).resolve().parent
DEFAULT_OUTDIR = ROOT / "cdktf.out"


def selected_envs(argv: Sequence[str]) -> list[str]:
    """Environments named on the command line, else in ``LAKEFORGE_ENVS``, else all."""
    raw = list(argv) or [e for e in os.environ.get("LAKEFORGE_ENVS", "").replace(",", " ").split() if e]
    envs = raw or list(ENVIRONMENTS)
    unknown = [e for e in envs if e not in ENVIRONMENTS]
    if unknown:
        raise SystemExit(f"unknown environment(s) {unknown}; choose from {list(ENVIRONMENTS)}")
    return list(dict.fromkeys(envs))


def main(argv: Sequence[str] | None = None) -> int:
    envs = selected_envs(sys.argv[1:] if argv is None else argv)
    outdir = Path(os.environ.get("LAKEFORGE_CDKTF_OUT") or DEFAULT_OUTDIR)
    build_app(envs, outdir).synth()
    for env in envs:
        print(f"synthesized {outdir / 'stacks' / f'lakeforge-{env}' / 'cdk.tf.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
