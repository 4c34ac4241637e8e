"""python3 -m hello_service [--host H] [--port P] | --greet NAME

Serves GET /hello?name=NAME (JSON greeting, from the greet library) and GET /healthz (JSON status with
the service's and Python's versions) until stopped; --greet prints one greeting and exits.
"""

import argparse
import json
import platform
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import greet

from . import NAME, __version__


class Handler(BaseHTTPRequestHandler):
    server_version = f"{NAME}/{__version__}"

    def do_GET(self):  # noqa: N802 (the standard library's name)
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self._json(200, {"status": "ok", "service": NAME, "version": __version__, "python": platform.python_version()})
        elif url.path == "/hello":
            name = parse_qs(url.query).get("name", [""])[0]
            self._json(200, {"message": greet.greeting(name)})
        else:
            self._json(404, {"error": f"no route {url.path}", "routes": ["/hello?name=NAME", "/healthz"]})

    def log_message(self, format, *args):  # noqa: A002 (the standard library's name)
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))

    def _json(self, status, body):
        data = (json.dumps(body, sort_keys=True) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hello_service", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--greet", metavar="NAME", help="print one greeting and exit")
    args = parser.parse_args(argv)
    if args.greet is not None:
        print(f"{greet.greeting(args.greet)} {NAME} {__version__} on Python {platform.python_version()}")
        return 0
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"{NAME} {__version__} listening on {args.host}:{args.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
