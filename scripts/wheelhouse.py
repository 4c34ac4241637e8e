#!/usr/bin/env python3
"""Builds byte-reproducible wheels of the small pure-Python packages kept in python-packages/.

usage: wheelhouse.py OUT [--index] [--source DIR]

Each folder of the source directory (default: python-packages/ next to scripts/) with a pyproject.toml
becomes NAME-VERSION-py3-none-any.whl in OUT (with --index: OUT/simple/NAME/, a PEP 503 layout that
'python3 -m http.server' serves as a simple index). The wheel is a zip written by this script alone, with
stored (uncompressed) entries in sorted order, a fixed 1980-01-01 timestamp and fixed modes, so the same
source gives the same bytes on every machine and every Python: the hashes in the committed
requirements files stay valid. Prints 'sha256 file' per wheel.
"""
import base64
import hashlib
import os
import re
import sys
import zipfile

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    tomllib = None

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def read_project(folder):
    path = os.path.join(folder, "pyproject.toml")
    with open(path, "rb") as handle:
        text = handle.read()
    if tomllib is not None:
        return tomllib.loads(text.decode("utf-8"))["project"]
    # The packages here keep [project] to plain 'key = "value"' and 'key = ["a", "b"]' lines.
    project, section = {}, None
    for line in text.decode("utf-8").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "project" and "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            project[key] = re.findall(r'"([^"]*)"', value) if value.startswith("[") else value.strip('"')
    return project


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def build(folder, out):
    project = read_project(folder)
    name, version = project["name"], project["version"]
    dist = re.sub(r"[-_.]+", "_", name)
    module = dist.lower()
    files = []
    package_root = os.path.join(folder, module)
    for root, dirs, names in os.walk(package_root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for file_name in sorted(names):
            if file_name.endswith(".pyc"):
                continue
            full = os.path.join(root, file_name)
            with open(full, "rb") as handle:
                files.append((os.path.relpath(full, folder).replace(os.sep, "/"), handle.read()))
    info = f"{dist}-{version}.dist-info"
    metadata = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if project.get("description"):
        metadata.append(f"Summary: {project['description']}")
    if project.get("requires-python"):
        metadata.append(f"Requires-Python: {project['requires-python']}")
    metadata += [f"Requires-Dist: {d}" for d in project.get("dependencies", [])]
    files.append((f"{info}/METADATA", ("\n".join(metadata) + "\n").encode("utf-8")))
    files.append((f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: orchestrator-wheelhouse 1\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
    files.sort(key=lambda f: f[0])
    record = "".join(f"{path},{record_hash(data)},{len(data)}\n" for path, data in files) + f"{info}/RECORD,,\n"
    files.append((f"{info}/RECORD", record.encode("utf-8")))

    os.makedirs(out, exist_ok=True)
    target = os.path.join(out, f"{dist}-{version}-py3-none-any.whl")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as wheel:
        for path, data in files:
            entry = zipfile.ZipInfo(path, date_time=FIXED_TIME)
            entry.create_system = 3
            entry.external_attr = (0o100644 << 16)
            entry.compress_type = zipfile.ZIP_STORED
            wheel.writestr(entry, data)
    return name, target


def main(argv):
    args = list(argv)
    index = "--index" in args
    if index:
        args.remove("--index")
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python-packages")
    if "--source" in args:
        at = args.index("--source")
        source = args[at + 1]
        del args[at:at + 2]
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out = args[0]
    for entry in sorted(os.listdir(source)):
        folder = os.path.join(source, entry)
        if not os.path.isfile(os.path.join(folder, "pyproject.toml")):
            continue
        name = read_project(folder)["name"]
        target_dir = os.path.join(out, "simple", normalize(name)) if index else out
        _, target = build(folder, target_dir)
        with open(target, "rb") as handle:
            print(hashlib.sha256(handle.read()).hexdigest(), os.path.relpath(target, out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
