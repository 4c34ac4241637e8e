#!/usr/bin/env python3
"""Greets, naming its own version and the interpreter's: a tiny app for the hello-python pipeline.

Uses only modules that python3-minimal ships (no full standard library on the slim base).
"""
import sys

__version__ = "1.0.0"


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else "world"
    python = "{}.{}.{}".format(*sys.version_info[:3])
    print(f"Hello, {name}! hello-python {__version__} on Python {python}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
