"""Reading scenario files: YAML -> typed, validated scenario, or one clear ScenarioError."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any, Union

import yaml
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from syntwin.errors import ScenarioError

#: Scenario kinds -> "module:Class" (imported lazily).
SCENARIO_KINDS: dict[str, str] = {
    "cohort": "syntwin.scenario.cohort:CohortScenario",
    "crowd": "syntwin.scenario.crowd:CrowdScenario",
}


def scenario_class(kind: str) -> type[BaseModel]:
    """The model class of a scenario ``kind``."""
    module, _, name = SCENARIO_KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


def _node_at(root: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """The deepest YAML node along a pydantic error location."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            if match is None:
                key = next((k for k, _ in node.value if k.value == str(part)), None)
                return key or node
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
    return node


def _message(err: dict[str, Any]) -> str:
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "required field is missing"
    return msg.removeprefix("Value error, ")


def _valid_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at the parent of ``loc`` (for unknown-key hints)."""
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        ann = fields[part].annotation
        args = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not args:
            return []
        current = args[0]
    return sorted(getattr(current, "model_fields", {}))


def parse_scenario(data: Any, *, source: str = "<scenario>", root: yaml.Node | None = None) -> BaseModel:
    """Validate a scenario mapping (already parsed from YAML)."""
    if not isinstance(data, dict):
        raise ScenarioError("a scenario file must be a YAML mapping", file=source,
                            hint="start with 'kind: cohort' or 'kind: crowd'")
    kind = data.get("kind")
    if kind not in SCENARIO_KINDS:
        node = _node_at(root, ("kind",))
        raise ScenarioError(
            f"unknown scenario kind {kind!r}",
            file=source, row=node.start_mark.line + 1 if node is not None else None, field="kind",
            hint=f"use one of: {', '.join(sorted(SCENARIO_KINDS))}",
        )
    model = scenario_class(kind)
    try:
        return model.model_validate(data, context={"source": source})
    except ValidationError as exc:
        problems = _problems(exc.errors(), model, root)
        first = problems[0]
        err = ScenarioError(first["message"], file=source, row=first["row"], field=first["field"], hint=first["hint"])
        err.problems = [str(ScenarioError(p["message"], row=p["row"], field=p["field"], hint=p["hint"]))
                        for p in problems]
        if len(problems) > 1:
            err.message = f"{len(problems)} problems: " + "; ".join(
                f"({i}) {text}" for i, text in enumerate(err.problems, start=1))
            err.args = (err.message,)
            err.row = err.field = err.hint = None
        raise err from None


#: Location parts pydantic adds for unions and validators (never the user's field names).
_TYPE_TAGS = {"str", "int", "float", "bool", "none", "list", "dict"}


def _user_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A pydantic error location without model names, union branches and validator wrappers."""
    return tuple(p for p in loc if not (isinstance(p, str) and (p[:1].isupper() or "[" in p or p in _TYPE_TAGS)))


def _problems(errors: list[dict[str, Any]], model: type[BaseModel], root: yaml.Node | None) -> list[dict[str, Any]]:
    """Every validation problem once, in file order: message, line, field path and hint."""
    # a union (e.g. an inline mapping or a preset name) reports each branch; keep the richer branch
    structured = {_user_loc(e["loc"]) for e in errors if e["type"] != "string_type"}
    errors = [e for e in errors if not (e["type"] == "string_type" and any(
        loc[: len(_user_loc(e["loc"]))] == _user_loc(e["loc"]) for loc in structured))]
    unknown = {_user_loc(e["loc"])[:-1] for e in errors if e["type"] == "extra_forbidden"}
    out, seen = [], set()
    for err in errors:
        loc = _user_loc(err["loc"])
        # a misspelled key shows up both as "unknown" and as "missing": the unknown key is the cause
        if err["type"] == "missing" and loc[:-1] in unknown:
            continue
        node = _node_at(root, loc)
        hint = "see `syntwin schema` for valid values"
        if err["type"] == "extra_forbidden":
            valid = _valid_keys(model, loc)
            hint = f"valid keys here: {', '.join(valid)}" if valid else "remove the key"
        elif err["type"] == "missing":
            hint = "add it"
        key = (loc, _message(err))
        if key in seen:
            continue
        seen.add(key)
        out.append({"message": _message(err), "row": node.start_mark.line + 1 if node is not None else None,
                    "field": ".".join(str(p) for p in loc) or None, "hint": hint})
    return sorted(out, key=lambda p: (p["row"] or 0)) or [
        {"message": _message(errors[0]), "row": None, "field": None, "hint": None}]


def apply_overrides(data: Any, overrides: list[str], *, source: str) -> Any:
    """Set ``key.path=value`` overrides (values parsed as YAML) on a scenario mapping."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ScenarioError(f"bad override {item!r}", field="--set", hint="write --set section.key=value")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = data
        parts = key.strip().split(".")
        for part in parts[:-1]:
            if not isinstance(node, dict):
                raise ScenarioError(f"cannot set {key!r}: {part!r} is not a section", file=source, field=key)
            node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ScenarioError(f"cannot set {key!r}", file=source, field=key, hint="override a key of a section")
        node[parts[-1]] = value
    return data


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> BaseModel:
    """Read and validate a scenario file, after applying ``--set key.path=value`` overrides.

    Raises:
        ScenarioError: file missing or unreadable, YAML malformed, unknown kind/keys, bad values;
            the message names the file, line and field.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("scenario file not found", file=str(path),
                            hint="check the path, or give the name of a shipped scenario (see `syntwin scenarios`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the scenario file: {exc}", file=str(path)) from None
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioError(
            f"malformed YAML: {getattr(exc, 'problem', exc)}",
            file=str(path), row=mark.line + 1 if mark else None, hint="fix the YAML syntax at that line",
        ) from None
    if overrides:
        data = apply_overrides(data if isinstance(data, dict) else {}, overrides, source=str(path))
    return parse_scenario(data, source=str(path), root=root)


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of all scenario kinds (a union discriminated by ``kind``)."""
    classes = tuple(scenario_class(k) for k in sorted(SCENARIO_KINDS))
    union = classes[0] if len(classes) == 1 else Annotated[Union[classes], Field(discriminator="kind")]  # noqa: UP007
    schema = TypeAdapter(union).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema.setdefault("title", "syntwin scenario")
    return schema


def shipped_scenarios() -> dict[str, Path]:
    """Scenario files shipped with the package, by stem."""
    folder = Path(__file__).resolve().parent.parent / "scenarios"
    return {p.stem: p for p in [*sorted(folder.glob("*.yaml")), *sorted(folder.glob("examples/*.yaml"))]}


__all__ = ["load_scenario", "apply_overrides", "parse_scenario", "scenario_json_schema", "shipped_scenarios", "SCENARIO_KINDS"]
