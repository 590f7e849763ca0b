"""Construct options and outputs as data: every option's default, meaning and limit declared once, beside its
construct, and checked by one function.

A props class (``modules/<construct>_props.py``) is a frozen dataclass whose fields are made with
:func:`option`; it inherits :class:`Props`, so constructing it with a value outside a limit raises
:class:`OptionError` naming every offending option. Rules that tie several options together are
:class:`Rule`\\s in the class's ``RULES``. Because limits, defaults and documentation are data, the
environment loader checks a setting with the rule of the option it feeds (it never restates a limit),
``python -m modules.docs`` writes the option tables of ``modules/README.md`` and a test fails when they
drift; a later generator can emit Terraform variables (with validation blocks) and outputs from the
same data.

A construct declares what it exposes as :class:`Output`\\s (its ``OUTPUTS`` in the props module).

Standard library only: importing a props module never imports cdktf, constructs or the AWS bindings.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "LOG_RETENTION_DAYS",
    "TOKEN_RE",
    "Limit",
    "Option",
    "OptionError",
    "Output",
    "Props",
    "Rule",
    "at_least",
    "between",
    "broken_rules",
    "check_values",
    "create_option",
    "glue_cron",
    "is_token",
    "log_retention",
    "matches",
    "non_empty",
    "one_of",
    "option",
    "option_of",
    "options",
    "or_value",
    "outputs",
    "problems",
    "tags_option",
]

_MISSING = dataclasses.MISSING
TOKEN_RE = re.compile(r"[$#&]\{(Tf)?Token\[[^\]]*\]\}")
"""A cdktf token inside a string (``${Token[...]}`` / ``${TfToken[...]}``; ``#{`` in a list token, ``&{`` in a
map token's key)."""

NUMBER_TOKEN_LIMIT = -1e289
"""cdktf encodes a number token as a double below this (a negative number no option accepts as a value)."""


class OptionError(ValueError):
    """A props value breaks its option's limit or a rule of its class."""


def is_token(value: Any) -> bool:
    """True for a cdktf token (a value only known at plan time): limits do not apply to it. A string, number,
    list or map token (a Terraform variable's value, e.g. in an emitted Terraform module) or a boolean one (an
    object that is none of the plain types)."""
    if isinstance(value, str):  # a cdktf token, or a Terraform expression written out ("${var.x}")
        return bool(TOKEN_RE.search(value)) or "${" in value
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return value < NUMBER_TOKEN_LIMIT
    if isinstance(value, (tuple, list)):
        return len(value) == 1 and isinstance(value[0], str) and value[0].startswith("#{") and is_token(value[0])
    if isinstance(value, Mapping):
        return any(isinstance(k, str) and k.startswith("&{") and TOKEN_RE.search(k) for k in value)
    return type(value).__module__.startswith("jsii")


@dataclass(frozen=True)
class Limit:
    """What values an option accepts. ``text`` says it in words (documentation and errors); ``ok`` checks a
    value; ``error`` (optional, with ``{value}``) words the error when "<option>: <text>" would read badly."""

    text: str
    ok: Callable[[Any], bool]
    error: str = ""
    pattern: str = ""
    """For a pattern limit: the regular expression (a Terraform validation can reuse it)."""

    choices: tuple = ()
    """For a :func:`one_of` limit: the values it accepts."""

    terraform: str = ""
    """The same check as a Terraform condition on ``{v}`` (an emitted module's ``validation`` block); empty when
    it has none."""

    def message(self, value: Any) -> str:
        return self.error.format(value=value) if self.error else f"{self.text} (got {value!r})"


def _hcl_string(text: str) -> str:
    """A Terraform string literal (JSON escaping, ``${`` and ``%{`` escaped)."""
    return json.dumps(text).replace("${", "$${").replace("%{", "%%{")


def _hcl_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _hcl_string(value) if isinstance(value, str) else repr(value)


def _hcl_list(values: Iterable[Any]) -> str:
    return "[" + ", ".join(_hcl_value(v) for v in values) + "]"


def between(low: int | float, high: int | float, unit: str = "") -> Limit:
    """``low <= value <= high``."""
    span = f"{low} to {high}" if low < 0 else f"{low}-{high}"
    return Limit(f"{span}{' ' + unit if unit else ''}", lambda v: low <= v <= high,
                 terraform=f"{{v}} >= {low} && {{v}} <= {high}")


def at_least(low: int | float, text: str = "") -> Limit:
    """``value >= low``."""
    return Limit(text or f">= {low}", lambda v: v >= low, terraform=f"{{v}} >= {low}")


def one_of(*values: Any) -> Limit:
    """``value in values``."""
    return Limit(f"one of {', '.join(map(str, values))}", lambda v: v in values, choices=tuple(values),
                 terraform="contains(" + _hcl_list(values) + ", {v})")


def matches(pattern: str, text: str) -> Limit:
    """A string matching ``pattern`` (``re.fullmatch``)."""
    regex = re.compile(pattern)
    return Limit(text, lambda v: isinstance(v, str) and bool(regex.fullmatch(v)), pattern=pattern,
                 terraform="can(regex(" + _hcl_string(f"^(?:{pattern})$") + ", {v}))")


def non_empty(text: str) -> Limit:
    """A non-empty collection or string."""
    return Limit(text, lambda v: len(v) > 0, terraform="length({v}) > 0")


def or_value(allowed: Any, limit: Limit) -> Limit:
    """``value == allowed`` or within ``limit`` (e.g. ``-1`` = unlimited, or 60-604800)."""
    return Limit(f"{allowed!r} or {limit.text}", lambda v: v == allowed or limit.ok(v),
                 pattern=limit.pattern,
                 terraform=f"{{v}} == {_hcl_value(allowed)} || ({limit.terraform})" if limit.terraform else "")


LOG_RETENTION_DAYS: frozenset[int] = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)
"""The retention values CloudWatch Logs accepts (PutRetentionPolicy)."""


def log_retention() -> Limit:
    return Limit("a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ..., 3653)",
                 lambda v: v in LOG_RETENTION_DAYS, error="{value} is not a CloudWatch Logs retention value",
                 terraform="contains(" + _hcl_list(sorted(LOG_RETENTION_DAYS)) + ", {v})")


GLUE_CRON_PATTERN = r"cron\((\S+ ){5}\S+\)"


def glue_cron() -> Limit:
    """A Glue cron expression (six fields, UTC)."""
    return matches(GLUE_CRON_PATTERN, "a Glue cron expression, e.g. cron(0 3 * * ? *)")


@dataclass(frozen=True)
class Option:
    """The metadata of one props field."""

    doc: str
    """What it is, in one or two sentences (documentation, Terraform variable description)."""

    limit: Limit | None = None


def option(default: Any = _MISSING, *, doc: str, limit: Limit | None = None,
           default_factory: Callable[[], Any] | Any = _MISSING) -> Any:
    """A props field: its default (none = required), what it means, and the values it accepts."""
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata={"option": Option(doc=doc, limit=limit)})


def tags_option(what: str = "every taggable resource") -> Any:
    """The ``tags`` option every construct has (terraform-aws-modules convention)."""
    return option(default_factory=dict, doc=f"Tags for {what}.")


def create_option() -> Any:
    """The ``create`` switch every construct has: False creates nothing (and checks no option)."""
    return option(True, doc="False creates nothing; the outputs are then ``None`` (or empty).")


def option_of(cls: type, name: str) -> Option:
    """The :class:`Option` of field ``name`` of props class ``cls``."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            found = f.metadata.get("option")
            if found is None:
                raise KeyError(f"{cls.__name__}.{name} is not declared with option()")
            return found
    raise KeyError(f"{cls.__name__} has no option {name!r}")


def options(cls: type) -> list[tuple[dataclasses.Field, Option]]:
    """Every ``(field, option)`` of a props class, in declaration order."""
    return [(f, f.metadata["option"]) for f in dataclasses.fields(cls) if "option" in f.metadata]


@dataclass(frozen=True)
class Rule:
    """A rule over several options of one props class; checked when all of ``fields`` have values."""

    fields: tuple[str, ...]
    ok: Callable[..., bool]
    """Called with the fields' values, in order."""

    message: str
    """``"<option>: <what must hold>"``."""


def check_values(cls: type, values: Mapping[str, Any]) -> list[str]:
    """Problems of some option values of props class ``cls`` (``"<option>: <message>"``): each value against
    its option's limit, then the class's ``RULES`` whose fields are all given. Tokens are not checked."""
    out: list[str] = []
    declared = {f.name: o for f, o in options(cls)}
    for name, value in values.items():
        opt = declared.get(name)
        if opt is None or opt.limit is None or is_token(value) or value is None:
            continue
        try:
            ok = opt.limit.ok(value)
        except TypeError:
            ok = False
        if not ok:
            out.append(f"{name}: {opt.limit.message(value)}")
    return out + broken_rules(getattr(cls, "RULES", ()), values)


def broken_rules(rules: Iterable[Rule], values: Mapping[str, Any]) -> list[str]:
    """The messages of the rules whose fields are all in ``values`` and do not hold (tokens are not checked)."""
    out = []
    for rule in rules:
        if all(f in values for f in rule.fields):
            args = [values[f] for f in rule.fields]
            if not any(is_token(a) for a in args) and not rule.ok(*args):
                out.append(rule.message)
    return out


def problems(props: Any) -> list[str]:
    """Every problem of a props instance (see :func:`check_values`)."""
    values = {f.name: getattr(props, f.name) for f, _ in options(type(props))}
    return check_values(type(props), values)


class Props:
    """Base of the props dataclasses: construction checks every option (:class:`OptionError` lists them),
    unless ``create`` is False (a construct that creates nothing has no option to honour)."""

    RULES: ClassVar[tuple[Rule, ...]] = ()

    def __post_init__(self) -> None:
        if getattr(self, "create", True) is False:
            return
        found = problems(self)
        if found:
            raise OptionError(f"{type(self).__name__}: " + "; ".join(found))


@dataclass(frozen=True)
class Output:
    """Something a construct exposes (an attribute of the construct) and what it is."""

    name: str
    doc: str


def outputs(*pairs: tuple[str, str]) -> tuple[Output, ...]:
    """``outputs(("arn", "ARN of ..."), ...)``."""
    return tuple(Output(name, doc) for name, doc in pairs)


def default_value(f: dataclasses.Field) -> Any:
    """A field's default (its factory called), or ``dataclasses.MISSING`` for a required field."""
    if f.default is not _MISSING:
        return f.default
    if f.default_factory is not _MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return _MISSING


def describe_default(f: dataclasses.Field) -> str:
    """A field's default as documentation shows it (``required`` when there is none)."""
    value = default_value(f)
    if value is _MISSING:
        return "required"
    if isinstance(value, Mapping):
        return "`{}`" if not value else "one per " + ", ".join(f"`{k}`" for k in value)
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, (tuple, list)):
        return "`(" + ", ".join(f'"{v}"' if isinstance(v, str) else repr(v) for v in value) + \
            ("," if len(value) == 1 else "") + ")`"
    return f"`{value!r}`"


def type_name(annotation: Any) -> str:
    """A field's annotation as documentation shows it."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    return text.replace("typing.", "")
