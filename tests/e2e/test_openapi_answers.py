"""Every operation of the OpenAPI document says what it answers: each 2xx JSON response has a
schema that names its fields (a model, or a list of models), and other answers are a documented
media type (CSV, PDF, HTML). A generated client and the fuzzer check bodies against these."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tanso.api.app import create_app
from tanso.store.db import Database

NON_JSON = {"text/csv", "text/html", "application/pdf", "application/octet-stream"}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _names_fields(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    schema = _resolve(spec, schema)
    if schema.get("type") == "array":
        return _names_fields(spec, schema.get("items", {}))
    return schema.get("type") == "object" and bool(schema.get("properties"))


def undocumented_answers(spec: dict[str, Any]) -> list[str]:
    """The 2xx answers of the document that do not say what they contain."""
    missing = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for status, response in op["responses"].items():
                if not status.startswith("2"):
                    continue
                content = response.get("content", {})
                where = f"{method.upper()} {path} {status}"
                if not content:
                    missing.append(f"{where}: no content")
                for media, body in content.items():
                    if "json" in media:
                        if not _names_fields(spec, body.get("schema", {})):
                            missing.append(f"{where}: {media} without a schema of its fields")
                    elif media not in NON_JSON:
                        missing.append(f"{where}: undocumented media type {media}")
    return missing


@pytest.fixture
def spec(db: Database) -> dict[str, Any]:
    with TestClient(create_app(db)) as client:
        document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def test_every_json_answer_of_every_operation_has_a_schema_of_its_fields(
    spec: dict[str, Any],
) -> None:
    assert undocumented_answers(spec) == []
    operations = sum(len(ops) for ops in spec["paths"].values())
    assert operations >= 120


def test_an_answer_typed_as_a_bare_dict_is_reported(spec: dict[str, Any]) -> None:
    """The check can fail: `dict[str, Any]`, an empty schema, or no content is caught."""
    bare = {"type": "object", "additionalProperties": True}
    spec["paths"]["/x"] = {
        "get": {"responses": {"200": {"content": {"application/json": {"schema": bare}}}}},
        "post": {"responses": {"201": {"content": {"application/json": {"schema": {}}}}}},
        "put": {"responses": {"200": {"description": "ok"}}},
    }
    assert undocumented_answers(spec) == [
        "GET /x 200: application/json without a schema of its fields",
        "POST /x 201: application/json without a schema of its fields",
        "PUT /x 200: no content",
    ]


def test_renamed_fields_are_the_only_names_in_the_document(spec: dict[str, Any]) -> None:
    """One word per concept: `quantity`, never `qty`; `reporting_year`, never `year`."""
    schemas = spec["components"]["schemas"]
    for name, schema in schemas.items():
        fields = set(schema.get("properties", {}))
        assert not fields & {"qty", "min_qty", "year"}, name
    params = {
        p["name"]
        for ops in spec["paths"].values()
        for op in ops.values()
        for p in op.get("parameters", [])
    }
    assert not params & {"quantity", "min_quantity", "year"}
