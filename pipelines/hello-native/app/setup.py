# setuptools 66 (Debian bookworm) reads the metadata from pyproject.toml; the C extension is declared here.
from setuptools import Extension, setup

setup(ext_modules=[Extension("hello_native._fnv", sources=["src/fnv.c"], extra_compile_args=["-O2"])])
