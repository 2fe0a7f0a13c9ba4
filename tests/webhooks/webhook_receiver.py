"""A real HTTP endpoint for webhook tests: http.server in a thread that records what it was sent.

Each request is answered by the next scripted behaviour (then the last one again): a status code
to answer with, HANG (no answer until the test ends: the sender times out), or REDIRECT.
"""

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG = "hang"
REDIRECT = "redirect"


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: Message  # case-insensitive, as HTTP headers are
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)

    def signature_is_valid(self, secret: str) -> bool:
        """What the README tells a receiver to do: HMAC-SHA256 over "<t>." + the raw body, with the secret."""
        parts = dict(item.split("=", 1) for item in self.headers["X-ReplyDesk-Signature"].split(","))
        expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts["v1"])


class WebhookReceiver:
    def __init__(self):
        self.received: list[ReceivedRequest] = []
        self.script: list = [200]
        self.released = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(ReceivedRequest(self.path, self.headers, body))
                    behaviour = receiver.script.pop(0) if len(receiver.script) > 1 else receiver.script[0]
                if behaviour == HANG:
                    receiver.released.wait()
                    return
                if behaviour == REDIRECT:
                    self.send_response(307)
                    self.send_header("Location", "http://elsewhere.example.com/")
                    self.end_headers()
                    return
                answer = b'{"ok": true}' if behaviour < 400 else b"upstream exploded"
                self.send_response(behaviour)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a sender that timed out closed the socket of a hanging answer

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def answer_with(self, *behaviours) -> None:
        """Answer the next requests with these behaviours in order, then the last one for good."""
        with self._lock:
            self.script = list(behaviours)

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Whether `count` requests arrived within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.received) >= count

    def start(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def receiving(settings) -> Iterator[WebhookReceiver]:
    """For a test module's `receiver` fixture: a running receiver that the settings allow sending to."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the receiver is on loopback
    running = WebhookReceiver().start()
    yield running
    running.stop()
