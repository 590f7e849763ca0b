"""The state objects' conditional writes (lakehouse/objects.py) against the emulator's S3: what the
manifests, journals and publication records rely on to keep two overlapping runs from losing work."""
from __future__ import annotations

import pytest

from lakehouse import manifest as mf
from lakehouse import objects
from local_runtime.aws import environment

pytestmark = pytest.mark.e2e


@pytest.fixture()
def s3_state(emulator, aws, monkeypatch):
    for name, value in environment(emulator.endpoint).items():
        monkeypatch.setenv(name, value)
    aws("s3").create_bucket(Bucket="state-test")
    yield "s3://state-test"


def test_s3_conditional_writes(s3_state):
    uri = f"{s3_state}/state/job/manifest.json"
    first = objects.put(uri, "a", create_only=True)
    with pytest.raises(objects.ConcurrentUpdate, match="exists"):
        objects.put(uri, "b", create_only=True)
    second = objects.put(uri, "b", if_match=first)
    with pytest.raises(objects.ConcurrentUpdate, match="no longer version"):
        objects.put(uri, "c", if_match=first)
    assert objects.get(uri) == objects.Stored("b", second)
    assert objects.list_versions(f"{s3_state}/state/", ".json") == {uri: second}
    objects.delete(uri)
    assert objects.get(uri) is None


def test_two_overlapping_manifest_commits_lose_nothing(s3_state):
    """Two runs read the same manifest; the second commit fails instead of dropping the first one's
    objects, and after re-reading it keeps both."""
    uri = f"{s3_state}/state/b2s/manifest.json"
    a, b = mf.load(uri, "b2s"), mf.load(uri, "b2s")
    a.add({"source=erp/entity=claim/ingest_date=2024-06-01/a.jsonl": "ea"}, {"run_id": "a"})
    b.add({"source=erp/entity=claim/ingest_date=2024-06-01/b.jsonl": "eb"}, {"run_id": "b"})
    a.commit()
    with pytest.raises(objects.ConcurrentUpdate):
        b.commit()
    retry = mf.load(uri, "b2s")
    retry.add({"source=erp/entity=claim/ingest_date=2024-06-01/b.jsonl": "eb"}, {"run_id": "b"})
    retry.commit()
    assert set(mf.load(uri, "b2s").objects) == {"source=erp/entity=claim/ingest_date=2024-06-01/a.jsonl",
                                                 "source=erp/entity=claim/ingest_date=2024-06-01/b.jsonl"}
