"""Local Spark 3.5 (the engine of Glue 5 and EMR 7) wired to the emulator's S3 through s3a://.

Maven Central is not reachable here, so hadoop-aws and the AWS SDK bundle come from the
``sagemaker-pyspark`` source archive on PyPI (pinned, with the jars' SHA-256, in requirements.txt),
extracted once into ``.cache/jars``. On a machine with internet, ``LAKEFORGE_SPARK_PACKAGES`` may name
Maven coordinates instead (e.g. ``org.apache.hadoop:hadoop-aws:3.3.4``).
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from lakehouse.job import SPARK_CONF
from local_runtime.paths import CACHE, ROOT

JARS_DIR = CACHE / "jars"


def _pins() -> tuple[str, dict[str, str]]:
    text = (ROOT / "requirements.txt").read_text()
    archive = re.search(r"^# (sagemaker-pyspark==[\d.]+) \(source archive\)", text, re.M)
    hashes = dict((name, digest) for name, digest in re.findall(r"^# sha256 (\S+\.jar) ([0-9a-f]{64})$", text, re.M))
    if not archive or not hashes:
        raise RuntimeError("requirements.txt lacks the download-only sagemaker-pyspark pin and jar hashes")
    return archive.group(1), hashes


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def s3a_jars() -> list[Path]:
    """Paths of hadoop-aws and the AWS SDK bundle, downloading and checking them on first use."""
    requirement, hashes = _pins()
    wanted = [JARS_DIR / name for name in sorted(hashes)]
    if all(p.exists() for p in wanted):
        return wanted
    JARS_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        print(f"[spark] downloading {requirement} (source archive, ~180 MB) for the s3a jars", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        "--no-build-isolation", "-d", tmp, requirement], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        archives = list(Path(tmp).glob("sagemaker_pyspark-*.tar.gz"))
        if not archives:  # --no-build-isolation metadata prep can fail after the download; retry plainly
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                            "-d", tmp, requirement], check=True)
            archives = list(Path(tmp).glob("sagemaker_pyspark-*.tar.gz"))
        with tarfile.open(archives[0]) as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                if name in hashes and member.isfile():
                    src = tar.extractfile(member)
                    part = JARS_DIR / (name + ".part")
                    with open(part, "wb") as out:
                        out.write(src.read())
                    if _sha256(part) != hashes[name]:
                        part.unlink()
                        raise RuntimeError(f"{name}: SHA-256 mismatch with requirements.txt")
                    part.replace(JARS_DIR / name)
    missing = [p.name for p in wanted if not p.exists()]
    if missing:
        raise RuntimeError(f"jars not found in {requirement}: {missing}")
    return wanted


def spark_conf(endpoint: str | None, *, shuffle_partitions: int = 4, driver_memory: str = "2g") -> dict[str, str]:
    """Spark settings for local[2] runs (the jobs' :data:`lakehouse.job.SPARK_CONF` included); with ``endpoint``,
    s3a:// goes to that S3 emulator."""
    conf = {
        "spark.master": os.environ.get("LAKEFORGE_SPARK_MASTER", "local[2]"),
        "spark.driver.memory": driver_memory,
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        # the status store is kept even without the UI: bound it, so a long-lived session (the test suite's)
        # does not fill its heap with finished jobs
        "spark.ui.retainedJobs": "100",
        "spark.ui.retainedStages": "100",
        "spark.ui.retainedTasks": "10000",
        "spark.sql.ui.retainedExecutions": "100",
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        **SPARK_CONF,  # what every job relies on (lakehouse.job)
        "spark.sql.adaptive.enabled": "true",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={Path(__file__).with_name('log4j2.properties')}",
    }
    if endpoint and endpoint.startswith("https://127.0.0.1"):
        # the local TLS proxy's self-signed certificate (local_runtime/tls_proxy.py)
        conf["spark.driver.extraJavaOptions"] += " -Dcom.amazonaws.sdk.disableCertChecking=true"
    if endpoint:
        conf.update({
            "spark.jars": ",".join(str(p) for p in s3a_jars()),
            "spark.hadoop.fs.s3a.endpoint": endpoint,
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.connection.ssl.enabled": str(endpoint.startswith("https")).lower(),
            "spark.hadoop.fs.s3a.access.key": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
            "spark.hadoop.fs.s3a.secret.key": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
            "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
            "spark.hadoop.fs.s3a.change.detection.mode": "none",
            "spark.hadoop.fs.s3a.committer.name": "directory",
            "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
            "spark.hadoop.fs.s3a.fast.upload": "true",
            "spark.hadoop.fs.s3a.multiobjectdelete.enable": "true",
        })
    return conf


if __name__ == "__main__":
    for jar in s3a_jars():
        print(jar)
