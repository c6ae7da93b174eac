"""The pocket notebook: each officer's evidential notes, as the PNB rules want them.

Owns: entries with the phone's and the server's times, a location and a photo (checked,
stripped of metadata, hashed); signing, which locks an entry and gives it its sequence
number and place in the officer's hash chain; corrections as new entries; the PDF of a
period for court with the SHA-256 of its content, and checking a PDF against the store.

Must not: let anyone but the officer read or write their notebook (the policy has no
action for another's), change a signed entry (the database refuses it too), or copy the
entries' text into the audit log."""
