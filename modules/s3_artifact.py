"""S3Artifact: one local file (a job script, a code zip) uploaded by Terraform to an S3 key.

The file is registered as a cdktf ``TerraformAsset`` (type FILE): synth copies it into the stack folder
and the ``aws_s3_object`` references it by a path relative to the stack, so the synthesized stack is
self-contained and relocatable (like the Lambda zip of :mod:`modules.lambda_function`).
``source_hash`` is the file's MD5 (what Terraform's ``filemd5()`` returns), so Terraform re-uploads
exactly when the bytes change. ``etag`` is not used: with SSE-KMS the ETag is not the MD5, and the
provider rejects ``etag`` together with ``kms_key_id``.

The object is written with SSE-KMS (the lake key; the S3 Bucket Key setting is inherited from the
bucket's default encryption) when ``kms_key_arn`` is set, otherwise the bucket's default encryption
applies.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from constructs import Construct

from .s3_artifact_props import OUTPUTS, S3ArtifactProps
from ._bindings import aws, core
from .options import is_token

__all__ = ["OUTPUTS", "S3Artifact", "S3ArtifactProps", "file_md5"]


def file_md5(path: Path | str) -> str:
    """Hex MD5 of a file (Terraform ``filemd5``)."""
    return hashlib.md5(Path(path).read_bytes()).hexdigest()  # noqa: S324 - change detection, not security


class S3Artifact(Construct):
    """A local file uploaded to S3 by Terraform.

    Options: :class:`S3ArtifactProps`; outputs: :data:`OUTPUTS` (``modules/s3_artifact_props.py``).
    """

    def __init__(self, scope: Construct, id_: str, props: S3ArtifactProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.object = None
        self.key: str | None = None
        self.uri: str | None = None
        self.source_hash: str | None = None
        if not props.create:
            return
        # A Terraform expression (an emitted module's variable) is read by Terraform; a local file is hashed here.
        from_terraform = is_token(str(props.path))
        path = Path(props.path)
        if not from_terraform and not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: build or write it before synth")

        AssetType = core.AssetType
        TerraformAsset = core.TerraformAsset

        S3Object = aws.s3_object.S3Object

        if from_terraform:
            Fn = core.Fn
            source = str(props.path)
            self.source_hash = Fn.filemd5(source)
        else:
            source = TerraformAsset(self, "file", path=str(path.resolve()), type=AssetType.FILE).path
            self.source_hash = file_md5(path)
        self.object = S3Object(
            self, "object",
            bucket=props.bucket,
            key=props.key,
            source=source,
            source_hash=self.source_hash,
            content_type=props.content_type,
            server_side_encryption="aws:kms" if props.kms_key_arn else None,
            kms_key_id=props.kms_key_arn,  # S3 Bucket Key: inherited from the bucket's default encryption
            tags=dict(props.tags),
        )
        self.key = props.key
        self.uri = f"s3://{props.bucket}/{props.key}"
