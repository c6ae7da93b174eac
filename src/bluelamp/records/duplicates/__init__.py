"""Duplicate persons: the dedupe job finds likely pairs of records of one person and fills
the merge-candidate queue (``records_merge_candidate``) that ``merge.py`` works through:
compare, merge into a golden nominal (names, identifiers, markers and links move, never
copied or deleted), reject, undo.

``dedupe.py`` is the job (``find_duplicates``): it streams a force's live persons into an
in-process database (``extract.py``), trains and scores the Splink model (``splink_model.py``:
comparisons, blocking and training; ``scoring.py``: the prior, the best pair of names for
each pair of persons, pairs implied through a third person, explanations) on DuckDB or
Spark (``engines.py``) and writes the candidates. ``queries.py`` holds the reads and writes
of the job and of merge.py; ``progress.py`` how the job reports its stages."""
