"""The key tables of ``environments/README.md``, written from the environment schema
(:mod:`environments.config`): ``python -m environments.docs`` (``--check`` reports drift; a test runs it)."""
from __future__ import annotations

import sys
from pathlib import Path

from environments import config
from modules.docs import main as write_readme
from modules.docs import options_table

README = Path(__file__).resolve().parent / "README.md"

SECTIONS: dict[str, type] = {
    "top": config.EnvironmentConfig, "account": config.AccountSettings, "kms": config.KmsSettings,
    "kinesis": config.KinesisSettings, "lambda": config.LambdaSettings, "lifecycle": config.LifecycleRule,
    "glue": config.GlueSettings, "athena": config.AthenaSettings, "emr": config.EmrSettings, "api": config.ApiSettings,
    "backend": config.BackendSettings, "services": config.ServiceSwitches,
    "msk": config.MskSettings,
}


def blocks(kind: str, name: str) -> str:
    if kind != "keys" or name not in SECTIONS:
        raise KeyError(f"unknown generated block {kind}: {name}")
    return "\n".join(options_table(SECTIONS[name], key_header="key")) + "\n"


def main(argv: list[str] | None = None) -> int:
    return write_readme(sys.argv[1:] if argv is None else argv, README, blocks)


if __name__ == "__main__":
    raise SystemExit(main())
