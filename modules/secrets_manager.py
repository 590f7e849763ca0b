"""GeneratedSecret: a KMS-encrypted Secrets Manager secret whose value Terraform generates and never stores.

The value comes from the ephemeral ``aws_secretsmanager_random_password`` (Secrets Manager's
``GetRandomPassword``; letters and digits) and is written through the version's write-only
``secret_string_wo``: it is in no file of the repository, not in the Terraform state, not in any output.
``secret_string_wo_version`` (the ``version`` option) decides when a new value is written: a plan with the
same version changes nothing, a new version re-keys. Readers get it with ``secretsmanager:GetSecretValue``
(and ``kms:Decrypt`` through Secrets Manager).

Used for the lake's pseudonymization key (an HMAC key: every pseudonym of a personal field is keyed with it,
so it must stay stable: no automatic rotation; re-keying is a deliberate ``version`` bump that changes every
pseudonym).

cdktf 0.21 has no binding for ephemeral resources: the block is added to the stack's JSON with
``add_override`` (Terraform >= 1.10 reads ``ephemeral`` blocks in JSON configuration).
"""
from __future__ import annotations

import re

from constructs import Construct

from .secrets_manager_props import OUTPUTS, GeneratedSecretProps
from ._bindings import aws, core

__all__ = ["OUTPUTS", "GeneratedSecret", "GeneratedSecretProps"]


class GeneratedSecret(Construct):
    """A secret with a Terraform-generated value (see the module docstring).

    Options: :class:`GeneratedSecretProps`; outputs: :data:`OUTPUTS` (``modules/secrets_manager_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: GeneratedSecretProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.secret = None
        self.arn: str | None = None
        self.name: str | None = None
        if not props.create:
            return

        TerraformResourceLifecycle = core.TerraformResourceLifecycle
        TerraformStack = core.TerraformStack
        SecretsmanagerSecret = aws.secretsmanager_secret.SecretsmanagerSecret
        SecretsmanagerSecretVersion = aws.secretsmanager_secret_version.SecretsmanagerSecretVersion

        self.secret = SecretsmanagerSecret(
            self, "secret", name=props.name, description=props.description, kms_key_id=props.kms_key_arn,
            recovery_window_in_days=props.recovery_window_days, tags=dict(props.tags),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if props.prevent_destroy else None,
        )
        value = re.sub(r"[^A-Za-z0-9_]", "_", "_".join(self.node.path.split("/")[1:]) or id_) + "_value"
        TerraformStack.of(self).add_override(
            f"ephemeral.aws_secretsmanager_random_password.{value}",
            {"password_length": props.length, "exclude_punctuation": True, "include_space": False})
        SecretsmanagerSecretVersion(
            self, "version", secret_id=self.secret.id,
            secret_string_wo=f"${{ephemeral.aws_secretsmanager_random_password.{value}.random_password}}",
            secret_string_wo_version=props.version,
        )
        self.arn = self.secret.arn
        self.name = self.secret.name
