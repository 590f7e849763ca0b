"""Options of :class:`modules.s3_artifact.S3Artifact` (standard library only: see :mod:`modules.options`)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .options import Limit, Props, create_option, option, outputs, tags_option


@dataclass(frozen=True)
class S3ArtifactProps(Props):
    """Options of :class:`modules.s3_artifact.S3Artifact`."""

    bucket: str = option(doc="Bucket name (token allowed).")
    key: str = option(
        limit=Limit("non-empty, without a leading slash", lambda v: bool(v) and not v.startswith("/"),
                    terraform='length({v}) > 0 && !startswith({v}, "/")'),
        doc="Object key, e.g. ``glue/scripts/bronze_to_silver.py``.")
    path: Path = option(doc="Local file to upload. Must exist at synth time.")
    kms_key_arn: str | None = option(
        None,
        doc="SSE-KMS key for the object; ``None`` = the bucket's default encryption.")
    content_type: str = option("application/octet-stream", doc="``Content-Type`` of the object.")
    tags: dict[str, str] = tags_option("the object")
    create: bool = create_option()


OUTPUTS = outputs(
    ("object", "The ``aws_s3_object`` resource."),
    ("key", "Object key."),
    ("uri", "``s3://<bucket>/<key>``."),
    ("source_hash", "Hex MD5 of the file (Terraform re-uploads exactly when it changes)."),
)
