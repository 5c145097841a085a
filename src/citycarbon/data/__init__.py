"""The data platform (数据平台): catalog database, ingest, Parquet lake and query engines.

This package is the only place in citycarbon that reads and writes files and databases.
"""
