"""A webhook receiver for bench/webhooks.sh: answers every POST with 204 over keep-alive
HTTP/1.1 and counts the events (distinct Postern-Event-Id) by type; on SIGTERM it writes the
counts as JSON to the file named on its command line.

    python3 bench/webhook_receiver.py PORT COUNTS_FILE
"""
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, counts_file = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
seen = set()
by_type = {}


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        event_id, kind = self.headers.get("Postern-Event-Id", ""), self.headers.get("Postern-Event-Type", "")
        with lock:
            if event_id not in seen:
                seen.add(event_id)
                by_type[kind] = by_type.get(kind, 0) + 1
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def stop(*_):
    with lock:
        with open(counts_file, "w") as f:
            json.dump({"events": len(seen), "by_type": by_type}, f)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
