"""Persistence: the tables, the engine/session factory and the Alembic migrations.

One model serves SQLite (embedded default, WAL mode) and PostgreSQL (production).
Imports nothing from inboxlink but config and domain enums.
"""
