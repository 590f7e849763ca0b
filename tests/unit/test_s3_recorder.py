"""How the recording S3 front (tests/e2e/s3_recorder.py) maps path-style S3 HTTP requests to IAM requests."""
from __future__ import annotations

import pytest

from tests.e2e.s3_recorder import iam_requests


def one(method, target, headers=None, body=b""):
    return [(r.action, r.resource, dict(r.context)) for r in iam_requests(method, target, headers or {}, body)]


def test_bucket_requests():
    assert one("GET", "/b?list-type=2&prefix=source%3Derp%2F&delimiter=%2F") == [
        ("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "source=erp/"})]
    assert one("GET", "/b/?list-type=2") == [("s3:ListBucket", "arn:aws:s3:::b", {})]
    assert one("GET", "/b?location") == [("s3:GetBucketLocation", "arn:aws:s3:::b", {})]
    assert one("HEAD", "/b") == [("s3:ListBucket", "arn:aws:s3:::b", {})]
    body = b"<Delete><Object><Key>a/</Key></Object><Object><Key>a/b%3D1/</Key></Object></Delete>"
    assert one("POST", "/b/?delete", body=body) == [
        ("s3:DeleteObject", "arn:aws:s3:::b/a/", {}), ("s3:DeleteObject", "arn:aws:s3:::b/a/b=1/", {})]


def test_object_requests():
    assert one("HEAD", "/b/k%3D1/x") == [("s3:GetObject", "arn:aws:s3:::b/k=1/x", {})]
    assert one("GET", "/b/k") == [("s3:GetObject", "arn:aws:s3:::b/k", {})]
    assert one("PUT", "/b/k") == [("s3:PutObject", "arn:aws:s3:::b/k", {})]
    assert one("PUT", "/b/k", {"x-amz-copy-source": "/b/src%3D1/f"}) == [
        ("s3:GetObject", "arn:aws:s3:::b/src=1/f", {}), ("s3:PutObject", "arn:aws:s3:::b/k", {})]
    assert one("POST", "/b/k?uploads") == [("s3:PutObject", "arn:aws:s3:::b/k", {})]
    assert one("PUT", "/b/k?partNumber=1&uploadId=u") == [("s3:PutObject", "arn:aws:s3:::b/k", {})]
    assert one("POST", "/b/k?uploadId=u") == [("s3:PutObject", "arn:aws:s3:::b/k", {})]
    assert one("DELETE", "/b/k?uploadId=u") == [("s3:AbortMultipartUpload", "arn:aws:s3:::b/k", {})]
    assert one("DELETE", "/b/k") == [("s3:DeleteObject", "arn:aws:s3:::b/k", {})]


def test_unknown_requests_are_errors():
    with pytest.raises(ValueError, match="unmapped"):
        iam_requests("PUT", "/b/k?tagging", {}, b"")
    with pytest.raises(ValueError, match="unmapped"):
        iam_requests("PUT", "/b?versioning", {}, b"")
