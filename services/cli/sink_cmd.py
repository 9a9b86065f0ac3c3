"""`wg-webhooks sink`: a local receiver that prints every webhook it gets (for newcomers, `up`)."""

from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8889)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        try:
            envelope = json.loads(body)
            summary = (
                f"{envelope.get('event')} {envelope.get('entity')} {envelope.get('identifier')}"
            )
        except ValueError:
            summary = "(not JSON)"
        print(
            f"webhook received: {summary}  webhook-id={self.headers.get('webhook-id')}\n"
            f"  {body.decode('utf-8', errors='replace')}",
            flush=True,
        )
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        del format, args  # the line above says it all


def run(args: argparse.Namespace) -> int:
    server = ThreadingHTTPServer((args.host, args.port), _Handler)
    print(f"sink listening on http://{args.host}:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.stdout.flush()
    return 0
