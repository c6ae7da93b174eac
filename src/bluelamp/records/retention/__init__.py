"""The read side of MoPI retention (``records/mopi.py``): records due for review, the
review queue and decided reviews, tombstones, and the deletes that dispose of a record."""
