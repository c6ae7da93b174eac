"""Words the platform's own URLs use where a force id could stand."""

# First path segments of data.police.uk's API and of our own /api/v1: never a force id.
RESERVED_FORCE_IDS = (
    "v1",
    "forces",
    "locate-neighbourhood",
    "crimes-street",
    "crimes-at-location",
    "crimes-no-location",
    "crime-categories",
    "crime-last-updated",
    "crimes-street-dates",
    "outcomes-for-crime",
    "outcomes-at-location",
    "stops-street",
    "stops-at-location",
    "stops-no-location",
    "stops-force",
)
