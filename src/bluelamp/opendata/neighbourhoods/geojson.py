"""The GeoJSON form of a neighbourhood: a Feature whose geometry is its boundary (a
Polygon, positions ``[lon, lat]``) and whose properties are the rest, named as the API
names them.

Properties read: ``id`` (or the Feature's own ``id``), ``name``, ``population``,
``description`` (plain text), ``url_force``, ``contact_details``, ``links``,
``locations``, ``people`` (or ``team``), ``centre`` (``{"latitude", "longitude"}``).
Other properties are ignored: files drawn in a GIS carry many of their own."""

from __future__ import annotations

from typing import Any

from bluelamp.errors import FieldProblem, InvalidInput
from bluelamp.opendata.model import Neighbourhood
from bluelamp.opendata.neighbourhoods import geometry

PROPERTIES = ("name", "population", "description", "url_force", "contact_details", "links", "locations")


def fields_of_feature(feature: Any, where: str = "feature") -> dict[str, Any]:
    """The fields of a neighbourhood (as ``service.NeighbourhoodIn`` takes them) from a
    GeoJSON Feature; the boundary is checked here, the rest by the service."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidInput(
            f"{where}: a neighbourhood is a GeoJSON Feature",
            problems=[FieldProblem(where, "not a GeoJSON Feature")],
        )
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        raise InvalidInput(
            f"{where}.properties: not an object", problems=[FieldProblem(f"{where}.properties", "not an object")]
        )
    fields: dict[str, Any] = {k: properties[k] for k in PROPERTIES if properties.get(k) is not None}
    identifier = properties.get("id", feature.get("id"))
    fields["id"] = (
        str(identifier) if isinstance(identifier, int | str) and not isinstance(identifier, bool) else identifier
    )
    people = properties.get("people", properties.get("team"))
    if people is not None:
        fields["people"] = people
    centre = properties.get("centre")
    if isinstance(centre, dict):
        fields["centre"] = [_number(centre.get("latitude")), _number(centre.get("longitude"))]
    elif centre is not None:
        fields["centre"] = centre
    fields["boundary"] = geometry.ring_from_geojson(feature.get("geometry"), f"{where}.geometry")
    return fields


def features_of_collection(data: Any) -> list[dict[str, Any]]:
    """The Features of a FeatureCollection (InvalidInput for anything else)."""
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        raise InvalidInput(
            "neighbourhoods are loaded from a GeoJSON FeatureCollection",
            problems=[FieldProblem("type", "expected a FeatureCollection with a list of features")],
        )
    return data["features"]


def _number(value: Any) -> Any:
    """ "52.8" -> 52.8 (the API's own centre is strings); anything else as given, for the check to name."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def feature_of(neighbourhood: Neighbourhood, description_text: str | None) -> dict[str, Any]:
    """A stored neighbourhood as a GeoJSON Feature that ``fields_of_feature`` reads back
    unchanged (the description as the plain text its team wrote)."""
    ring = [[lon, lat] for lat, lon in neighbourhood.boundary]
    properties: dict[str, Any] = {
        "id": neighbourhood.id,
        "name": neighbourhood.name,
        "population": int(neighbourhood.population) if neighbourhood.population.isdigit() else 0,
        "description": description_text,
        "url_force": neighbourhood.url_force,
        "centre": {"latitude": neighbourhood.centre_lat, "longitude": neighbourhood.centre_lon},
        "contact_details": neighbourhood.contact_details or {},
        "links": neighbourhood.links or [],
        "locations": neighbourhood.locations or [],
        "people": neighbourhood.people or [],
        "updated_at": neighbourhood.updated_at.isoformat(),
    }
    return {
        "type": "Feature",
        "id": neighbourhood.id,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": properties,
    }
