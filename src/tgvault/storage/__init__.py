"""The archive: SQLAlchemy tables, repositories (one per aggregate) behind a unit of work, schema
migrations, and the content-addressed media store (local or S3). Storage turns records into rows and back,
and imports no source, service or export.
"""
