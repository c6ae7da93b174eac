"""The read side of crime recording (``records/crime.py``), victims' care
(``records/victims.py``) and intelligence reports (``records/intelligence.py``): the kinds
of event with tables of their own. Generic event reads are in ``records/queries.py``."""
