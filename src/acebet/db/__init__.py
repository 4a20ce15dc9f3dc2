"""The database layer: every query AceBet runs against its tables, by table group.

Library modules (ingest, features, model, scoring, ...) call these functions instead of
writing SQL, so each query is written once, next to the others on the same tables, and
a migration that changes a table has one place to look. `acebet.store` opens the file,
applies migrations and runs transactions; `acebet.share` owns the analyst copies.
"""
