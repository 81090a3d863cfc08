"""The lab's stand-in for ``apis.mahkamahagung.go.id``: HTTPS, a JSON body, a true Date header.

Run by ``tepat lab up`` as ``python -m tepat.lab.api`` on the machine's bridge address. Source
addresses listed in the fail file (one per line; the ``api-5xx`` fault) get a 503, as when the
Supreme Court's side is in trouble.
"""
from __future__ import annotations

import argparse
import json
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FailList:
    """The fail file, re-read when it changes (faults are injected while the server runs)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: float | None = None
        self._addresses: frozenset[str] = frozenset()

    def __contains__(self, address: str) -> bool:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return False
        if mtime != self._mtime:
            self._addresses = frozenset(self.path.read_text().split())
            self._mtime = mtime
        return address in self._addresses


def make_handler(fail: FailList) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "tepat-lab-api/1"
        protocol_version = "HTTP/1.1"
        timeout = 15
        # Headers and body go out as two writes: with Nagle on, the body waits for the
        # client's delayed ACK (40 ms per request), which a real web server does not add.
        disable_nagle_algorithm = True

        def _answer(self, with_body: bool) -> None:
            client = self.client_address[0]
            if client in fail:
                status, body = 503, {"status": "error", "message": "service unavailable (lab fault api-5xx)"}
            else:
                status, body = 200, {
                    "status": "ok", "service": "SIPP sync (tepat lab stand-in)",
                    "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "client": client,
                }
            data = json.dumps(body).encode() + b"\n"
            self.send_response(status)  # also sends Date, from this machine's clock
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if with_body:
                self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer(True)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(min(length, 1 << 20))
            self._answer(True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(False)

        def log_message(self, fmt: str, *args) -> None:
            sys.stderr.write(f"{self.client_address[0]} {fmt % args}\n")

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--fail-file", required=True)
    args = parser.parse_args(argv)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 512
    server = ThreadingHTTPServer((args.bind, args.port), make_handler(FailList(Path(args.fail_file))))
    # The handshake runs in the handler's thread, not in accept(): a client that only opens
    # TCP 443 (a reachability check) must not stall the others.
    server.socket = context.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
