"""Local stand-ins for the alarm channels: an HTTP server (Telegram, LINE, webhook) that records every
request and can be switched down, and a real aiosmtpd SMTP server with STARTTLS."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


class Recorder:
    """An HTTP server on 127.0.0.1: .requests holds (method, path, headers, json body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], dict]] = []
        self.status = 200
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if rec.status == 200:
                    rec.requests.append(("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                         json.loads(body)))
                self.send_response(rec.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if rec.status == 200 else b'{"ok": false}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_recorder():
    r = Recorder()
    yield r
    r.close()


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made with the openssl command (the client trusts it by ca_file)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl command not installed")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Mailbox:
    """aiosmtpd handler keeping every message; requires STARTTLS and a login."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str, bool]] = []  # from, to, text, was TLS

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace"),
                              session.ssl is not None))
        return "250 OK"


@pytest.fixture
def smtp_server(tmp_path):
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = self_signed(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    box = Mailbox()

    def auth(server, session, envelope, mechanism, data):
        return AuthResult(success=data.login == b"alarms" and data.password == b"s3cret")

    with socket.socket() as probe:  # a free port (aiosmtpd's controller cannot start on port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctl = Controller(box, hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                     authenticator=auth, auth_required=True)
    ctl.start()
    box.port = port
    box.cert = cert
    yield box
    ctl.stop()
