"""Alembic migrations of the MSPlex store, run by ``msplex.store.engine.migrate``."""
