"""Walls between apps: a user each, files closed to the others, a sandbox, limits (docs/trust-model.md)."""
