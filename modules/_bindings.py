"""The one place naming the CDK packages the constructs are written against (private: may change in a minor
version).

Every construct and the stack composition (``compose/``) reach the CDK core (``App``, ``TerraformStack``,
``Token``, ``Fn``, ``TerraformAsset`` ...) through :data:`core` and the AWS provider binding's submodules
through :data:`aws` (``aws.s3_bucket.S3Bucket``), never by importing the packages themselves; a unit test
(``tests/unit/test_bindings.py``) fails on any other import of them under ``modules/`` or ``compose/``. So a
move to CDK Terrain (``cdktn``, the maintained fork of cdktf, whose ``cdktn-aws`` binds hashicorp/aws 6.62) is
a change in this one file (the names and :data:`PROVIDER_VERSION` below) plus the pins in
``modules/requirements.txt``. ``constructs`` (the ``Construct`` base class) is the same package under both
and is imported directly.

Standard library only, and lazy: importing this module loads neither package (the AWS binding takes 15-20 s
to import); the first attribute read of :data:`core` imports the core package, the first read of
``aws.<submodule>`` imports only that submodule of the binding.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["AWS_PACKAGE", "CORE_PACKAGE", "PROVIDER_SOURCE", "PROVIDER_VERSION", "aws", "core"]

CORE_PACKAGE = "cdktf"
"""Import name of the CDK core (``App``, ``TerraformStack``, ``Token``, ``Fn``, ...)."""

AWS_PACKAGE = "cdktf_cdktf_provider_aws"
"""Import name of the prebuilt AWS provider binding (one submodule per resource or data source)."""

PROVIDER_SOURCE = "hashicorp/aws"
"""The Terraform provider the binding is generated from."""

PROVIDER_VERSION = "5.100.0"
"""The ``hashicorp/aws`` version the binding (``cdktf-cdktf-provider-aws`` 20.1.0) is generated for: the
resource and argument names the constructs may use."""


class _Core:
    """``core.<name>`` is ``<CORE_PACKAGE>.<name>``, imported on first use."""

    __slots__ = ("_module",)

    def __init__(self) -> None:
        self._module: ModuleType | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._module is None:
            self._module = importlib.import_module(CORE_PACKAGE)
        return getattr(self._module, name)

    def __repr__(self) -> str:
        return f"<lazy {CORE_PACKAGE}>"


class _Aws:
    """``aws.<submodule>`` is the module ``<AWS_PACKAGE>.<submodule>``, imported on first use and cached."""

    def __getattr__(self, name: str) -> ModuleType:
        if name.startswith("__"):
            raise AttributeError(name)
        module = importlib.import_module(f"{AWS_PACKAGE}.{name}")
        setattr(self, name, module)  # later reads skip __getattr__
        return module

    def __repr__(self) -> str:
        return f"<lazy {AWS_PACKAGE}>"


core: Any = _Core()
"""The CDK core package, imported on first attribute read."""

aws: Any = _Aws()
"""The AWS provider binding: ``aws.<submodule>`` imports that submodule on first read."""
