"""Run Glue jobs and EMR steps locally, the way AWS runs them, against what Terraform deployed.

Glue: the job's definition is read from the emulator's Glue API (``GetJob``: script location,
default arguments, ``--extra-py-files``), the script and the shared code are fetched from the
artifacts bucket, and the script runs under ``spark-submit`` with local Spark 3.5 (``local[2]``) and
the merged arguments (defaults overridden by the run's arguments), exactly as Glue merges them.
``s3://`` paths go to the emulator's S3 through s3a (and boto3 clients to the emulator's endpoint). The
emulator itself only marks Spark job runs as succeeded without running anything, which is why this runner
exists. A job that starts no Spark session (the warehouse load) runs the same way: spark-submit runs its script
as the driver.

EMR: the step list (``emr_steps/steps.py``, the same data the EMR Terraform module declares) is
rendered for the deployed buckets and each step runs with ``spark-submit``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from local_runtime.aws import client, environment
from local_runtime.paths import ROOT, STATE
from local_runtime.spark import spark_conf
from local_runtime.tls_proxy import TlsProxy

SPARK_SUBMIT = Path(sys.executable).parent / "spark-submit"
# Glue's own arguments, which configure the service rather than the script.
_GLUE_SERVICE_ARGS = {"--enable-continuous-cloudwatch-log", "--enable-metrics", "--enable-job-insights",
                      "--continuous-log-logGroup", "--enable-observability-metrics", "--TempDir",
                      "--enable-spark-ui", "--spark-event-logs-path", "--enable-glue-datacatalog",
                      "--job-language", "--datalake-formats", "--conf"}


@dataclass
class RunResult:
    name: str
    returncode: int
    seconds: float
    log: Path


def _download(s3, uri: str, target_dir: Path) -> Path:
    parsed = urlparse(uri)
    target = target_dir / Path(parsed.path).name
    s3.download_file(parsed.netloc, parsed.path.lstrip("/"), str(target))
    return target


def spark_submit(name: str, script: Path, script_args: list[str], py_files: list[Path], endpoint: str | None,
                 driver_memory: str = "2g", shuffle_partitions: int = 4, stream: bool = True) -> RunResult:
    """``spark-submit`` a job script on local[2]. With ``endpoint`` (the emulator), s3:// goes there through
    the TLS front (see local_runtime/tls_proxy.py); without, the job sees only local paths."""
    if endpoint is None:
        return _submit_via(name, script, script_args, py_files, None, None, driver_memory, shuffle_partitions,
                           stream)
    with TlsProxy(endpoint) as tls_endpoint:
        return _submit_via(name, script, script_args, py_files, endpoint, tls_endpoint, driver_memory,
                           shuffle_partitions, stream)



def _submit_via(name, script, script_args, py_files, endpoint, tls_endpoint, driver_memory, shuffle_partitions,
                stream) -> RunResult:
    conf = spark_conf(tls_endpoint, shuffle_partitions=shuffle_partitions, driver_memory=driver_memory)
    cmd = [str(SPARK_SUBMIT), "--master", conf.pop("spark.master"), "--driver-memory", conf.pop("spark.driver.memory")]
    if py_files:
        cmd += ["--py-files", ",".join(str(p) for p in py_files)]
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]
    cmd += [str(script), *script_args]
    log = STATE / "logs" / "batch" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({"SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
                "PYSPARK_DRIVER_PYTHON": sys.executable})
    if endpoint:
        env.update(environment(endpoint))
    start = time.monotonic()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=fh, text=True, cwd=ROOT)
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            if stream:
                print(f"    | {line}", end="", flush=True)
        returncode = proc.wait()
    return RunResult(name, returncode, time.monotonic() - start, log)


def glue_job_command(job: dict, run_args: dict[str, str] | None = None) -> tuple[str, list[str], list[str]]:
    """(script location, script arguments, extra-py-files URIs) as Glue would assemble them."""
    args = dict(job.get("DefaultArguments") or {})
    args.update(run_args or {})
    extra = [u for u in args.pop("--extra-py-files", "").split(",") if u]
    script_args = ["--JOB_NAME", job["Name"]]
    for key in sorted(args):
        if key in _GLUE_SERVICE_ARGS:
            continue
        script_args += [key, args[key]]
    return job["Command"]["ScriptLocation"], script_args, extra


def run_glue_job(job_name: str, endpoint: str, run_args: dict[str, str] | None = None, *,
                 stream: bool = True, driver_memory: str = "2g") -> RunResult:
    glue, s3 = client("glue", endpoint), client("s3", endpoint)
    job = glue.get_job(JobName=job_name)["Job"]
    script_uri, script_args, extra = glue_job_command(job, run_args)
    with tempfile.TemporaryDirectory(prefix=f"glue-{job_name}-") as tmp:
        script = _download(s3, script_uri, Path(tmp))
        py_files = [_download(s3, uri, Path(tmp)) for uri in extra]
        result = spark_submit(job_name, script, script_args, py_files, endpoint, driver_memory=driver_memory,
                         stream=stream)
    if result.returncode != 0:
        raise RuntimeError(f"Glue job {job_name} failed (exit {result.returncode}); log: {result.log}")
    return result


def run_emr_steps(steps: list[dict], endpoint: str, *, stream: bool = True) -> list[RunResult]:
    """Run rendered EMR steps (``emr_steps.steps.render_steps``) with spark-submit, in order.

    The step script and the shared-code zip are fetched from where the deployment uploaded them
    (``script_uri``, ``py_files`` in the artifacts bucket), as the EMR cluster would.
    """
    s3 = client("s3", endpoint)
    results = []
    for step in steps:
        with tempfile.TemporaryDirectory(prefix="emr-step-") as tmp:
            script = _download(s3, step["script_uri"], Path(tmp))
            py_files = [_download(s3, uri, Path(tmp)) for uri in step.get("py_files", "").split(",") if uri]
            result = spark_submit(step["name"], script, list(step["args"]), py_files, endpoint, stream=stream)
        results.append(result)
        if result.returncode != 0:
            raise RuntimeError(f"EMR step {step['name']} failed (exit {result.returncode}); log: {result.log}")
    return results
