"""The environments: one TOML file each (``local.toml``, ``dev.toml``, ``prod.toml``) and their loader
(:mod:`environments.config`), which parses a file and maps it onto the constructs' options.

Importing this package is cheap (standard library and the props modules only).
"""
from environments.config import (
    ENVIRONMENTS, ENVIRONMENTS_DIR, REQUIRED_TAGS, ConfigError, EnvironmentConfig, load_environment,
    load_environments, parse_environment,
)

__all__ = ["ENVIRONMENTS", "ENVIRONMENTS_DIR", "REQUIRED_TAGS", "ConfigError", "EnvironmentConfig",
           "load_environment", "load_environments", "parse_environment"]
