"""The indexed look-ups search ranks (``records/search.py``): its SQL, apart from the
ranking, which is Python."""
