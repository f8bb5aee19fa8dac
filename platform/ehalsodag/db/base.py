"""Declarative base shared by every domain's models (advanced-alchemy's BigInt audit base)."""

from advanced_alchemy.base import BigIntAuditBase, BigIntBase

__all__ = ["BigIntAuditBase", "BigIntBase", "metadata"]

metadata = BigIntBase.metadata
