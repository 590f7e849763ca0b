"""The deployed zips: exactly the code their entry points import, no sample data, deterministic."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from importlib.metadata import distribution
from pathlib import Path

import pytest

from bundling.glue_libs import build_glue_libs, entry_scripts
from bundling.imports import closure, imported_modules
from bundling.lambda_zip import DATA_FILES, FUNCTIONS, build_function_zip, data_files, handler_closure
from sample_data import generate, to_kinesis_event, to_msk_event

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_PROVIDED = {"boto3", "botocore"}  # by the Lambda Python runtime
ENV = {"BRONZE_BUCKET": "zip-bronze", "QUARANTINE_BUCKET": "zip-quarantine", "LOG_LEVEL": "WARNING",
       "POWERTOOLS_SERVICE_NAME": "zip-test", "POWERTOOLS_METRICS_NAMESPACE": "ZipTest"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Zip name -> (first build, second build), each built from scratch in its own folder."""
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    zips = {name: (build_function_zip(name, first), build_function_zip(name, second)) for name in FUNCTIONS}
    zips["glue"] = (build_glue_libs(first / "lakehouse.zip"), build_glue_libs(second / "lakehouse.zip"))
    return zips


def third_party(name: str) -> set[str]:
    """Archive names of the distributions bundled with a zip."""
    return {str(entry) for dist in FUNCTIONS.get(name, ()) for entry in distribution(dist).files or ()}


def first_party(name: str, path: Path) -> list[str]:
    """Archive names of a zip's own code (everything but its bundled distributions)."""
    with zipfile.ZipFile(path) as zf:
        return sorted(set(zf.namelist()) - third_party(name))


def extract(path: Path, target: Path) -> Path:
    with zipfile.ZipFile(path) as zf:
        zf.extractall(target)
    return target


def test_building_twice_gives_identical_bytes(built):
    for name, (one, two) in built.items():
        assert one.read_bytes() == two.read_bytes(), name


def test_no_sample_data_in_any_zip(built):
    for name, (path, _) in built.items():
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            assert not [n for n in names if n.startswith("sample_data/") or "/sample_data/" in n], name
            for arcname in (n for n in names if n.endswith(".py")):
                module = arcname[:-3].replace("/", ".").removesuffix(".__init__")
                imports = imported_modules(zf.read(arcname), module, arcname.endswith("__init__.py"), arcname)
                assert not [m for names_ in imports for m in names_ if m.split(".")[0] == "sample_data"], arcname


def test_only_code_no_data_files(built):
    """Code only, besides the data files a function declares it reads (DATA_FILES: the query API's SQL)."""
    for name, (path, _) in built.items():
        declared = set(data_files(name)) if name in FUNCTIONS else set()
        assert [n for n in first_party(name, path) if not n.endswith(".py") and n not in declared] == [], name
        assert declared <= set(first_party(name, path)), name
    assert set(data_files("query_api")) >= {"queries/kpi_loss_ratio.sql", "queries/kpi_market_share.sql"}
    assert set(DATA_FILES) <= set(FUNCTIONS)


@pytest.mark.parametrize("function", ["ingest", "ingest_msk"])
def test_lambda_zip_holds_the_handler_and_what_it_imports(built, function):
    names = first_party(function, built[function][0])
    assert "app.py" in names
    assert {"data_contracts/validation.py", "data_contracts/layout.py", "lambda_src/__init__.py",
            "lambda_src/ingest_core/__init__.py"} <= set(names)
    assert "data_contracts/export.py" not in names and not [n for n in names if "schemas/" in n]
    # the handler sits at the root; the other source's adapter is not in the zip
    assert not [n for n in names if n.startswith(("lambda_src/ingest/", "lambda_src/ingest_msk/"))]


def test_glue_zip_is_the_closure_of_the_job_scripts(built, tmp_path):
    """Resolved against the zip alone, the entry scripts' imports reach every file in it and miss none."""
    path = built["glue"][0]
    folder = extract(path, tmp_path / "glue")
    names = set(first_party("glue", path))
    found = closure(entry_scripts(), roots=[folder])
    assert set(found.files) == names
    repo_packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert not found.external & repo_packages  # every first-party import resolves inside the zip
    scripts = {p.relative_to(ROOT).as_posix() for p in entry_scripts()}
    assert {"glue_jobs/bronze_to_silver.py", "glue_jobs/silver_to_gold.py", "emr_steps/backfill_erp.py"} <= scripts
    assert not names & scripts
    assert {"lakehouse/job.py", "data_contracts/contracts.py"} <= names
    assert not [n for n in names if n.startswith(("glue_jobs/", "emr_steps/", "lambda_src/"))]


def test_glue_entry_scripts_import_from_the_zip(built, tmp_path):
    """Each job script imports with only the zip (and the virtualenv's pyspark) on its path."""
    folder = extract(built["glue"][0], tmp_path / "glue")
    code = (
        "import importlib.util, json, sys\n"
        f"sys.path.insert(0, {str(folder)!r})\n"
        f"for i, script in enumerate({[str(p) for p in entry_scripts()]!r}):\n"
        "    spec = importlib.util.spec_from_file_location(f'entry_{i}', script)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(json.dumps(sorted(m.__file__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)\n"
        "                        and not m.__file__.startswith((sys.prefix, sys.base_prefix)))))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          check=False, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.splitlines()[-1])  # every module that is neither stdlib nor third party
    assert loaded and all(path.startswith(str(folder) + os.sep) for path in loaded), loaded


def test_third_party_imports_are_bundled_or_provided():
    for name in FUNCTIONS:
        bundled = {Path(entry).parts[0].removesuffix(".py") for entry in third_party(name)}
        missing = handler_closure(name).external - set(sys.stdlib_module_names) - bundled - RUNTIME_PROVIDED
        assert not missing, (name, missing)


RUN_HANDLER = """
import base64, json, os, sys
paths = sys.argv[1].split(os.pathsep)
sys.path[:0] = paths
import app
from lambda_src.ingest_core.handler import ContainerS3

class Recorder:
    def __init__(self):
        self.calls = []
    def put_object(self, **kw):
        self.calls.append([kw["Bucket"], kw["Key"], kw["ContentType"], base64.b64encode(kw["Body"]).decode()])
    def list_objects_v2(self, **kw):
        self.calls.append([kw["Bucket"], kw["Prefix"]])
        return {"Contents": [], "IsTruncated": False}

s3 = Recorder()
response = app.handler_for(s3)(json.load(open(sys.argv[2])), None)
loaded = sorted(m.__file__[len(paths[0]) + 1:] for m in list(sys.modules.values())
                if getattr(m, "__file__", None) and m.__file__.startswith(paths[0] + os.sep))
json.dump({"response": response, "calls": s3.calls, "loaded": loaded, "module": app.__name__,
           "container": isinstance(app.lambda_handler.s3, ContainerS3), "boto3": "boto3" in sys.modules},
          open(sys.argv[3], "w"))
"""


def run_handler(tmp_path: Path, label: str, paths: list[Path], event: dict, isolation: list[str]) -> dict:
    """Run ``app.handler_for(<recording fake S3>)`` on ``event`` in a fresh interpreter with ``paths`` first
    on ``sys.path``; returns the response, the puts and the files loaded from ``paths[0]``."""
    (tmp_path / "event.json").write_text(json.dumps(event))
    (tmp_path / "run.py").write_text(RUN_HANDLER)
    out = tmp_path / f"{label}.json"
    done = subprocess.run([sys.executable, *isolation, str(tmp_path / "run.py"), os.pathsep.join(map(str, paths)),
                           str(tmp_path / "event.json"), str(out)], cwd=tmp_path, capture_output=True, text=True,
                          check=False, env={"PATH": "/usr/bin:/bin", **ENV})
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


@pytest.mark.parametrize("function, event", [
    ("ingest", to_kinesis_event(generate(12, seed=3, bad_share=0.25))),
    ("ingest_msk", to_msk_event([*generate(12, seed=3, bad_share=0.25), None], partitions=2)),
])
def test_handler_runs_from_the_zip_alone(built, tmp_path, function, event):
    """With only the extracted zip and the standard library on sys.path (as in /var/task), the handler
    (``app.lambda_handler``) imports, runs on a small event of its source with a fake S3, writes exactly what the
    repository's handler writes, and every first-party module in the zip was loaded on the way."""
    folder = extract(built[function][0], tmp_path / "task")
    zipped = run_handler(tmp_path, "zip", [folder], event, ["-I", "-S"])
    repo = run_handler(tmp_path, "repo", [ROOT / "lambda_src" / function, ROOT], event, ["-I"])
    assert zipped["module"] == "app" and zipped["container"] and not zipped["boto3"]
    assert zipped["response"] == repo["response"] == {"batchItemFailures": []}
    assert zipped["calls"] == repo["calls"] and len(zipped["calls"]) >= 3
    code = [n for n in first_party(function, built[function][0]) if n.endswith(".py")]
    assert sorted(set(code) - set(zipped["loaded"])) == []  # no first-party file that nothing imports


RUN_QUERY_HANDLER = """
import json, os, sys
sys.path[:0] = [sys.argv[1]]
import app

class Athena:
    def start_query_execution(self, **kw):
        self.request = kw
        return {"QueryExecutionId": "q"}
    def get_query_execution(self, **kw):
        return {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}}
    def get_query_results(self, **kw):
        return {"ResultSet": {"Rows": [{"Data": [{"VarCharValue": v} for v in ("0531", "2", "10.00", "40.00")]}]}}

athena = Athena()
def get(path, query=""):
    event = {"rawPath": path, "rawQueryString": query, "requestContext": {"http": {"method": "GET"}}}
    response = app.handler_for(athena, lambda: app.from_env())(event, None)
    return response["statusCode"], json.loads(response["body"])

out = {"list": get("/kpis"), "openapi": get("/openapi.json")[0],
       "kpi": get("/kpis/loss_ratio_by_line_of_business", "state=SP"), "bad": get("/kpis/nope")[0],
       "sql": athena.request["QueryString"], "boto3": "boto3" in sys.modules,
       "sql_files": sorted(os.path.relpath(p, sys.argv[1]) for p in __import__("queries").HERE.glob("*.sql"))}
json.dump(out, open(sys.argv[2], "w"))
"""


def test_the_query_handler_runs_from_its_zip_alone(built, tmp_path):
    """With only the extracted zip and the standard library on sys.path, the query API lists the KPIs from the
    SQL files in the zip and answers a KPI request (Athena faked), without importing boto3."""
    folder = extract(built["query_api"][0], tmp_path / "task")
    (tmp_path / "run.py").write_text(RUN_QUERY_HANDLER)
    done = subprocess.run([sys.executable, "-I", "-S", str(tmp_path / "run.py"), str(folder), str(tmp_path / "out.json")],
                          cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "QUERY_API_ATHENA_WORKGROUP": "wg",
                               "QUERY_API_GLUE_DATABASE": "db", "LOG_LEVEL": "WARNING"})
    assert done.returncode == 0, done.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    from queries import kpi

    assert out["list"][0] == 200 and [k["name"] for k in out["list"][1]["kpis"]] == [k.name for k in kpi.kpis()]
    assert out["openapi"] == 200 and out["bad"] == 404 and not out["boto3"]
    status, body = out["kpi"]
    assert status == 200 and body["rows"] == [{"line_of_business": "0531", "claim_count": 2, "claims_incurred": "10.00",
                                               "premiums_earned": "40.00", "loss_ratio": "0.250000"}]
    assert out["sql"] == kpi.get("loss_ratio_by_line_of_business").sql
    assert out["sql_files"] == sorted(f"queries/{p.name}" for p in (ROOT / "queries").glob("*.sql"))


def test_closure_follows_every_kind_of_import(tmp_path):
    files = {
        "entry.py": "import os\nfrom pkg import sub, CONSTANT\n\ndef late():\n    import pkg.deep.leaf\n",
        "pkg/__init__.py": "CONSTANT = 1\n",
        "pkg/sub.py": "from . import sibling\nfrom .deep import leaf as _leaf\n",
        "pkg/sibling.py": "import other\n",
        "pkg/unused.py": "import sample_data\n",
        "pkg/data.json": "{}\n",
        "pkg/deep/__init__.py": "",
        "pkg/deep/leaf.py": "from .. import sibling\ntry:\n    import ns.mod\nexcept ImportError:\n    pass\n",
        "ns/mod.py": "import third_party_thing\n",
        "other.py": "",
        "shadow.py": "", "shadow/__init__.py": "",
        "user.py": "import shadow\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = closure([tmp_path / "entry.py", tmp_path / "user.py"], roots=[tmp_path])
    assert sorted(found.files) == ["ns/mod.py", "other.py", "pkg/__init__.py", "pkg/deep/__init__.py",
                                   "pkg/deep/leaf.py", "pkg/sibling.py", "pkg/sub.py", "shadow/__init__.py"]
    assert found.external == {"os", "third_party_thing"}
    assert found.modules["pkg.deep.leaf"] == "pkg/deep/leaf.py"
    (tmp_path / "bad.py").write_text("from . import x\n")
    with pytest.raises(ImportError):
        closure([tmp_path / "bad.py"], roots=[tmp_path])
