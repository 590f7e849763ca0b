"""``make modules``: every construct of ``modules/`` emitted as a standalone Terraform module under
``terraform-modules/<name>/``, for teams that write plain HCL.

A module is the construct itself, synthesized once inside a stack whose props values are Terraform variables.
Nothing about a construct is written twice: the variables come from its props options (type, default, meaning,
and a ``validation`` block from each option's :class:`modules.options.Limit`), the outputs from its declared
``OUTPUTS``, the README tables from the same data.

Which options become variables is measured, not listed: an option is a variable when the construct synthesized
with that option as a Terraform variable is, once the variable is replaced by its value, exactly the construct
synthesized with the value itself, and the variable lands nowhere Terraform needs a literal (``lifecycle``).
An option the construct decides on in Python (it branches on it, loops over it, hashes a file at it) fails that
test: the module is synthesized with its value fixed, and the README lists it under "Fixed in this module"
(change it through the Python package). Every module also gets:

- ``create`` (terraform-aws-modules' switch): ``count = var.create ? 1 : 0`` on every resource, every reference
  indexed, every output ``null`` when nothing is created;
- no provider and no backend block; ``versions.tf.json`` pins Terraform and the AWS provider range the bindings
  were generated for (:data:`modules._bindings.PROVIDER_VERSION`);
- the construct's files (a Lambda package, a script) under ``assets/``, referenced through ``path.module``;
- ``README.md`` (inputs, outputs, fixed options, usage) and ``examples/complete/main.tf``.

The files are JSON (``*.tf.json``), which Terraform reads like HCL; modules are sourced by folder
(``source = "git::https://<repo>.git//terraform-modules/s3_lake?ref=v0.2.0"``).

``python -m compose.terraform_modules`` (``make modules``) writes every module of its ``SPECS``; ``--check``
exits 1 when the committed modules drift from the constructs (a test runs it); ``--only NAME ...`` limits the
run.
"""
from __future__ import annotations

import dataclasses
import filecmp
import importlib
import json
import re
import shutil
import sys
import tempfile
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundling.archive import ROOT
from modules.docs import table_cell
from modules.options import Limit, Output, default_value, options, type_name

OUT = ROOT / "terraform-modules"
TERRAFORM_VERSION = ">= 1.5.0"
"""The Terraform versions the modules accept (JSON configuration, ``optional`` types, cross-variable checks are
not used)."""

STACK = "module"
"""Id of the stack a module is synthesized in (its resource names do not contain it)."""

META_ARGUMENTS = ("lifecycle", "count", "for_each", "provider", "depends_on")
"""Resource keys Terraform needs literals in: a variable there makes the option fixed."""


@dataclass(frozen=True)
class ModuleSpec:
    """One emitted module: the construct, the values its complete example uses, and the values it is fixed at."""

    name: str
    """Folder name, and the construct's module name in ``modules/`` (``modules/<name>.py``, ``<name>_props.py``)."""

    construct: str
    """Class name of the construct in ``modules/<name>.py``."""

    props: str
    """Class name of its props in ``modules/<name>_props.py``."""

    construct_id: str
    """The construct's id in the stack (the composition's id, so the logical names match the platform's stack)."""

    example: Mapping[str, Any] = field(default_factory=dict)
    """Values of the complete example: every required option, plus the optional ones worth showing. Each is also
    the value a probe compares with."""

    fixed: Mapping[str, Any] = field(default_factory=dict)
    """Values the module is synthesized with, never variables (collections of specs, Python-only inputs)."""

    build: Callable[[Any], Mapping[str, Any]] | None = None
    """For values built from extra variables (``build(stack) -> {option: value}``): e.g. job specs whose bucket
    ARNs are a variable's keys."""

    summary: str = ""

    source: str = ""
    """The construct's module name in ``modules/`` when it is not :attr:`name` (several modules of one
    construct)."""

    @property
    def module(self) -> str:
        return self.source or self.name


# ------------------------------------------------------------------------------------------------------------------
# Limits as Terraform validation conditions

def condition(limit: Limit, ref: str) -> str | None:
    """The Terraform condition of ``limit`` on the expression ``ref`` (``None``: no Terraform form)."""
    return limit.terraform.format(v=ref) if getattr(limit, "terraform", "") else None


# ------------------------------------------------------------------------------------------------------------------
# Types

def terraform_type(annotation: Any) -> str | None:
    """The Terraform type of a props field annotation, or ``None`` when it has no plain Terraform form (specs,
    statements: such an option is fixed)."""
    text = annotation if isinstance(annotation, str) else type_name(annotation)
    text = text.replace(" ", "").replace("|None", "").replace("None|", "")
    simple = {"str": "string", "int": "number", "float": "number", "bool": "bool", "Path": "string",
              "tuple[str,...]": "list(string)", "dict[str,str]": "map(string)", "Mapping[str,str]": "map(string)"}
    return simple.get(text)


def to_json(value: Any) -> Any:
    """A Python option value as Terraform JSON (tuples become lists, paths strings)."""
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


# ------------------------------------------------------------------------------------------------------------------
# Synthesis

def _load(spec: ModuleSpec) -> tuple[type, type, tuple[Output, ...]]:
    construct_module = importlib.import_module(f"modules.{spec.module}")
    props_module = importlib.import_module(f"modules.{spec.module}_props")
    return getattr(construct_module, spec.construct), getattr(props_module, spec.props), props_module.OUTPUTS


RESERVED = ("source", "version", "providers", "count", "for_each", "lifecycle", "depends_on", "locals")
"""Names a module's variables cannot have (meta-arguments of module blocks)."""


def candidates(props_cls: type, spec: ModuleSpec) -> list[str]:
    """The options that may become variables: a plain Terraform type, not fixed by the spec, not ``create``, not a
    name Terraform reserves."""
    return [f.name for f, _ in options(props_cls)
            if f.name != "create" and f.name not in spec.fixed and f.name not in RESERVED
            and terraform_type(f.type) is not None]


def base_values(props_cls: type, spec: ModuleSpec) -> dict[str, Any]:
    """Every option's value in the comparison synth: the example's, else the default."""
    values = {}
    for f, _ in options(props_cls):
        if f.name in spec.example:
            values[f.name] = spec.example[f.name]
        elif f.name in spec.fixed:
            values[f.name] = spec.fixed[f.name]
    return values


class _Stack:
    """One synthesis of a module: a fresh app and stack, the construct built from props ``values`` in which the
    options ``as_variables`` are Terraform variables."""

    def __init__(self, spec: ModuleSpec, as_variables: tuple[str, ...], outdir: str | None = None) -> None:
        from modules._bindings import aws, core

        self.spec = spec
        construct_cls, props_cls, self.outputs = _load(spec)
        self.app = core.App(outdir=outdir or tempfile.mkdtemp(prefix="tfmodule-"))
        self.stack = core.TerraformStack(self.app, STACK)
        aws.provider.AwsProvider(self.stack, "aws", region="us-east-1")
        values = base_values(props_cls, spec)
        built = dict(spec.build(self.stack)) if spec.build is not None else {}
        values.update(built)
        self.built_names = set(built)
        """Options the spec's build hook sets (fixed by the module)."""
        self.variables: dict[str, Any] = {}
        fields = {f.name: (f, o) for f, o in options(props_cls)}
        for name in as_variables:
            f, _ = fields[name]
            self.variables[name] = variable(self.stack, f, spec)
            values[name] = token_of(self.variables[name], f)
        self.create = None
        if outdir is not None:  # the emitted module: the create switch
            self.create = core.TerraformVariable(
                self.stack, "create", type="bool", default=True, nullable=False,
                description="False creates nothing (every output is then null).")
        self.construct = construct_cls(self.stack, spec.construct_id, props_cls(**values))

    def json(self) -> dict:
        from modules._bindings import core

        return json.loads(core.Testing.synth(self.stack))


def variable(stack, f: dataclasses.Field, spec: ModuleSpec):
    """The Terraform variable of option ``f``: type, description, default, validation from its limit."""
    from modules._bindings import core

    opt = f.metadata["option"]
    tf_type = terraform_type(f.type)
    default = default_value(f)
    required = default is dataclasses.MISSING or (default is None and f.name in spec.example)
    ref = f"var.{f.name}"
    validations = []
    if opt.limit is not None:
        cond = condition(opt.limit, ref)
        if cond is not None:
            if not required and default is None:
                cond = f"{ref} == null || ({cond})"
            validations.append(core.TerraformVariableValidationConfig(
                condition="${" + cond + "}", error_message=f"{f.name}: {opt.limit.text}."))
    kwargs: dict[str, Any] = dict(type=tf_type, description=_plain(opt.doc), nullable=not required and default is None)
    if not required:
        kwargs["default"] = to_json(default)
    if validations:
        kwargs["validation"] = validations
    return core.TerraformVariable(stack, f.name, **kwargs)


def token_of(var, f: dataclasses.Field) -> Any:
    """The variable as the value an option of ``f``'s type expects."""
    from modules._bindings import core

    tf_type = terraform_type(f.type)
    if tf_type == "number":
        return var.number_value
    if tf_type == "bool":
        return var.boolean_value
    if tf_type == "list(string)":
        return tuple(var.list_value)
    if tf_type == "map(string)":
        return dict(core.Token.as_string_map(var.value))
    return var.string_value


def _plain(doc: str) -> str:
    """An option's documentation as plain text (reStructuredText roles and literals unwrapped)."""
    doc = re.sub(r":(?:class|mod|data|func|meth|attr):`~?([^`]+)`", r"\1", doc)
    return doc.replace("``", "`")


_SKIP = ("provider", "terraform", "variable", "output", "//")


def body(doc: dict) -> dict:
    """A synthesized stack without its provider, settings, variables, outputs and metadata."""
    out = {k: v for k, v in doc.items() if k not in _SKIP}
    return _strip_meta(out)


def _strip_meta(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_meta(v) for k, v in value.items() if k != "//"}
    if isinstance(value, list):
        return [_strip_meta(v) for v in value]
    return value


def substitute(value: Any, name: str, literal: Any) -> Any:
    """``value`` with every reference to ``var.<name>`` replaced by ``literal``."""
    ref = "${var." + name + "}"
    if isinstance(value, dict):
        return {k: substitute(v, name, literal) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, name, literal) for v in value]
    if isinstance(value, str):
        if value == ref:
            return to_json(literal)
        if ref in value and isinstance(literal, (str, int, float, Path)) and not isinstance(literal, bool):
            return value.replace(ref, str(literal))
    return value


def in_meta_argument(doc: dict, name: str) -> bool:
    """Whether ``var.<name>`` appears in a Terraform meta-argument of any resource."""
    ref = "var." + name
    for blocks in doc.get("resource", {}).values():
        for resource in blocks.values():
            if any(ref in json.dumps(resource.get(k, "")) for k in META_ARGUMENTS):
                return True
    return False


def alternatives(f: dataclasses.Field, value: Any) -> list[Any]:
    """Other values of an option to probe with (each is tried; one the construct refuses is skipped)."""
    opt = f.metadata["option"]
    tf_type = terraform_type(f.type)
    found: list[Any] = []
    if opt.limit is not None and opt.limit.choices:
        found = [v for v in opt.limit.choices if v != value]
    elif tf_type == "bool":
        found = [not value]
    elif tf_type == "number":
        found = [value + 1, value * 2 + 1, value + 7] if isinstance(value, (int, float)) else [1]
    elif tf_type == "string":
        found = [f"{value}x" if value else "probe"]
    elif tf_type == "list(string)":
        found = [(*value, "probe")]
    elif tf_type == "map(string)":
        found = [{**value, "probe": "probe"}]
    default = default_value(f)
    if default is not dataclasses.MISSING and default is not None and default != value:
        found.insert(0, default)  # the default too: a construct may branch on it ("" = no suffix)
    return found[:4]


def probe(spec: ModuleSpec) -> tuple[list[str], dict[str, str]]:
    """The options that can be variables, and why each other candidate cannot (``{option: reason}``).

    An option is a variable when, for its example (or default) value and for other values the construct
    accepts, the construct synthesized with the variable and then given the value equals the construct
    synthesized with the value."""
    from modules.options import OptionError

    _, props_cls, _ = _load(spec)
    fields = {f.name: f for f, _ in options(props_cls)}
    values = {f.name: default_value(f) for f, _ in options(props_cls)} | base_values(props_cls, spec)
    base_stack = _Stack(spec, ())
    base = body(base_stack.json())
    ok, refused = [], {}
    for name in candidates(props_cls, spec):
        if name in base_stack.built_names:
            continue
        try:
            doc = _Stack(spec, (name,)).json()
        except Exception as exc:  # noqa: BLE001 - the construct refuses a variable here: the option is fixed
            refused[name] = f"the construct needs its value ({type(exc).__name__})"
            continue
        if in_meta_argument(doc, name):
            refused[name] = "Terraform needs a literal there (lifecycle)"
            continue
        with_variable = body(doc)
        if "var." + name not in json.dumps(with_variable):
            refused[name] = "the construct decides on it in Python (a variable would not be used)"
            continue
        if substitute(with_variable, name, values[name]) != substitute(base, name, values[name]):
            refused[name] = "the construct decides on it in Python"
            continue
        for other in alternatives(fields[name], values[name]):
            try:
                literal = body(_Stack(dataclasses.replace(spec, example={**spec.example, name: other}), ()).json())
            except (OptionError, ValueError, TypeError):
                continue
            if substitute(with_variable, name, other) != substitute(literal, name, other):
                refused[name] = f"the construct decides on it in Python (with {other!r})"
                break
        else:
            ok.append(name)
    return ok, refused


# ------------------------------------------------------------------------------------------------------------------
# The create switch: count on every resource, references indexed

_REF = re.compile(r"(?<![\w.\]])((?:data\.|ephemeral\.)?aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)(?=\.[A-Za-z_])")


def _rewrite_expressions(text: str, rewrite: Callable[[str], str]) -> str:
    """``text`` with the inside of every ``${...}`` passed through ``rewrite`` (braces nest)."""
    out, i = [], 0
    while True:
        start = text.find("${", i)
        if start < 0:
            out.append(text[i:])
            return "".join(out)
        depth, j = 0, start + 2
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                if depth == 0:
                    break
                depth -= 1
            j += 1
        out.append(text[i:start + 2])
        out.append(rewrite(text[start + 2:j]))
        i = j


def index_references(value: Any) -> Any:
    """Every ``aws_x.name.attr`` reference inside ``${...}`` made ``aws_x.name[0].attr``."""
    if isinstance(value, dict):
        return {k: index_references(v) for k, v in value.items()}
    if isinstance(value, list):
        return [index_references(v) for v in value]
    if isinstance(value, str) and "${" in value:
        return _rewrite_expressions(value, lambda e: _REF.sub(r"\1[0]", e))
    return value


def null_when_not_created(value: Any) -> Any:
    """An output value whose every leaf is ``null`` when nothing was created (``var.create`` false), and
    ``null`` instead of an error when a resource it reads was not (``try``: references index a counted resource)."""
    if isinstance(value, dict):
        return {k: null_when_not_created(v) for k, v in value.items()}
    if isinstance(value, list):
        return [null_when_not_created(v) for v in value]
    if isinstance(value, str) and value.startswith("${") and value.endswith("}") and value.count("${") == 1:
        inner = value[2:-1]
    elif isinstance(value, str):
        inner = json.dumps(value)  # a literal or a template: a quoted template inside the expression
    elif value is None:
        return None
    else:
        inner = json.dumps(value)
    return "${var.create ? try(" + inner + ", null) : null}"


def with_create_switch(doc: dict) -> dict:
    """Resources and data sources counted by ``var.create``; references indexed; outputs null when off."""
    doc = dict(doc)
    for kind in ("resource", "data", "ephemeral"):
        blocks = {}
        for rtype, named in doc.get(kind, {}).items():
            blocks[rtype] = {}
            for name, config in named.items():
                if "count" in config or "for_each" in config:
                    raise ValueError(f"{rtype}.{name} already has count/for_each")
                blocks[rtype][name] = {"count": "${var.create ? 1 : 0}", **index_references(config)}
        if blocks:
            doc[kind] = blocks
    if "output" in doc:
        doc["output"] = {name: {**o, "value": null_when_not_created(index_references(o["value"]))}
                         for name, o in doc["output"].items()}
    if "locals" in doc:
        doc["locals"] = index_references(doc["locals"])
    return doc


# ------------------------------------------------------------------------------------------------------------------
# Emission

def exportable(value: Any) -> bool:
    """Whether a construct attribute can be a Terraform output (strings, numbers, and collections of them)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and exportable(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(exportable(v) for v in value)
    return False


@dataclass
class Emitted:
    """What one module consists of."""

    spec: ModuleSpec
    files: dict[str, str]
    """Relative path -> text."""
    assets: dict[str, Path]
    """Relative path -> the file to copy."""
    variables: list[str]
    fixed: dict[str, str]
    """Option -> why it is fixed."""
    outputs: list[Output]
    python_only: list[Output]


def emit(spec: ModuleSpec) -> Emitted:
    """Synthesize ``spec``'s construct with its variables and the create switch, and render its files."""
    from modules._bindings import core

    construct_cls, props_cls, declared = _load(spec)
    as_variables, refused = probe(spec)
    outdir = tempfile.mkdtemp(prefix="tfmodule-")
    try:
        synth = _Stack(spec, tuple(as_variables), outdir=outdir)
        exported, python_only = [], []
        for out in declared:
            value = getattr(synth.construct, out.name, None)
            if exportable(value) and value is not None:
                output = core.TerraformOutput(synth.stack, f"output_{out.name}", value=value,
                                              description=_plain(out.doc))
                output.override_logical_id(out.name)
                exported.append(out)
            else:
                python_only.append(out)
        synth.app.synth()
        stack_dir = Path(outdir) / "stacks" / STACK
        doc = json.loads((stack_dir / "cdk.tf.json").read_text())
        assets = {str(p.relative_to(stack_dir)): p for p in sorted((stack_dir / "assets").rglob("*")) if p.is_file()} \
            if (stack_dir / "assets").is_dir() else {}
        # copy now: the temporary folder goes away
        keep = Path(tempfile.mkdtemp(prefix="tfmodule-assets-"))
        copied = {}
        for rel, path in assets.items():
            target = keep / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            copied[rel] = target
    finally:
        shutil.rmtree(outdir, ignore_errors=True)

    doc.pop("//", None)  # the stack's metadata; each resource keeps its own (construct path: checkov reads it)
    doc = _module_paths(doc, copied)
    doc = with_create_switch(doc)
    main = {k: doc[k] for k in ("locals", "data", "ephemeral", "resource") if k in doc}
    unknown = set(doc) - {"locals", "data", "ephemeral", "resource", "variable", "output", "terraform", "provider",
                          "//"}
    if unknown:
        raise ValueError(f"{spec.name}: synthesized blocks the module does not write: {sorted(unknown)}")
    files = {
        "main.tf.json": _dump(main),
        "variables.tf.json": _dump({"variable": doc.get("variable", {})}),
        "outputs.tf.json": _dump({"output": doc.get("output", {})}),
        "versions.tf.json": _dump(versions(ephemeral="ephemeral" in doc)),
    }
    fixed = {name: why for name, why in refused.items()}
    for f, _ in options(props_cls):
        if f.name in spec.fixed or f.name in synth.built_names:
            fixed[f.name] = "set by the module"
        elif f.name in RESERVED:
            fixed[f.name] = "a name Terraform reserves in module blocks"
        elif f.name != "create" and f.name not in as_variables and f.name not in fixed:
            fixed[f.name] = "no plain Terraform type"
    emitted = Emitted(spec, files, copied, as_variables, fixed, exported, python_only)
    files["README.md"] = readme(emitted, props_cls)
    files["examples/complete/main.tf"] = example(emitted, props_cls)
    return emitted


def _module_paths(doc: Any, assets: Mapping[str, Path]) -> Any:
    """References to the stack's ``assets/...`` made relative to the module (``${path.module}/assets/...``)."""
    if isinstance(doc, dict):
        return {k: _module_paths(v, assets) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_module_paths(v, assets) for v in doc]
    if isinstance(doc, str) and doc.startswith("assets/") and doc in assets:
        return "${path.module}/" + doc
    return doc


def versions(*, ephemeral: bool = False) -> dict:
    """``versions.tf.json``: Terraform (1.11 for ephemeral resources and write-only arguments) and the provider
    range of the bindings (same major version)."""
    from modules._bindings import PROVIDER_SOURCE, PROVIDER_VERSION

    major = PROVIDER_VERSION.split(".")[0]
    return {"terraform": {"required_version": ">= 1.11.0" if ephemeral else TERRAFORM_VERSION, "required_providers": {
        "aws": {"source": PROVIDER_SOURCE, "version": f">= {PROVIDER_VERSION}, < {int(major) + 1}.0.0"}}}}


def _dump(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


# ------------------------------------------------------------------------------------------------------------------
# README and example

def hcl(value: Any, indent: int = 2) -> str:
    """A JSON-able value as an HCL literal."""
    value = to_json(value)
    pad = " " * indent
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(hcl(v, indent) for v in value) + "]"
    if not value:
        return "{}"
    inner = "\n".join(f"{pad}  {json.dumps(k) if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_-]*', k) else k} = "
                      f"{hcl(v, indent + 2)}" for k, v in value.items())
    return "{\n" + inner + "\n" + pad + "}"


def usage(emitted: Emitted, props_cls: type, source: str, extra: str = "") -> str:
    """A ``module`` block with the example's values (every required variable)."""
    fields = {f.name: f for f, _ in options(props_cls)}
    lines = [f'module "{emitted.spec.name}" {{', f'  source = "{source}"', ""]
    for name in emitted.variables:
        if name in emitted.spec.example:
            lines.append(f"  {name} = {hcl(emitted.spec.example[name], 2)}")
        elif default_value(fields[name]) is dataclasses.MISSING:
            raise ValueError(f"{emitted.spec.name}: required option {name} has no example value")
    for name, var in extra_variables(emitted).items():
        if name not in emitted.spec.example:
            raise ValueError(f"{emitted.spec.name}: variable {name} has no example value")
        lines.append(f"  {name} = {hcl(emitted.spec.example[name], 2)}")
    lines.append(extra + "}" if extra else "}")
    return "\n".join(lines)


def extra_variables(emitted: Emitted) -> dict[str, dict]:
    """The module's variables that are not options (declared by its spec's build hook), by name."""
    variables = json.loads(emitted.files["variables.tf.json"])["variable"]
    return {name: var for name, var in variables.items() if name not in emitted.variables and name != "create"}


def readme(emitted: Emitted, props_cls: type) -> str:
    spec = emitted.spec
    construct_cls, _, _ = _load(spec)
    paragraph = (construct_cls.__doc__ or "").strip().split("\n\n")[0]
    first = " ".join(line.strip() for line in paragraph.splitlines())
    fields = {f.name: (f, o) for f, o in options(props_cls)}
    lines = [
        f"# {spec.name}",
        "",
        f"{spec.summary or first} Emitted by `make modules` from the construct `{spec.construct}` "
        f"(`modules/{spec.module}.py`, options in `modules/{spec.module}_props.py`): do not edit; change the construct "
        "and run `make modules`.",
        "",
        "## Usage",
        "",
        "```hcl",
        usage(emitted, props_cls, f"git::https://example.com/lakeforge.git//terraform-modules/{spec.name}?ref=v"
              + _version()),
        "```",
        "",
        "A complete example: [`examples/complete`](examples/complete/main.tf). The module has no provider or backend "
        "block: configure the `hashicorp/aws` provider in the calling configuration (`versions.tf.json` gives the "
        "range).",
        "",
        "## Inputs",
        "",
        "| name | description | type | default | validation |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in emitted.variables:
        f, opt = fields[name]
        default = default_value(f)
        shown = "required" if default is dataclasses.MISSING or (default is None and name in spec.example) \
            else f"`{hcl(default)}`".replace("\n", " ")
        limit = opt.limit.text if opt.limit else ""
        lines.append(f"| `{name}` | {table_cell(_plain(opt.doc))} | `{terraform_type(f.type)}` | {table_cell(shown)} "
                     f"| {table_cell(limit)} |")
    for name, var in extra_variables(emitted).items():
        lines.append(f"| `{name}` | {table_cell(var['description'])} | `{var['type']}` | required | |")
    lines.append("| `create` | False creates nothing (every output is then null). | `bool` | `true` | |")
    lines += ["", "## Outputs", "", "| name | description |", "| --- | --- |"]
    lines += [f"| `{o.name}` | {table_cell(_plain(o.doc))} |" for o in emitted.outputs]
    if emitted.fixed:
        lines += ["", "## Fixed in this module", "",
                  "These options are decided while the construct is synthesized, so the module has the value "
                  "shown; set them through the Python package (`lakeforge_constructs`).", "",
                  "| option | value | why | meaning |", "| --- | --- | --- | --- |"]
        values = {f.name: default_value(f) for f, _ in options(props_cls)} | base_values(props_cls, spec)
        for name, why in emitted.fixed.items():
            f, opt = fields[name]
            value = values.get(name)
            shown = _short(value)
            lines.append(f"| `{name}` | {table_cell(shown)} | {why} | {table_cell(_plain(opt.doc))} |")
    if emitted.python_only:
        lines += ["", "Python-only outputs (construct objects, not Terraform values): "
                  + ", ".join(f"`{o.name}`" for o in emitted.python_only) + "."]
    return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    if value is dataclasses.MISSING:
        return "required"
    if isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
        keys = [getattr(v, "key", getattr(v, "name", "")) for v in value]
        return f"{len(value)} {type(value[0]).__name__}: " + ", ".join(f"`{k}`" for k in keys if k)
    if isinstance(value, Mapping) and value and dataclasses.is_dataclass(next(iter(value.values()))):
        return f"one {type(next(iter(value.values()))).__name__} per " + ", ".join(f"`{k}`" for k in value)
    if isinstance(value, Path):
        return f"`{value.name}` (in `assets/`)"
    return f"`{hcl(value)}`".replace("\n", " ")


def example(emitted: Emitted, props_cls: type) -> str:
    outputs = "\n".join(f'output "{o.name}" {{\n  value = module.{emitted.spec.name}.{o.name}\n}}\n'
                        for o in emitted.outputs)
    return (f"# Complete example of the {emitted.spec.name} module (emitted by `make modules`).\n"
            'provider "aws" {\n  region = "us-east-1"\n}\n\n'
            + usage(emitted, props_cls, "../../") + "\n\n" + outputs)


def _version() -> str:
    import modules
    return getattr(modules, "__version__", "0.0.0")


# ------------------------------------------------------------------------------------------------------------------
# Writing and checking

def render_tree(emitted: Emitted) -> dict[str, bytes]:
    """Relative path -> content of one module folder."""
    tree = {rel: text.encode() for rel, text in emitted.files.items()}
    tree.update({rel: path.read_bytes() for rel, path in emitted.assets.items()})
    return tree


def current_tree(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".terraform" not in p.parts and p.name != ".terraform.lock.hcl"
            and not p.name.endswith(".tfstate") and not p.name.endswith(".tfstate.backup")}


def main(specs, argv: list[str] | None = None) -> int:
    """Write (or ``--check``) the modules of ``specs`` (:data:`compose.terraform_modules.SPECS`)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m compose.terraform_modules", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed modules drift")
    parser.add_argument("--only", nargs="*", default=None, help="module names")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    specs = [s for s in specs if args.only is None or s.name in args.only]
    drift = []
    for spec in specs:
        wanted = render_tree(emit(spec))
        folder = args.out / spec.name
        have = current_tree(folder)
        if wanted == have:
            continue
        if args.check:
            changed = sorted(k for k in set(wanted) | set(have) if wanted.get(k) != have.get(k))
            drift.append(f"{spec.name}: " + ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else ""))
            continue
        for rel in set(have) - set(wanted):
            (folder / rel).unlink()
        for rel, content in wanted.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(content)
        print(f"wrote {folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder}")
    if drift:
        print("terraform-modules/ is out of date (run make modules):\n  " + "\n  ".join(drift), file=sys.stderr)
        return 1
    return 0



def checkov_tree(modules_dir: Path, target: Path) -> list[Path]:
    """A copy of each module's resources in the shape checkov's ``terraform_json`` parser reads (one
    ``<module>/cdk.tf.json`` with a provider block: the parser skips a file without one); the folders written."""
    written = []
    for folder in sorted(p for p in modules_dir.iterdir() if (p / "main.tf.json").is_file()):
        doc = json.loads((folder / "main.tf.json").read_text())
        doc["provider"] = {"aws": [{}]}
        (target / folder.name).mkdir(parents=True, exist_ok=True)
        (target / folder.name / "cdk.tf.json").write_text(json.dumps(doc, indent=2))
        written.append(target / folder.name)
    return written
