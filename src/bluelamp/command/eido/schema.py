"""NENA's EIDO schema, read at run time (never shipped): the validator, and the structural
checks made without it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bluelamp.errors import ConfigError, FieldProblem, InvalidInput

if TYPE_CHECKING:
    pass
from bluelamp.command.eido.common import (
    COMPONENT_LISTS,
    EIDO_VERSION,
    MAX_REPORTED_ERRORS,
    ROOT_SCHEMA,
)

# The repository checkout (src/bluelamp/command/eido/schema.py -> the checkout), for the default schema folder.
_CHECKOUT = Path(__file__).resolve().parents[4]
_SCHEMA_BASE = "https://eido.schema.invalid/Schema/"


@dataclass(frozen=True)
class SchemaError:
    """One way a document breaks the schema: where (a JSON path) and what."""

    path: str
    message: str


def schema_dir(configured: Path | None) -> Path | None:
    """Where NENA's EIDO schema is: the configured folder (which must hold it), else
    ``../shared/spec/eido`` beside the checkout when present, else None."""
    if configured is not None:
        if not (Path(configured) / "Schema" / "openapi.yaml").is_file():
            raise ConfigError(
                f"BLUELAMP_EIDO_SCHEMA_DIR: there is no Schema/openapi.yaml under {configured}", code="config.invalid"
            )
        return Path(configured)
    default = _CHECKOUT.parent / "shared" / "spec" / "eido"
    return default if (default / "Schema" / "openapi.yaml").is_file() else None


class EidoValidator:
    """NENA's schema compiled once: Draft 7 over ``openapi.yaml`` and ``NIEMComponents/*.yaml``
    in one ``referencing`` registry, validating against ``EmergencyIncidentDataObjectType``."""

    def __init__(self, directory: Path) -> None:
        import yaml
        from jsonschema import Draft7Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser is ~6x faster on 4 MB of YAML
        root = Path(directory) / "Schema"
        contents: dict[str, Any] = {}
        for path in [root / "openapi.yaml", *sorted((root / "NIEMComponents").glob("*.yaml"))]:
            uri = _SCHEMA_BASE + path.relative_to(root).as_posix()
            contents[uri] = _repair(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))

        def retrieve(uri: str) -> Resource:
            # openapi.yaml refers once to "NIEMComponents//j.yaml": read it as the one slash it means.
            normalised = re.sub(r"(?<!:)/{2,}", "/", uri)
            if normalised not in contents:
                from referencing.exceptions import NoSuchResource

                raise NoSuchResource(ref=uri)
            return Resource.from_contents(contents[normalised], default_specification=DRAFT7)

        registry = Registry(retrieve=retrieve).with_resources(
            (uri, Resource.from_contents(document, default_specification=DRAFT7)) for uri, document in contents.items()
        )
        schema = {"$ref": f"{_SCHEMA_BASE}openapi.yaml#/components/schemas/{ROOT_SCHEMA}"}
        self.directory = Path(directory)
        self._validator = Draft7Validator(schema, registry=registry.crawl(), format_checker=_format_checker())

    def errors(self, document: Any) -> list[SchemaError]:
        """Every schema error of the document, in document order."""
        found = sorted(self._validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
        return [SchemaError(error.json_path, _short(error.message)) for error in found]


def _repair(node: Any) -> Any:
    """Make NENA's OpenAPI schemas plain Draft 7, in memory only (the files are never edited).

    Its snapshot has ``minItems: 1,`` (AgentType.agentRoleRegistryText), which YAML reads
    as the string "1,": any such count is read as the integer it means. OpenAPI 3.0's
    ``nullable: true`` (none in this snapshot) becomes a ``null`` in the schema's type."""
    counts = {"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"}
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for key, value in node.items():
            if key in counts and isinstance(value, str) and re.fullmatch(r"\s*\d+\s*,?\s*", value):
                node[key] = int(value.strip().rstrip(","))
            else:
                _repair(value)
    elif isinstance(node, list):
        for item in node:
            _repair(item)
    return node


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")


def _format_checker():
    """Draft 7 formats the documents rely on: timestamps (RFC 3339, with an offset) and URIs."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not RFC3339.match(value):
            return False
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        return True

    @checker.checks("uri")
    def uri(value: object) -> bool:
        return not isinstance(value, str) or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", value) is not None

    return checker


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


@lru_cache(maxsize=4)
def _compiled(directory: str) -> EidoValidator:
    return EidoValidator(Path(directory))


def validator(configured: Path | None = None) -> EidoValidator | None:
    """The compiled validator (built once per folder), or None when the schema is absent."""
    directory = schema_dir(configured)
    return None if directory is None else _compiled(str(directory.resolve()))


def structural_errors(document: Any) -> list[SchemaError]:
    """What can be checked without NENA's schema: the shape every EIDO has."""
    if not isinstance(document, dict):
        return [SchemaError("$", "an EIDO document is a JSON object")]
    problems = []
    if document.get("eidoVersion") != EIDO_VERSION:
        problems.append(SchemaError("$.eidoVersion", f"must be {EIDO_VERSION!r}"))
    for name in ("$id", "issuingElementIdentification", "lastUpdateTimeStamp"):
        if not isinstance(document.get(name), str) or not document[name].strip():
            problems.append(
                SchemaError(f"$['{name}']" if name.startswith("$") else f"$.{name}", "a string is required")
            )
    if not isinstance(document.get("agencyComponent"), list) or not document["agencyComponent"]:
        problems.append(SchemaError("$.agencyComponent", "a list of agencies is required"))
    for name in COMPONENT_LISTS:
        value = document.get(name)
        if value is None:
            continue
        if not isinstance(value, list):
            if name != "agencyComponent":  # already said
                problems.append(SchemaError(f"$.{name}", "must be a list"))
            continue
        for index, item in enumerate(value):
            if not isinstance(item, dict) or not isinstance(item.get("$id"), str):
                problems.append(SchemaError(f"$.{name}[{index}]", "must be an object with a string $id"))
    if "incidentComponent" in document and not isinstance(document["incidentComponent"], dict):
        problems.append(SchemaError("$.incidentComponent", "must be an object"))
    return problems


@dataclass(frozen=True)
class Checked:
    """A document's check: by NENA's schema (``validated``) or only structurally."""

    validated: bool
    errors: list[SchemaError]


def check_document(document: Any, configured: Path | None = None) -> Checked:
    """Check a document against NENA's schema when it is available, else structurally."""
    compiled = validator(configured)
    if compiled is None:
        return Checked(False, structural_errors(document))
    return Checked(True, compiled.errors(document))


def require_valid(document: Any, configured: Path | None = None) -> Checked:
    """The check, or InvalidInput (eido.invalid) listing the first errors with their JSON paths."""
    checked = check_document(document, configured)
    if checked.errors:
        shown = checked.errors[:MAX_REPORTED_ERRORS]
        against = "NENA's EIDO schema" if checked.validated else "the shape of an EIDO (schema not available here)"
        raise InvalidInput(
            f"the document does not validate against {against}: {len(checked.errors)} error(s)"
            + (f", the first {len(shown)} listed" if len(shown) < len(checked.errors) else ""),
            code="eido.invalid",
            problems=[FieldProblem(error.path, error.message) for error in shown],
            extra={"error_count": len(checked.errors), "validated_against_schema": checked.validated},
        )
    return checked
