"""The OpenAPI schema the fuzzing pass reads must describe every route correctly: a path
placeholder without a declared parameter, or two operations sharing an id, makes schema
tools (schemathesis, client generators) reject or mis-build those operations."""

from __future__ import annotations

import re
from typing import Any

import pytest


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    from modelcommons.server.app import create_app

    return create_app().openapi()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_path_placeholder_is_a_declared_parameter(schema: dict[str, Any]) -> None:
    undeclared = []
    for method, path, operation in _operations(schema):
        placeholders = set(re.findall(r"{([^}]+)}", path))
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        if placeholders != declared:
            undeclared.append(f"{method.upper()} {path}: {sorted(placeholders - declared)}")
    assert not undeclared


def test_operation_ids_are_unique(schema: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in _operations(schema)]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    "path",
    [
        "/api/{types}/{namespace}/{name}/paths-info/{rev}",
        "/{namespace}/{name}/info/lfs/objects/batch",
        "/datasets/{namespace}/{name}/info/lfs/objects/batch",
        "/api/{types}/{namespace}/{name}/commit/{rev}",
    ],
)
def test_routes_that_read_their_body_by_hand_declare_it(schema: dict[str, Any], path: str) -> None:
    """Without a declared body the fuzzing pass never sends these routes one."""
    assert "requestBody" in schema["paths"][path]["post"]
