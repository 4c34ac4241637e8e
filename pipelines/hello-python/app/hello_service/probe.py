"""python3 -m hello_service.probe URL [SECONDS]: GET URL until it answers 200 (default: up to 10 s), print the body.

A health probe that needs neither curl nor a network namespace beyond loopback: validation starts the
service in the background and probes it in the same container.
"""

import sys
import time
import urllib.error
import urllib.request


def main(argv):
    url = argv[0]
    deadline = time.monotonic() + (float(argv[1]) if len(argv) > 1 else 10.0)
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                sys.stdout.write(response.read().decode("utf-8"))
                return 0
        except (urllib.error.URLError, ConnectionError) as error:
            if time.monotonic() > deadline:
                print(f"probe: {url} did not answer: {error}", file=sys.stderr)
                return 1
            time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
