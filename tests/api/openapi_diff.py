"""Compare our generated OpenAPI 3.1 document with the original's Swagger 2.0 contract.

Operation by operation (method and path, parameter names ignored): the operation exists, its
JSON request body has the same field names with the same JSON types, and so has the body of
each success answer the contract documents. Each difference is one line of text, so a test can
hold the deliberate ones in a list with their reasons.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tests.contract import CONTRACT_URI, contract

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def normalized(path: str) -> str:
    """A path with its parameters unnamed: /project/{project_id}/keys -> /project/{}/keys."""
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/") or "/")


def contract_operations() -> dict[tuple[str, str], dict[str, Any]]:
    spec = contract()
    return {
        (method, normalized(path)): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def our_operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, normalized(path.removeprefix("/api"))): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


class Resolver:
    """Follows $refs in one document and reduces a schema to {field: type} or a type."""

    def __init__(self, document: dict[str, Any], prefixes: tuple[str, ...]) -> None:
        self.document = document
        self.prefixes = prefixes

    def resolve(self, schema: dict[str, Any] | None) -> dict[str, Any]:
        seen = 0
        while schema and "$ref" in schema and seen < 20:
            ref = schema["$ref"]
            for prefix in self.prefixes:
                ref = ref.removeprefix(prefix)
            node: Any = self.document
            for part in ref.lstrip("#/").split("/"):
                node = node[part]
            schema = node
            seen += 1
        return schema or {}

    def kind(self, schema: dict[str, Any] | None) -> str:
        """The JSON type of a schema: "integer", "string?" (nullable), "array[object]", ..."""
        schema = self.resolve(schema)
        nullable = False
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            kinds = [self.kind(option) for option in options]
            nullable = "null" in kinds
            kinds = [kind for kind in kinds if kind != "null"]
            if len(kinds) == 1:
                return kinds[0].rstrip("?") + "?"
            return "|".join(sorted(kinds)) + ("?" if nullable else "")
        types = schema.get("type")
        if isinstance(types, list):
            nullable = "null" in types
            types = [kind for kind in types if kind != "null"]
            types = types[0] if len(types) == 1 else "|".join(sorted(types))
        if types is None:
            # allOf: the contract's RunnerWithToken (Runner and a few fields more).
            types = "object" if "properties" in schema or "allOf" in schema else "any"
        if types == "array":
            types = f"array[{self.kind(schema.get('items')).rstrip('?')}]"
        return types + ("?" if nullable else "")

    def fields(self, schema: dict[str, Any] | None) -> dict[str, str] | None:
        """{field: kind} of an object schema (of an array's items), or None for no object."""
        schema = self.resolve(schema)
        if (schema.get("type") == "array" or "items" in schema) and "properties" not in schema:
            return self.fields(schema.get("items"))
        for option in schema.get("anyOf") or []:
            found = self.fields(option)
            if found:
                return found
        merged: dict[str, str] | None = None
        for part in schema.get("allOf") or []:
            found = self.fields(part)
            if found is not None:
                merged = {**(merged or {}), **found}
        properties = schema.get("properties")
        if properties is None:
            return merged
        return {**(merged or {}), **{name: self.kind(v) for name, v in properties.items()}}


def _contract_body(operation: dict[str, Any]) -> dict[str, Any] | None:
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "body":
            return parameter.get("schema")
    return None


def _our_body(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def _our_answer(operation: dict[str, Any], status: str) -> tuple[bool, dict[str, Any] | None]:
    answer = operation.get("responses", {}).get(status)
    if answer is None:
        return False, None
    return True, answer.get("content", {}).get("application/json", {}).get("schema")


def _compare_fields(
    where: str, theirs: dict[str, str] | None, ours: dict[str, str] | None
) -> Iterator[str]:
    if theirs is None and ours is None:
        return
    if ours is None:
        yield f"{where}: no schema declared"
        return
    if theirs is None:
        return  # the contract says nothing about the fields
    for name in sorted(set(theirs) - set(ours)):
        yield f"{where}: field {name} missing"
    for name in sorted(set(ours) - set(theirs)):
        yield f"{where}: field {name} added"
    for name in sorted(set(theirs) & set(ours)):
        # The contract leaves some fields untyped: any type of ours honours it.
        if theirs[name] not in ("any", "any?") and theirs[name].rstrip("?") != ours[name].rstrip(
            "?"
        ):
            yield f"{where}: field {name} is {ours[name]}, contract {theirs[name]}"


def differences(document: dict[str, Any]) -> list[str]:
    """Every difference between our document and the contract, one line each."""
    spec = contract()
    theirs_resolver = Resolver(spec, (CONTRACT_URI,))
    ours_resolver = Resolver(document, ("",))
    theirs = contract_operations()
    ours = our_operations(document)
    found: list[str] = []
    for key in sorted(theirs):
        method, path = key
        where = f"{method.upper()} {path}"
        if key not in ours:
            found.append(f"{where}: operation missing")
            continue
        contract_op, our_op = theirs[key], ours[key]
        if our_op.get("x-semaphore-addition"):
            found.append(f"{where}: marked as an addition but the contract has it")
        body = _contract_body(contract_op)
        if body is not None:
            found.extend(
                _compare_fields(
                    f"{where} request",
                    theirs_resolver.fields(body),
                    ours_resolver.fields(_our_body(our_op)),
                )
            )
        for status, answer in contract_op.get("responses", {}).items():
            if not str(status).startswith("2"):
                continue
            declared, schema = _our_answer(our_op, str(status))
            if not declared:
                found.append(f"{where} {status}: answer not declared")
                continue
            if "schema" not in answer:
                continue
            their_kind = theirs_resolver.kind(answer["schema"]).rstrip("?")
            our_kind = ours_resolver.kind(schema).rstrip("?") if schema else "none"
            if their_kind.split("[")[0] != our_kind.split("[")[0]:
                found.append(f"{where} {status}: answer is {our_kind}, contract {their_kind}")
                continue
            found.extend(
                _compare_fields(
                    f"{where} {status}",
                    theirs_resolver.fields(answer["schema"]),
                    ours_resolver.fields(schema) if schema else None,
                )
            )
    for key in sorted(set(ours) - set(theirs)):
        if not ours[key].get("x-semaphore-addition"):
            found.append(f"{key[0].upper()} {key[1]}: not in the contract and not marked")
    return found
