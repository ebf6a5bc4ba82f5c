"""Test tools: fault injection for the node's network paths."""
