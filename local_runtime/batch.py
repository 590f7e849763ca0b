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

After each Glue run, the runner does what Glue and CloudWatch would (:func:`report_run`): the run's output goes
to the job's output log group, its state change to the deployed EventBridge failure rules, its run summary's
metrics to CloudWatch. (An EMR step's output goes to S3 on AWS, where CloudWatch extracts nothing: not here
either.)

A run of several jobs (the demo: the EMR steps, then the Glue jobs) can share one warm driver, :class:`JobHost`:
each job is fetched and argued exactly as above and runs as its script's ``__main__``, without paying the
JVM's and the session's start again (:mod:`local_runtime.job_host`).

A job's output goes to ``.state/logs/batch/<name>.log`` as it is (the jobs' JSON log lines and run summary,
:mod:`lakehouse.run_log`); streamed to the terminal, each JSON line is shown as what it says (:func:`shown`).
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from data_contracts.metrics import RECORD_COUNTS, RUN_DURATION, RUN_FAILED
from lakehouse.run_log import RUN_SUMMARY, parse_line
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



def _command(script: Path, script_args: list[str], py_files: list[Path], tls_endpoint: str | None,
             driver_memory: str, shuffle_partitions: int) -> list[str]:
    conf = spark_conf(tls_endpoint, shuffle_partitions=shuffle_partitions, driver_memory=driver_memory)
    cmd = [str(SPARK_SUBMIT), "--master", conf.pop("spark.master"), "--driver-memory", conf.pop("spark.driver.memory")]
    if py_files:
        cmd += ["--py-files", ",".join(str(p) for p in py_files)]
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]
    return cmd + [str(script), *script_args]


def _environment(endpoint: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
                "PYSPARK_DRIVER_PYTHON": sys.executable})
    if endpoint:
        env.update(environment(endpoint))
    return env


def shown(line: str) -> str:
    """A line of a job's output as the terminal shows it: a JSON log line as ``[<job>] <message>``, the run
    summary as ``[<job>] run <succeeded|FAILED> in <s> s (<counts>)``, any other line as it is."""
    said = parse_line(line)
    if said is None:
        return line
    job = said.get("job", "?")
    if said["event"] == RUN_SUMMARY:
        counts = ", ".join(f"{name} {said[name]}" for name in RECORD_COUNTS if name in said)
        verdict = "FAILED" if said.get(RUN_FAILED) else "succeeded"
        return (f"[{job}] run {verdict} in {said.get(RUN_DURATION)} s" + (f" ({counts})" if counts else "")
                + (f": {said['error']}" if said.get("error") else "") + "\n")
    return f"[{job}] {said.get('message') or said['event']}\n"


def _log_path(name: str) -> Path:
    log = STATE / "logs" / "batch" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    return log


def _submit_via(name, script, script_args, py_files, endpoint, tls_endpoint, driver_memory, shuffle_partitions,
                stream) -> RunResult:
    cmd = _command(script, script_args, py_files, tls_endpoint, driver_memory, shuffle_partitions)
    log = _log_path(name)
    start = time.monotonic()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, env=_environment(endpoint), stdout=subprocess.PIPE, stderr=fh, text=True,
                                cwd=ROOT)
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            if stream:
                print(f"    | {shown(line)}", end="", flush=True)
        returncode = proc.wait()
    return RunResult(name, returncode, time.monotonic() - start, log)


class JobHost:
    """A warm local Spark for the jobs of one run: one spark-submit of :mod:`local_runtime.job_host`, whose
    driver runs each job script it is sent (fetched and argued exactly as for its own spark-submit), so the
    JVM, the session and the Python workers start once per run instead of once per job.

    Use it as a context manager and pass it to :func:`run_glue_job` / :func:`run_emr_steps` (``host=``). Every
    job's output goes to its own log (``.state/logs/batch/<name>.log``), as with spark-submit. The host is
    started on the first job with that job's shared code (``--py-files``); a job whose shared code differs (by
    content), or any job after a failed one, gets a fresh host. ``LAKEFORGE_*`` variables are sent with each job
    as the caller has them at that moment. The host's driver memory is the one given here.
    """

    def __init__(self, endpoint: str | None, *, driver_memory: str = "2g", shuffle_partitions: int = 4) -> None:
        self.endpoint, self.driver_memory, self.shuffle_partitions = endpoint, driver_memory, shuffle_partitions
        self.starts = 0           # spark-submits made (1 for a run whose jobs all succeed)
        self._proc = None
        self._tls = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._digest: str | None = None
        self._host_log = None     # the host's stderr between jobs (.state/logs/batch/job-host.log)
        self._log = None          # the current job's log: the host's stderr during the job goes there
        self._lock = threading.Lock()
        self._sent_env: set[str] = set()
        self._conn = None         # the connection jobs are sent on (and its file)
        self._requests = None

    def __enter__(self) -> "JobHost":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def _digest_of(py_files: list[Path]) -> str:
        digest = hashlib.sha256()
        for path in py_files:
            # what Python imports from it: EMR's and Glue's copies of the shared code have other names
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as zf:
                    for info in sorted(zf.infolist(), key=lambda i: i.filename):
                        digest.update(info.filename.encode() + b"\0" + hashlib.sha256(zf.read(info)).digest())
            else:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
            digest.update(b"\1")
        return digest.hexdigest()

    def _start(self, py_files: list[Path]) -> None:
        import shutil

        self._tmp = tempfile.TemporaryDirectory(prefix="job-host-")
        kept = []
        for path in py_files:  # the caller's copies are temporary: the host keeps its own
            target = Path(self._tmp.name) / path.name
            shutil.copyfile(path, target)
            kept.append(target)
        tls_endpoint = None
        if self.endpoint:
            self._tls = TlsProxy(self.endpoint)
            tls_endpoint = self._tls.__enter__()
        address = str(Path(self._tmp.name) / "host.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(address)
        listener.listen(1)
        cmd = _command(Path(__file__).with_name("job_host.py"), [address], kept, tls_endpoint, self.driver_memory,
                       self.shuffle_partitions)
        self._host_log = open(_log_path("job-host"), "w")
        self._proc = subprocess.Popen(cmd, env=_environment(self.endpoint), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        self.starts += 1
        threading.Thread(target=self._copy_stderr, args=(self._proc,), daemon=True).start()
        listener.settimeout(1.0)
        try:
            while self._requests is None:  # the driver connects once its session is up
                try:
                    self._conn = listener.accept()[0]
                    self._requests = self._conn.makefile("w", encoding="utf-8")
                except socket.timeout:
                    if self._proc.poll() is not None:
                        break  # it died starting: the first job's run reports its output and exit code
        finally:
            listener.close()

    def _copy_stderr(self, proc) -> None:
        for line in proc.stderr:
            with self._lock:
                target = self._log or self._host_log
                if target is not None and not target.closed:
                    target.write(line)

    def _copy_rest(self, proc, log) -> None:
        """What the host prints on its way out (after its last job) goes to its own log."""
        for line in proc.stdout:
            with self._lock:
                if log is not None and not log.closed:
                    log.write(line)

    def _switch_log(self, fh) -> None:
        with self._lock:
            self._log = fh

    def run(self, name: str, script: Path, script_args: list[str], py_files: list[Path], *,
            stream: bool = True) -> RunResult:
        """Run one job script in the host (started, or restarted, as the class says); returns its result."""
        from local_runtime.job_host import MARK

        digest = self._digest_of(py_files)
        if self._proc is not None and (self._proc.poll() is not None or digest != self._digest):
            self.close()
        if self._proc is None:
            self._start(py_files)
            self._digest = digest
        names = {k for k in os.environ if k.startswith("LAKEFORGE_")} | self._sent_env
        env = {k: os.environ.get(k) for k in sorted(names)}
        self._sent_env = names
        log = _log_path(name)
        start = time.monotonic()
        returncode = None
        with open(log, "w") as fh:
            self._switch_log(fh)
            try:
                self._requests.write(json.dumps({"name": name, "script": str(script), "args": list(script_args),
                                                 "env": env}) + "\n")
                self._requests.flush()
            except (AttributeError, OSError):
                pass  # the host is gone: its output and exit code follow
            for line in self._proc.stdout:
                if line.startswith(MARK + " "):
                    returncode = int(line.split()[2])
                    break
                fh.write(line)
                if stream:
                    print(f"    | {shown(line)}", end="", flush=True)
            if returncode is None:  # the host ended during the job (a killed driver): its exit code
                returncode = self._proc.wait()
                time.sleep(0.2)  # the rest of its stderr into this job's log
            self._switch_log(None)
        result = RunResult(name, returncode, time.monotonic() - start, log)
        if returncode != 0:
            self.close()  # a failed job may leave the driver in any state: the next job gets a fresh one
        return result

    def close(self) -> None:
        """Stop the host (its driver stops the session), and the TLS front."""
        proc, self._proc = self._proc, None
        requests, conn, self._requests, self._conn = self._requests, self._conn, None, None
        for end in (requests, conn):  # the end of requests: the host's driver stops
            if end is not None:
                try:
                    end.close()
                except OSError:
                    pass
        if proc is not None:
            threading.Thread(target=self._copy_rest, args=(proc, self._host_log), daemon=True).start()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._tls is not None:
            self._tls.__exit__(None, None, None)
            self._tls = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        with self._lock:
            if self._host_log is not None:
                self._host_log.close()
            self._host_log, self._log = None, None


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


def _run(host: JobHost | None, name: str, script: Path, script_args: list[str], py_files: list[Path],
         endpoint: str, driver_memory: str, stream: bool) -> RunResult:
    if host is not None:
        return host.run(name, script, script_args, py_files, stream=stream)
    return spark_submit(name, script, script_args, py_files, endpoint, driver_memory=driver_memory, stream=stream)


def run_glue_job(job_name: str, endpoint: str, run_args: dict[str, str] | None = None, *,
                 stream: bool = True, driver_memory: str = "2g", host: JobHost | None = None) -> RunResult:
    """Run a deployed Glue job as Glue would (see the module docstring): its own spark-submit, or, with
    ``host``, in that warm driver (whose memory is then the host's)."""
    glue, s3 = client("glue", endpoint), client("s3", endpoint)
    job = glue.get_job(JobName=job_name)["Job"]
    script_uri, script_args, extra = glue_job_command(job, run_args)
    with tempfile.TemporaryDirectory(prefix=f"glue-{job_name}-") as tmp:
        script = _download(s3, script_uri, Path(tmp))
        py_files = [_download(s3, uri, Path(tmp)) for uri in extra]
        result = _run(host, job_name, script, script_args, py_files, endpoint, driver_memory, stream)
    report_run(endpoint, job, result)
    if result.returncode != 0:
        raise RuntimeError(f"Glue job {job_name} failed (exit {result.returncode}); log: {result.log}")
    return result


def report_run(endpoint: str, job: dict, result: RunResult) -> None:
    """What Glue and CloudWatch do after a run (:mod:`local_runtime.cloudwatch`): the run's output into the job's
    output log group, its state change to EventBridge's rules, and the metrics of its run summary."""
    from local_runtime import cloudwatch

    run_id = f"jr_{uuid.uuid4().hex}"
    cloudwatch.ship_job_log(endpoint, job, run_id, result.log.read_text(errors="replace").splitlines())
    cloudwatch.job_state_changed(endpoint, job["Name"], "SUCCEEDED" if result.returncode == 0 else "FAILED", run_id,
                                 "" if result.returncode == 0 else f"exit {result.returncode}")
    cloudwatch.forward_metrics(endpoint)


def run_emr_steps(steps: list[dict], endpoint: str, *, stream: bool = True,
                  host: JobHost | None = None) -> list[RunResult]:
    """Run rendered EMR steps (``emr_steps.steps.render_steps``) with spark-submit (or in ``host``), in order.

    The step script and the shared-code zip are fetched from where the deployment uploaded them
    (``script_uri``, ``py_files`` in the artifacts bucket), as the EMR cluster would.
    """
    s3 = client("s3", endpoint)
    results = []
    for step in steps:
        with tempfile.TemporaryDirectory(prefix="emr-step-") as tmp:
            script = _download(s3, step["script_uri"], Path(tmp))
            py_files = [_download(s3, uri, Path(tmp)) for uri in step.get("py_files", "").split(",") if uri]
            result = _run(host, step["name"], script, list(step["args"]), py_files, endpoint, "2g", stream)
        results.append(result)
        if result.returncode != 0:
            raise RuntimeError(f"EMR step {step['name']} failed (exit {result.returncode}); log: {result.log}")
    return results
