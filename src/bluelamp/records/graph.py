"""The link chart's data: a record's associations to depth 2, breadth first, and its
exports as GraphML (yEd, Gephi, i2-style tools) and CSV (an edge list).

Only records the actor may see are in the graph: a record of another force, above the
actor's clearance, on an access list without the actor, disposed (MoPI), or an event of a
kind the actor may not read (a crime without crime.read, intelligence without
intelligence.read) is simply absent, with its edges; nothing says something was left out.
Addresses (``records_person_address``) are edges too, so people sharing an address are
associated through it. The graph stops at ``MAX_NODES`` nodes and says it was truncated.

Each depth costs a fixed number of queries (links and addresses touching the frontier,
then one visibility query per record type), never one per record."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor, require_reason
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.errors import FieldProblem
from bluelamp.records import queries
from bluelamp.records.pole import (
    RecordRef,
    find_visible,
    force_of,
    invalid,
    kind_of,
    label,
    readable_event_kinds,
)
from bluelamp.records.pole import record_type as parse_record_type

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAX_NODES = 500
MAX_DEPTH = 2
# An address row as an edge: the role it plays in the chart.
ADDRESS_ROLES = {"home": "resides_at", "previous": "resides_at", "work": "works_at", "care_of": "care_of"}


@dataclass(frozen=True)
class Node:
    """A record in the chart: ``key`` is ``type:id``."""

    type: str
    id: str
    label: str
    kind: str  # vehicle, crime... or the type
    depth: int
    marking: str

    @property
    def key(self) -> str:
        return f"{self.type}:{self.id}"


@dataclass(frozen=True)
class Edge:
    """A link (or an address) between two records in the chart."""

    id: str
    source: str  # node key
    target: str  # node key
    role: str
    from_date: date | None
    to_date: date | None
    via: str  # "link" or "address"


@dataclass
class Graph:
    root: str
    depth: int
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    truncated: bool = False


def _key(rtype: str, rid: str) -> str:
    return f"{rtype}:{rid}"


def _candidate_edges(session: Session, force_id: str, frontier: list[RecordRef]) -> list[Edge]:
    """Every link and address row touching the frontier, as edges (their ends not yet checked)."""
    edges = [
        Edge(
            link.id,
            _key(link.from_type, link.from_id),
            _key(link.to_type, link.to_id),
            link.role,
            link.from_date,
            link.to_date,
            "link",
        )
        for link in queries.links_touching(session, force_id, [tuple(r) for r in frontier])
    ]
    persons = [r.id for r in frontier if r.type == "person"]
    locations = [r.id for r in frontier if r.type == "location"]
    for row in queries.addresses_touching(session, force_id, persons, locations):
        edges.append(
            Edge(
                f"address-{row.id}",
                _key("person", row.person_id),
                _key("location", row.location_id),
                ADDRESS_ROLES.get(row.kind, row.kind),
                row.from_date,
                row.to_date,
                "address",
            )
        )
    return edges


def associations(
    session: Session,
    actor: Actor,
    record_type: str,
    record_id: str,
    *,
    clock: Clock,
    depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
    export: str | None = None,
) -> Graph:
    """A record's associations to ``depth`` (1 or 2), breadth first, only records the actor
    may see, at most ``max_nodes`` nodes (``truncated`` says when more were left out).
    Asks for a reason; audited, with the persons shown (and the export format, if any)."""
    require(actor, Action.PERSON_READ)
    force_id = force_of(actor)
    rtype = parse_record_type(record_type)
    if not 1 <= depth <= MAX_DEPTH:
        raise invalid([FieldProblem("depth", f"a link chart goes 1 to {MAX_DEPTH} links deep")])
    root = find_visible(session, actor, RecordRef(rtype, record_id))
    reason = require_reason(actor)
    kinds = readable_event_kinds(actor)
    root_node = Node(rtype, root.id, label(root), kind_of(root), 0, root.marking)
    graph = Graph(root=root_node.key, depth=depth, nodes=[root_node])
    nodes: dict[str, Node] = {root_node.key: root_node}
    edges: dict[str, Edge] = {}
    frontier = [RecordRef(rtype, root.id)]
    for level in range(1, depth + 2):
        if not frontier:
            break
        found = _candidate_edges(session, force_id, frontier)
        if level <= depth:
            new = _visible_neighbours(session, actor, found, nodes, kinds)
            room = max_nodes - len(nodes)
            if len(new) > room:
                graph.truncated = True
                new = new[:room]
            for rtype_, row in new:
                node = Node(rtype_, row.id, label(row), kind_of(row), level, row.marking)
                nodes[node.key] = node
            frontier = [RecordRef(t, row.id) for t, row in new]
        else:
            frontier = []  # the last pass only joins records already in the chart
        for edge in found:
            if edge.source in nodes and edge.target in nodes and edge.source != edge.target:
                edges.setdefault(edge.id, edge)
    graph.nodes = list(nodes.values())
    graph.edges = sorted(edges.values(), key=lambda e: (e.source, e.role, e.target, e.id))
    audit.append(
        session,
        actor,
        Audit(
            "graph.export" if export else "graph.read",
            record_type=rtype,
            record_id=root.id,
            reason=reason,
            detail={
                "depth": depth,
                "nodes": len(graph.nodes),
                "edges": len(graph.edges),
                "truncated": graph.truncated,
                "persons": sorted(n.id for n in graph.nodes if n.type == "person"),
                **({"format": export} if export else {}),
            },
        ),
        clock,
    )
    return graph


def _visible_neighbours(
    session: Session, actor: Actor, found: list[Edge], nodes: dict[str, Node], kinds: list[str]
) -> list[tuple[str, Any]]:
    """The records at the far end of ``found`` not yet in the chart that the actor may see,
    in the order their edges were made."""
    order: list[str] = []
    for edge in found:
        for end in (edge.source, edge.target):
            if end not in nodes and end not in order:
                order.append(end)
    wanted: dict[str, list[str]] = {}
    for key in order:
        rtype, rid = key.split(":", 1)
        wanted.setdefault(rtype, []).append(rid)
    seen = {t: queries.visible_ids(session, actor, t, ids, kinds) for t, ids in wanted.items()}
    out = []
    for key in order:
        rtype, rid = key.split(":", 1)
        row = seen.get(rtype, {}).get(rid)
        if row is not None:
            out.append((rtype, row))
    return out


# ---------------------------------------------------------------- exports

GRAPHML = "http://graphml.graphdrawing.org/xmlns"
_NODE_KEYS = (("label", "string"), ("type", "string"), ("kind", "string"), ("depth", "int"), ("marking", "string"))
_EDGE_KEYS = (("role", "string"), ("from_date", "string"), ("to_date", "string"), ("via", "string"))


def to_graphml(graph: Graph) -> str:
    """The graph as GraphML: nodes with label, type, kind, depth and marking; directed
    edges with role, dates and whether they are a link or an address."""
    ET.register_namespace("", GRAPHML)
    root = ET.Element(f"{{{GRAPHML}}}graphml")
    for name, kind in _NODE_KEYS:
        ET.SubElement(
            root, f"{{{GRAPHML}}}key", {"id": f"n_{name}", "for": "node", "attr.name": name, "attr.type": kind}
        )
    for name, kind in _EDGE_KEYS:
        ET.SubElement(
            root, f"{{{GRAPHML}}}key", {"id": f"e_{name}", "for": "edge", "attr.name": name, "attr.type": kind}
        )
    body = ET.SubElement(root, f"{{{GRAPHML}}}graph", {"id": graph.root, "edgedefault": "directed"})
    for node in graph.nodes:
        element = ET.SubElement(body, f"{{{GRAPHML}}}node", {"id": node.key})
        for name, _ in _NODE_KEYS:
            ET.SubElement(element, f"{{{GRAPHML}}}data", {"key": f"n_{name}"}).text = str(getattr(node, name))
    for edge in graph.edges:
        element = ET.SubElement(
            body, f"{{{GRAPHML}}}edge", {"id": edge.id, "source": edge.source, "target": edge.target}
        )
        for name, _ in _EDGE_KEYS:
            value = getattr(edge, name)
            if value is not None:
                ET.SubElement(element, f"{{{GRAPHML}}}data", {"key": f"e_{name}"}).text = str(value)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


CSV_COLUMNS = (
    "source_type",
    "source_id",
    "source_label",
    "role",
    "target_type",
    "target_id",
    "target_label",
    "from_date",
    "to_date",
    "via",
)


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(graph: Graph) -> str:
    """The graph's edges, one a row, with both ends' types, ids and labels."""
    nodes = {n.key: n for n in graph.nodes}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for edge in graph.edges:
        source, target = nodes[edge.source], nodes[edge.target]
        writer.writerow(
            [
                _cell(v)
                for v in (
                    source.type,
                    source.id,
                    source.label,
                    edge.role,
                    target.type,
                    target.id,
                    target.label,
                    edge.from_date.isoformat() if edge.from_date else "",
                    edge.to_date.isoformat() if edge.to_date else "",
                    edge.via,
                )
            ]
        )
    return out.getvalue()
