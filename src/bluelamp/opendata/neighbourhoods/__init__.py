"""A force's public face in the open-data API: its profile (web site, telephone,
engagement methods, senior officers) and its neighbourhoods, each with a boundary, a
team, events and priorities, as data.police.uk serves them.

Owns the ``opendata_neighbourhood*`` tables and the open-data part of the force row
(``url``, ``telephone``, ``description`` and ``ForceSettings.opendata``'s
``engagement_methods`` and ``people``). Everything here is public by design: a force
names its officers in its teams on purpose; nothing personal about the public is kept.

- ``service``: the changes a force's team makes (set a neighbourhood, load a GeoJSON
  file, add events and priorities, set the profile), audited, within the actor's force.
- ``public``: the reads behind the public ``/api/`` endpoints, in data.police.uk's shapes.
- ``geometry``: boundaries checked with shapely, and the locator that answers
  ``locate-neighbourhood`` from prepared geometries cached per force.
- ``geojson``: the GeoJSON form of a neighbourhood (files and the management API).
"""
