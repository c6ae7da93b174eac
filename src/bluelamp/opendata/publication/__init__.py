"""The monthly publication (issue 8): a force's own crimes, outcomes and stops and searches
of a month, in data.police.uk's exact form, anonymised (map points, no personal data,
withheld categories), loaded into the open-data tables and written as the archive's CSVs.

``publish.py`` builds and loads a month; ``points.py`` makes the anonymous map points;
``queries.py`` and ``writes.py`` are its reads and writes. It must never publish a true
location, a name, a reference, a narrative or an officer."""
