"""The option and output tables of ``modules/README.md``, written from the props modules.

``python -m modules.docs`` rewrites every block between ``<!-- BEGIN options: <module> -->`` and
``<!-- END options: <module> -->`` with the tables of ``modules/<module>_props.py``: one row per option
of each props class (type, default, limit, meaning: :mod:`modules.options`) and one per declared
output; and the block between ``<!-- BEGIN api: public -->`` and ``<!-- END api: public -->`` with the public
API (the package's ``__all__``, by module). ``--check`` only reports drift (exit 1); a test runs it. Standard
library only.
"""
from __future__ import annotations

import dataclasses
import importlib
import re
import sys
from pathlib import Path

from .options import Output, Props, describe_default, options, type_name

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"

PROPS_MODULES: tuple[str, ...] = (
    "kms", "s3_lake", "kinesis", "lambda_function", "kinesis_ingest", "s3_artifact", "glue_catalog", "glue_jobs",
    "glue_workflow", "athena", "emr", "secrets_manager", "http_api", "network", "redshift", "quicksight",
    "msk", "msk_ingest", "kafka_topics", "monitoring",
)
"""Every construct's props module (``modules/<name>_props.py``), in README order."""

_BLOCK = re.compile(
    r"(<!-- BEGIN (?P<kind>[a-z]+): (?P<name>[a-z0-9_]+) -->\n)(?P<body>.*?)(<!-- END (?P=kind): (?P=name) -->)", re.S)


def table_cell(text: str) -> str:
    """Text as one Markdown table cell (pipes escaped, one line)."""
    return text.replace("|", "\\|").replace("\n", " ")


def _doc(text: str) -> str:
    """reStructuredText literals and roles as Markdown code."""
    text = re.sub(r":(?:class|mod|data|func|meth|attr):`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def options_table(cls: type, *, key_header: str = "option") -> list[str]:
    """A Markdown table of the options of ``cls`` (a props class or an environment section)."""
    lines = [f"| {key_header} | type | default | accepted values | meaning |", "| --- | --- | --- | --- | --- |"]
    for f, opt in options(cls):
        name = f.metadata.get("toml", f.name)
        limit = opt.limit.text if opt.limit else ""
        meaning = _doc(opt.doc)
        if "feeds" in f.metadata:
            target, option_name = f.metadata["feeds"]
            fed = (target, *f.metadata.get("feeds_also", ()))
            meaning += " Feeds " + ", ".join(f"`{t.__name__}.{option_name}`" for t in fed) + "."
        lines.append(f"| `{name}` | `{table_cell(type_name(f.type))}` | {table_cell(describe_default(f))} | {table_cell(limit)} "
                     f"| {table_cell(meaning)} |")
    for rule in getattr(cls, "RULES", ()):
        lines.append(f"| | | | rule | {table_cell(rule.message)} |")
    return lines


def outputs_table(outputs: tuple[Output, ...]) -> list[str]:
    lines = ["| output | meaning |", "| --- | --- |"]
    lines += [f"| `{o.name}` | {table_cell(_doc(o.doc))} |" for o in outputs]
    return lines


def props_classes(module) -> list[type]:
    """The props classes a props module defines, in source order."""
    found = [obj for obj in vars(module).values()
             if isinstance(obj, type) and issubclass(obj, Props) and obj is not Props
             and obj.__module__ == module.__name__ and dataclasses.is_dataclass(obj)]
    source = Path(module.__file__).read_text()
    return sorted(found, key=lambda cls: source.index(f"class {cls.__name__}("))


def module_block(name: str) -> str:
    """The generated block of ``modules/<name>_props.py``."""
    module = importlib.import_module(f".{name}_props", __package__)
    lines: list[str] = []
    for cls in props_classes(module):
        lines += [f"`{cls.__name__}` (`modules/{name}_props.py`):", "", *options_table(cls), ""]
    lines += ["Outputs:", "", *outputs_table(module.OUTPUTS), ""]
    return "\n".join(lines)


def render(text: str, blocks) -> str:
    """``text`` with every generated block replaced by ``blocks(kind, name)``."""
    def replace(match: re.Match) -> str:
        return match.group(1) + blocks(match.group("kind"), match.group("name")) + match.group(5)
    return _BLOCK.sub(replace, text)


def api_block() -> str:
    """The public API table (``<!-- BEGIN api: public -->``): the package's ``__all__``, by module."""
    package = importlib.import_module(__package__)
    lines = ["| module | construct | props and option classes |", "| --- | --- | --- |"]
    for module, (construct, *props) in package.CONSTRUCTS.items():
        lines.append(f"| `{module}` | `{construct}` | {', '.join(f'`{n}`' for n in props)} |")
    for module, names in package.SHARED.items():
        lines.append(f"| `{module}` | | {', '.join(f'`{n}`' for n in names)} |")
    return "\n".join([*lines, ""])


def _modules_blocks(kind: str, name: str) -> str:
    if kind == "api" and name == "public":
        return api_block()
    if kind != "options" or name not in PROPS_MODULES:
        raise KeyError(f"unknown generated block {kind}: {name}")
    return module_block(name)


def main(argv: list[str] | None = None, readme: Path = README, blocks=_modules_blocks) -> int:
    argv = sys.argv[1:] if argv is None else argv
    current = readme.read_text()
    wanted = render(current, blocks)
    if current == wanted:
        return 0
    if "--check" in argv:
        print(f"{readme} is out of date: run python -m {blocks.__module__.rsplit('.', 1)[0]}.docs", file=sys.stderr)
        return 1
    readme.write_text(wanted)
    print(f"wrote {readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
