"""Reads our Bicep templates with pycep-parser (the parser checkov uses) and evaluates the expressions the contract
tests need: parameters, variables, object literals, union(), conditionals, interpolated strings and module outputs.

No Bicep compiler runs on these machines, so this is a small evaluator for the subset of Bicep our templates use,
not a compiler: a value only Azure knows at deployment (a resource property, an AVM module's output) stays a
:class:`DeployTime` placeholder named by its expression, which a test may map to a realistic value. An expression
the evaluator does not know raises, so a template change that outgrows it fails loudly instead of passing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

INFRA = Path(__file__).resolve().parents[2] / "infra"


@cache
def parse(path: Path) -> dict[str, Any]:
    return BicepParser().parse(text=path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class DeployTime:
    """A value known only when Azure deploys the template, e.g. ``storageAccount.properties.primaryEndpoints.blob``."""

    expression: str

    def __str__(self) -> str:
        return f"<{self.expression}>"


class UnsupportedExpression(Exception):
    pass


def flatten_accessor(node: Any) -> list[Any]:
    """``a.b.c`` as pycep nests it (right-leaning property accessors) -> ['a', 'b', 'c']."""
    if isinstance(node, dict) and node.get("operator", {}).get("type") == "property_accessor":
        operands = node["operator"]["operands"]
        return [operands["operand_1"], *flatten_accessor(operands["operand_2"])]
    return [node]


def dotted(node: Any) -> str:
    """An accessor chain of plain names as text (``identity.outputs.principalId``); other nodes as their repr."""
    parts = flatten_accessor(node)
    return ".".join(p if isinstance(p, str) else repr(p) for p in parts)


class Template:
    """One .bicep file, evaluated with the given parameter values (defaults for the rest)."""

    def __init__(self, path: Path, params: Mapping[str, Any] | None = None,
                 deploy_time: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self.tree = parse(path)
        self.deploy_time = dict(deploy_time or {})
        self._variables: dict[str, Any] = {}
        self.symbols = set(self.tree.get("resources", {})) | set(self.tree.get("modules", {}))
        self.params: dict[str, Any] = {}
        given = dict(params or {})
        for name, spec in self.tree.get("parameters", {}).items():
            if name in given:
                self.params[name] = given.pop(name)
            elif "default" in spec:
                self.params[name] = self.eval(spec["default"])
            else:
                self.params[name] = DeployTime(f"param {name}")
        if given:
            raise KeyError(f"{path.name} has no parameters {sorted(given)}")

    # ---- lookups -----------------------------------------------------------------------------------------------
    def variable(self, name: str) -> Any:
        if name not in self._variables:
            self._variables[name] = self.eval(self.tree["variables"][name]["value"])
        return self._variables[name]

    def output(self, name: str) -> Any:
        return self.eval(self.tree["outputs"][name]["value"])

    def module(self, name: str) -> dict[str, Any]:
        return self.tree["modules"][name]

    def module_params(self, name: str) -> dict[str, Any]:
        _, body = self.resource_config(name)
        return {k: self.eval(v) for k, v in body["params"].items()}

    def module_template(self, name: str, deploy_time: Mapping[str, Any] | None = None) -> Template:
        """The local module ``name`` (a file under infra/), evaluated with the parameters this file passes it."""
        source = self.module(name)["detail"]["path"]
        return Template((self.path.parent / source).resolve(), self.module_params(name),
                        deploy_time if deploy_time is not None else self.deploy_time)

    def resource_config(self, name: str) -> tuple[Any, dict[str, Any]]:
        """(condition or None, body) of a resource or module; pycep nests a conditional one's body one level down."""
        entry = self.tree.get("resources", {}).get(name) or self.tree["modules"][name]
        config = entry["config"]
        if "condition" in config and "config" in config:
            return config["condition"], config["config"]
        return None, config

    # ---- evaluation ---------------------------------------------------------------------------------------------
    def _name(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        if name in self.tree.get("variables", {}):
            return self.variable(name)
        if name in self.symbols:
            return DeployTime(name)
        return None

    def _known(self, expression: str, value: Any) -> Any:
        return self.deploy_time.get(expression, value)

    def _path(self, parts: list[Any]) -> Any:
        head = parts[0]
        value = self.eval(head) if not isinstance(head, str) else self._name(head)
        if value is None and isinstance(head, str):
            raise UnsupportedExpression(f"{self.path.name}: unknown name {head!r}")
        shown = [head if isinstance(head, str) else "expr", *parts[1:]]
        for depth, attribute in enumerate(parts[1:], start=2):
            expression = ".".join(map(str, shown[:depth]))
            if isinstance(value, DeployTime):
                if (isinstance(head, str) and head in self.tree.get("modules", {}) and depth == 3
                        and parts[1] == "outputs" and self._is_local_module(head)):
                    value = self._module_output(head, attribute)
                else:
                    value = self._known(expression, DeployTime(expression))
            elif isinstance(value, dict):
                value = value[attribute]
            else:
                raise UnsupportedExpression(f"{self.path.name}: {expression} on {value!r}")
        return value

    def _is_local_module(self, name: str) -> bool:
        return "alias" not in self.module(name)["detail"]  # a registry module (br/public:...) has an alias

    def _module_output(self, module: str, output: str) -> Any:
        condition, _ = self.resource_config(module)
        if condition is not None and self.eval(condition) is False:
            return DeployTime(f"{module}.outputs.{output} (not deployed)")
        return self.module_template(module).output(output)

    def interpolate(self, text: str) -> str | DeployTime:
        def one(match: re.Match[str]) -> str:
            expression = match.group(1).strip()
            if re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", expression):
                value = self._path(expression.split("."))
            else:
                value = self._known(expression, DeployTime(expression))
            return str(value) if not isinstance(value, bool) else str(value).lower()

        return re.sub(r"\$\{([^}]*)\}", one, text)

    def eval(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float)):
            return node
        if isinstance(node, str):
            value = self._name(node)
            if value is not None:
                return value
            return self.interpolate(node) if "${" in node else node
        if isinstance(node, list):
            return [self.eval(item) for item in node]
        if isinstance(node, dict):
            if "operator" in node:
                return self._operator(node["operator"])
            if "function" in node:
                return self._function(node["function"])
            return {key: self.eval(value) for key, value in node.items()}
        raise UnsupportedExpression(f"{self.path.name}: {node!r}")

    def _operator(self, operator: dict[str, Any]) -> Any:
        kind, operands = operator["type"], operator["operands"]
        if kind == "property_accessor":
            return self._path(flatten_accessor({"operator": operator}))
        if kind == "conditional":
            condition = self.eval(operands["condition"])
            if not isinstance(condition, bool):
                raise UnsupportedExpression(f"{self.path.name}: condition {condition} is not known")
            return self.eval(operands["true_value" if condition else "false_value"])
        values = [self.eval(v) for v in operands.values()]
        if kind == "not":
            return not values[0]
        if kind == "and":
            return all(values)
        if kind == "or":
            return any(values)
        if kind == "equals":
            return values[0] == values[1]
        if kind == "not_equals":
            return values[0] != values[1]
        raise UnsupportedExpression(f"{self.path.name}: operator {kind}")

    def _function(self, function: dict[str, Any]) -> Any:
        kind = function["type"]
        args = [self.eval(v) for v in (function.get("parameters") or {}).values()]
        if kind == "union":
            merged: dict[str, Any] = {}
            for arg in args:
                merged.update(arg)
            return merged
        if kind == "string":
            value = args[0]
            return str(value).lower() if isinstance(value, bool) else str(value)
        if kind == "split" and all(isinstance(a, str) for a in args):
            return args[0].split(args[1])
        if kind == "last" and isinstance(args[0], (list, str)):
            return args[0][-1]
        if kind == "empty":
            value = args[0]
            return False if isinstance(value, DeployTime) else len(value) == 0
        return self._known(f"{kind}()", DeployTime(f"{kind}(...)"))


def role_assignments(template: Template) -> list[dict[str, Any]]:
    """Every Microsoft.Authorization/roleAssignments resource: its role ID, scope, principal and condition."""
    found = []
    for name, entry in template.tree.get("resources", {}).items():
        if entry["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        condition, body = template.resource_config(name)
        role_call = body["properties"]["roleDefinitionId"]["function"]
        role_id = template.eval(role_call["parameters"]["resource_name_1"])
        found.append({
            "resource": name,
            "role": role_id,
            "scope": dotted(body["scope"]),
            "principal": dotted(body["properties"]["principalId"]),
            "condition": condition,
        })
    return found
