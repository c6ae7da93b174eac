"""My work on the officer's phone (issue 7 items 2, 6, 7): the unit and its assignment,
one-tap status, updates, backup, the emergency button and position reports. The use
cases are in ``service.py``, their reads in ``queries.py``; it owns no tables."""
