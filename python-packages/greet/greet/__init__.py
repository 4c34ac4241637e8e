"""Greetings, formatted the one way the samples agree on."""

__all__ = ["greeting"]


def greeting(name: str) -> str:
    """'Hello, NAME!' with surrounding whitespace removed; an empty name greets the world."""
    name = name.strip()
    return f"Hello, {name or 'world'}!"
