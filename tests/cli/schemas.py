"""Validating a command's document against its published schema (genoflow/schemas)."""

from __future__ import annotations

from typing import Any

from genoflow import schemas


def validator(name: str) -> Any:
    """A validator of the named schema that resolves the others by their ids."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry: Registry[Any] = Registry().with_resources(
        (schemas.schema_id(other), Resource.from_contents(schemas.schema(other)))
        for other in schemas.names()
    )
    return Draft202012Validator(schemas.schema(name), registry=registry)


def schema_errors(command: str, document: Any) -> str:
    """'' when ``document`` is what ``command`` publishes, else the first errors, one a line."""
    errors = sorted(validator(schemas.COMMAND_SCHEMAS[command]).iter_errors(document), key=str)
    return "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
