"""A fake of App Service's managed identity endpoint (the one Azure Functions apps get tokens from), speaking its
documented protocol: GET $IDENTITY_ENDPOINT?resource=...&api-version=2019-08-01[&client_id=...] with the
X-IDENTITY-HEADER header, answered with {"access_token", "expires_on", "resource", "token_type", "client_id"}.

Its tokens are unsigned JWTs with an Entra issuer and the requested audience: what Azurite's `--oauth basic` checks
(issuer, audience, lifetime; not the signature)."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

IDENTITY_HEADER = "fake-identity-header-value"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_jwt(audience: str, lifetime_s: int = 3600) -> str:
    now = int(time.time())
    claims = {"aud": audience, "iss": f"https://sts.windows.net/{TENANT}/", "iat": now - 60, "nbf": now - 60,
              "exp": now + lifetime_s, "oid": "00000000-0000-0000-0000-000000000001"}
    return f"{_b64({'typ': 'JWT', 'alg': 'RS256'})}.{_b64(claims)}.c2lnbmF0dXJl"


class FakeManagedIdentityEndpoint:
    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []  # the query of every token request
        self.audience: str | None = None  # issue tokens for this audience instead of the requested resource
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                fake.requests.append(query)
                if self.headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER or "resource" not in query:
                    self._answer(400, {"error": "invalid_request"})
                    return
                resource = query["resource"]
                self._answer(200, {"access_token": unsigned_jwt(fake.audience or resource),
                                   "expires_on": str(int(time.time()) + 3600),
                                   "resource": resource, "token_type": "Bearer",
                                   "client_id": query.get("client_id", "system-assigned")})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/msi/token"

    def env(self) -> dict[str, str]:
        """The settings App Service gives an app with a managed identity."""
        return {"IDENTITY_ENDPOINT": self.endpoint, "IDENTITY_HEADER": IDENTITY_HEADER}

    def __enter__(self) -> FakeManagedIdentityEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
