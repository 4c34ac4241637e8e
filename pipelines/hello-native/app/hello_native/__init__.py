"""hello-native: FNV-1a hashing from a C extension compiled on the full base, imported on slim."""

from ._fnv import fnv1a

__all__ = ["fnv1a", "main"]


def main(argv=None):
    """python3 -m hello_native TEXT...: print each TEXT's FNV-1a hash as 8 hex digits."""
    import sys

    for text in (sys.argv[1:] if argv is None else argv):
        print(f"{fnv1a(text.encode('utf-8')):08x} {text}")
    return 0
