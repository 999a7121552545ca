"""Commands added to the `detente` CLI (registered on import by detente.cli)."""
