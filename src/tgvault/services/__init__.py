"""The use cases: backfill, sync and refresh, the media queue, audits, live updates, Desktop imports,
status, reparse and media migration. A service takes records from a source and a unit of work over the
archive, and speaks nothing but :mod:`tgvault.domain` records.
"""
