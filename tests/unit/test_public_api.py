"""The constructs' public API (``modules/__init__.py`` ``__all__``) is what ``modules/README.md`` documents, every
name resolves from its module, importing the package stays cheap, and the package imports itself relatively
(so it works installed as ``lakeforge_constructs``)."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import modules

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("cdktf", "cdktf_cdktf_provider_aws", "constructs", "jsii")


def _documented() -> list[str]:
    text = (ROOT / "modules" / "README.md").read_text()
    block = re.search(r"<!-- BEGIN api: public -->\n(.*?)<!-- END api: public -->", text, re.S)
    assert block, "modules/README.md lacks the Public API block"
    names = []
    for row in block.group(1).splitlines()[2:]:
        cells = row.strip("|").split("|")
        names += re.findall(r"`(\w+)`", "|".join(cells[1:]))
    return names


def test_the_documented_api_is_all():
    documented = _documented()
    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(modules.__all__)
    assert len(modules.__all__) == len(set(modules.__all__))


def test_every_construct_and_its_props_are_public():
    for module, (construct, props, *_) in modules.CONSTRUCTS.items():
        source = (ROOT / "modules" / f"{module}.py").read_text()
        assert f"class {construct}(Construct)" in source, (module, construct)
        assert f"class {props}(Props)" in (ROOT / "modules" / f"{module}_props.py").read_text(), (module, props)
    constructs = {p.stem for p in (ROOT / "modules").glob("*_props.py")}
    assert {f"{m}_props" for m in modules.CONSTRUCTS} == constructs


def test_type_checkers_see_the_same_names():
    tree = ast.parse((ROOT / "modules" / "__init__.py").read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", "") ==
                 "TYPE_CHECKING")
    seen = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1
        seen |= {alias.name: node.module for alias in node.names}
    assert seen == modules._WHERE


def test_importing_the_package_is_cheap_and_every_name_resolves():
    code = (f"import sys, modules; heavy = {HEAVY!r}; "
            "loaded = lambda: [m for m in sys.modules if m.split('.')[0] in heavy]; "
            "assert not loaded(), loaded(); "
            "from modules import DataLakeStorageProps, KinesisStreamProps, LifecycleRule, OptionError, Statement; "
            "assert not loaded(), loaded(); "
            "values = [getattr(modules, name) for name in modules.__all__]; "
            "assert all(isinstance(v, type) for v in values); "
            "assert not [m for m in sys.modules if m.split('.')[0] in heavy[:2]], 'a construct class loaded cdktf'; "
            "assert sorted(dir(modules)) == dir(modules) and set(modules.__all__) <= set(dir(modules))")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120,
                   env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
                   capture_output=True)


def test_an_unknown_name_is_an_attribute_error():
    try:
        modules.NoSuchConstruct  # noqa: B018
    except AttributeError as error:
        assert "NoSuchConstruct" in str(error)
    else:
        raise AssertionError("modules.NoSuchConstruct resolved")


def test_modules_imports_itself_relatively():
    offenders = []
    for path in sorted((ROOT / "modules").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] == "modules"]
    assert not offenders, offenders
