"""EIDO exchange: an incident as a NENA Emergency Incident Data Object (NENA-STA-021, JSON),
for another force or agency, and an EIDO document received from one as a new incident
(a call transferred to us).

NENA publishes the schema as OpenAPI 3.0 YAML with no licence file, so Bluelamp never
ships a copy: it is read at run time from ``settings.eido_schema_dir``, or from
``../shared/spec/eido`` beside the checkout. Without it, export still works and import
makes structural checks only (and says so).

Exporting discloses personal data (the callers) to another organisation: it needs
``incident.read`` on an incident the actor may see, is audited, and is written in the
incident's log. Importing needs ``incident.create``; the same document twice opens one
incident (the idempotency key comes from the sender and their incident id).

The parts: ``common`` (the version, component lists and mappings both ways share),
``schema`` (NENA's schema and the checks without it), ``export`` and ``receive``. What
callers use is named here.
"""

from bluelamp.command.eido.common import COMPONENT_LISTS, EIDO_VERSION
from bluelamp.command.eido.export import Exported, export, export_incident, from_html, sender_for, timestamp, to_html
from bluelamp.command.eido.receive import Transfer, import_document, read_transfer
from bluelamp.command.eido.schema import (
    Checked,
    SchemaError,
    check_document,
    require_valid,
    schema_dir,
    structural_errors,
    validator,
)

__all__ = [
    "COMPONENT_LISTS",
    "EIDO_VERSION",
    "Checked",
    "Exported",
    "SchemaError",
    "Transfer",
    "check_document",
    "export",
    "export_incident",
    "from_html",
    "import_document",
    "read_transfer",
    "require_valid",
    "schema_dir",
    "sender_for",
    "structural_errors",
    "timestamp",
    "to_html",
    "validator",
]
