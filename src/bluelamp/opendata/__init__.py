"""Open data: the data.police.uk-compatible API, archive CSV import and export, and the
anonymised monthly publication of a force's own crime, outcome and stop-and-search data."""
