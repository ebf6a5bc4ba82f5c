"""meritnet node: what a participant runs (chain client, CLI, roles)."""

from node.errors import MeritnetError

__all__ = ["MeritnetError"]
__version__ = "0.1.0"
