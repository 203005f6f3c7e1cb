"""The campaign engine: campaigns, runs, targeting into the ledger, and chunk dispatch."""

from core.engine.context import RunContext

__all__ = ["RunContext"]
