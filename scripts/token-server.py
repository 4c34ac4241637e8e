#!/usr/bin/env python3
"""A small token server for the test registry on 127.0.0.1:5004 (scripts/setup-token-registry starts it).

Implements, for tests only, the distribution "Token Authentication Specification" (GET realm with Basic) and
its "OAuth2 Token Authentication" (POST realm, grant_type=password|refresh_token). Tokens are ES256 JWTs whose
header carries the signing certificate as x5c, which the registry checks against its rootcertbundle.

Users come from a file of `name:sha256(password)` lines. The user "expired" gets tokens whose exp is an hour in
the past while expires_in still says 300 s, as a token server with a wrong clock would, so a client caches them
and the registry refuses them with error="invalid_token". Refresh tokens are stateless (user + HMAC), so they
survive a restart of this server. Never logs a password or a token.
"""
import argparse, base64, hashlib, hmac, json, os, secrets, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

LIFETIME = 300


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    def __init__(self, args):
        with open(args.key, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), password=None)
        with open(args.cert, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        self.x5c = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
        with open(args.refresh_secret, "rb") as f:
            self.refresh_secret = f.read().strip()
        self.issuer = args.issuer
        self.users = {}
        with open(args.users) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    name, digest = line.split(":", 1)
                    self.users[name] = digest

    def check_password(self, user, password):
        digest = self.users.get(user)
        return digest is not None and hmac.compare_digest(digest, hashlib.sha256(password.encode()).hexdigest())

    def refresh_token(self, user):
        body = b64url(user.encode())
        return body + "." + b64url(hmac.new(self.refresh_secret, body.encode(), hashlib.sha256).digest())

    def user_of_refresh_token(self, token):
        body, _, mac = token.partition(".")
        expected = b64url(hmac.new(self.refresh_secret, body.encode(), hashlib.sha256).digest())
        if not mac or not hmac.compare_digest(mac, expected):
            return None
        user = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        return user if user in self.users else None

    def token(self, user, service, scopes):
        now = int(time.time())
        # The "expired" user's tokens ended an hour ago (beyond the registry's 60 s leeway).
        exp = now - 3600 if user == "expired" else now + LIFETIME
        access = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3 or parts[0] != "repository" or user is None:
                continue
            actions = [a for a in parts[-1].split(",") if a in ("pull", "push", "delete", "*")]
            access.append({"type": "repository", "name": ":".join(parts[1:-1]), "actions": actions})
        header = {"typ": "JWT", "alg": "ES256", "x5c": self.x5c}
        claims = {"iss": self.issuer, "sub": user or "", "aud": service, "exp": exp, "nbf": min(now, exp) - 10,
                  "iat": min(now, exp) - 10, "jti": secrets.token_hex(16), "access": access}
        signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
            b64url(json.dumps(claims, separators=(",", ":")).encode())
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signing_input + "." + b64url(signature), now


def make_handler(issuer):
    class Handler(BaseHTTPRequestHandler):
        server_version = "orchestrator-test-token-server"

        def log_message(self, fmt, *args):
            # The request line holds no secret (passwords come in Authorization or a POST body); keep it short.
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

        def answer(self, status, body, extra_headers=()):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra_headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def issue(self, user, service, scopes, with_refresh, oauth):
            token, issued = issuer.token(user, service, scopes)
            body = {"token": token, "access_token": token, "expires_in": LIFETIME,
                    "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(issued))}
            if oauth:
                body = {"access_token": token, "expires_in": LIFETIME, "issued_at": body["issued_at"], "scope": " ".join(scopes)}
            if with_refresh and user is not None:
                body["refresh_token"] = issuer.refresh_token(user)
            self.answer(200, body)

        def do_GET(self):
            url = urlparse(self.path)
            if url.path == "/healthz":
                return self.answer(200, {"ok": True})
            if url.path != "/token":
                return self.answer(404, {"error": "not_found"})
            query = parse_qs(url.query)
            user = None
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                try:
                    name, _, password = base64.b64decode(header[6:]).decode().partition(":")
                except Exception:
                    return self.answer(400, {"error": "invalid_request"})
                if not issuer.check_password(name, password):
                    return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid username or password"}]},
                                       [("WWW-Authenticate", 'Basic realm="token"')])
                user = name
            self.issue(user, query.get("service", [""])[0], query.get("scope", []),
                       query.get("offline_token", ["false"])[0] == "true", oauth=False)

        def do_POST(self):
            if urlparse(self.path).path != "/token":
                return self.answer(404, {"error": "not_found"})
            length = int(self.headers.get("Content-Length", "0") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            field = lambda name: form.get(name, [""])[0]
            scopes = [s for value in form.get("scope", []) for s in value.split(" ") if s]
            if not field("client_id"):
                return self.answer(400, {"error": "invalid_request", "error_description": "client_id is required"})
            grant = field("grant_type")
            if grant == "refresh_token":
                user = issuer.user_of_refresh_token(field("refresh_token"))
                if user is None:
                    return self.answer(401, {"error": "invalid_grant", "error_description": "unknown refresh token"})
                return self.issue(user, field("service"), scopes, with_refresh=True, oauth=True)
            if grant == "password":
                if not issuer.check_password(field("username"), field("password")):
                    return self.answer(401, {"error": "invalid_grant", "error_description": "invalid username or password"})
                return self.issue(field("username"), field("service"), scopes, field("access_type") == "offline", oauth=True)
            return self.answer(400, {"error": "unsupported_grant_type"})

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("listen", "key", "cert", "users", "refresh-secret", "issuer"):
        parser.add_argument("--" + name, required=True)
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("token-server: listens on loopback only, not %s" % host)
    server = ThreadingHTTPServer((host, int(port)), make_handler(Issuer(args)))
    sys.stderr.write("token-server: listening on %s\n" % args.listen)
    server.serve_forever()


if __name__ == "__main__":
    main()
