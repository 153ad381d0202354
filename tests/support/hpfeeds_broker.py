"""An hpfeeds broker and subscriber for tests (Python 3.11 standard library only: no hpfeeds
broker is packaged in Debian), written from the protocol (hpfeeds docs/protocol.rst) and the
behaviour of the Python reference broker (hpfeeds/broker/connection.py):

- on connect the broker sends OP_INFO with its name and a random 4-byte nonce;
- the first frame must be OP_AUTH, SHA-1(nonce + secret) checked against the auth file;
- OP_PUBLISH is forwarded to every subscriber of its channel, OP_SUBSCRIBE/OP_UNSUBSCRIBE
  change the subscriptions;
- each refusal is an OP_ERROR frame, then the broker hangs up: "First message was not AUTH",
  "Authentication failed for <ident>", "Invalid authkey in message, ident=<ident>" (a PUBLISH
  under another ident), "Authkey not allowed to pub here. ident=<ident>, chan=<chan>",
  "Authkey not allowed to sub here. ...", "Not respecting MAXBUF." (a frame over the limit);
- frame limits as the reference: 5 + 256 + 20 bytes for OP_AUTH (and here OP_SUBSCRIBE,
  OP_UNSUBSCRIBE), 5 + 1 MiB for OP_PUBLISH (max_publish_bytes).

The auth file is the reference broker's JSON store: {ident: {"owner": ..., "secret": ...,
"pubchans": [...], "subchans": [...]}}.

From a test:

    broker = HpfeedsBroker(auth={"collector": {"secret": "s3cret", "pubchans": ["spam"]},
                                 "reader": {"secret": "r", "subchans": ["spam"]}})
    broker.start()                 # in a background thread, on a free loopback port: broker.port
    subscriber = HpfeedsSubscriber(broker.port, "reader", "r", ["spam"])
    broker.wait_for_subscribers("spam")
    ...                            # publish to broker.port
    subscriber.wait_for(1)         # [(channel, ident, payload)]
    broker.stop(); broker.start()  # down, then back on the same port

From a shell:

    python3 tests/support/hpfeeds_broker.py --port N --auth FILE [--tls-cert C --tls-key K]
        [--max-publish-bytes N]
"""
import argparse
import asyncio
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time

OP_ERROR, OP_INFO, OP_AUTH, OP_PUBLISH, OP_SUBSCRIBE, OP_UNSUBSCRIBE = range(6)
HEADER = 5
MAX_SMALL_FRAME = HEADER + 256 + 20
MAX_PUBLISH_FRAME = HEADER + 1024 * 1024
SMALL_OPCODES = (OP_INFO, OP_AUTH, OP_SUBSCRIBE, OP_UNSUBSCRIBE)


# ---- frames ----

def _bytes(value):
    return value.encode() if isinstance(value, str) else bytes(value)


def _short(value):
    value = _bytes(value)
    if len(value) > 255:
        raise ValueError("an hpfeeds name is at most 255 bytes")
    return bytes([len(value)]) + value


def frame(opcode, body):
    return struct.pack("!IB", HEADER + len(body), opcode) + body


def msg_error(text):
    return frame(OP_ERROR, _bytes(text))


def msg_info(name, nonce):
    return frame(OP_INFO, _short(name) + nonce)


def auth_hash(nonce, secret):
    return hashlib.sha1(_bytes(nonce) + _bytes(secret)).digest()


def msg_auth(nonce, ident, secret):
    return frame(OP_AUTH, _short(ident) + auth_hash(nonce, secret))


def msg_publish(ident, channel, payload):
    return frame(OP_PUBLISH, _short(ident) + _short(channel) + _bytes(payload))


def msg_subscribe(ident, channel, opcode=OP_SUBSCRIBE):
    return frame(opcode, _short(ident) + _bytes(channel))


class Malformed(Exception):
    """A body whose length byte runs past its end."""


def read_short(body):
    """(the len8 string at the front of body, the rest)."""
    if not body or body[0] > len(body) - 1:
        raise Malformed("length runs past the end of the frame")
    return bytes(body[1:1 + body[0]]), bytes(body[1 + body[0]:])


def decode_publish(body):
    ident, rest = read_short(body)
    channel, payload = read_short(rest)
    return ident.decode(errors="replace"), channel.decode(errors="replace"), payload


def decode_subscribe(body):
    ident, channel = read_short(body)
    return ident.decode(errors="replace"), channel.decode(errors="replace")


def frame_limit(opcode, max_publish_bytes):
    return MAX_SMALL_FRAME if opcode in SMALL_OPCODES else max_publish_bytes


class Refused(Exception):
    """A client broke a rule: the broker sends the text as OP_ERROR and hangs up."""


def _quiet_about_clients(loop, context):
    """The event loop's exception handler: a client that fails its TLS handshake or vanishes is
    what some tests do on purpose, not worth a traceback."""
    if isinstance(context.get("exception"), (ssl.SSLError, ConnectionError)):
        return
    loop.default_exception_handler(context)


def wait_until(predicate, timeout=10.0, interval=0.02):
    """Polls predicate() until it is true (returns its value) or timeout seconds pass (returns
    the last, false, value)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# ---- broker ----

class HpfeedsBroker:
    """The broker, in its own thread and event loop. What it saw is recorded for tests:
    connections (how many were accepted), logins [the ident of each successful AUTH], published
    [(ident, channel, payload)], errors [texts sent as OP_ERROR].

    Behaviours for tests: close_after_publish=N hangs up (without OP_ERROR) on receiving the
    Nth PUBLISH of a connection, before recording or forwarding it (True: the first);
    send_info=False accepts connections and says nothing."""

    def __init__(self, auth=None, auth_file=None, host="127.0.0.1", port=0, name="hpfeeds",
                 tls_cert=None, tls_key=None, max_publish_bytes=MAX_PUBLISH_FRAME,
                 close_after_publish=0, send_info=True):
        self.auth = dict(auth or {})
        if auth_file:
            with open(auth_file, encoding="utf-8") as f:
                self.auth.update(json.load(f))
        self.host = host
        self.port = port
        self.name = name
        self.tls = None
        if tls_cert:
            self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls.load_cert_chain(tls_cert, tls_key)
        self.max_publish_bytes = max_publish_bytes
        self.close_after_publish = int(close_after_publish)
        self.send_info = send_info
        self.lock = threading.Lock()
        self.connections = 0
        self.logins = []
        self.published = []
        self.errors = []
        self._subscribers = {}  # channel -> set of StreamWriters
        self._writers = set()
        self._sessions = set()  # the tasks serving connections
        self._loop = None
        self._thread = None
        self._server = None

    # -- life cycle --

    def start(self):
        """Starts listening; on the same port as before after a stop(). Returns self."""
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(_quiet_about_clients)
        self._thread = threading.Thread(target=self._loop.run_forever, name="hpfeeds-broker", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    def stop(self):
        """Closes the listener and every connection, at once."""
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shut_down(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    async def _listen(self):
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.tls,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shut_down(self):
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        if self._sessions:
            await asyncio.wait(list(self._sessions), timeout=5)
        self._subscribers.clear()

    # -- what tests look at --

    def subscriber_count(self, channel):
        return len(self._subscribers.get(channel, ()))

    def wait_for_subscribers(self, channel, count=1, timeout=10.0):
        if not wait_until(lambda: self.subscriber_count(channel) >= count, timeout):
            raise AssertionError(f"no {count} subscriber(s) on {channel} within {timeout} s")

    def wait_for_published(self, count, timeout=10.0):
        wait_until(lambda: len(self.published) >= count, timeout)
        return list(self.published)

    # -- one connection --

    async def _serve(self, reader, writer):
        with self.lock:
            self.connections += 1
        self._writers.add(writer)
        self._sessions.add(asyncio.current_task())
        subscribed = set()
        try:
            if not self.send_info:
                await reader.read()  # until the client gives up
                return
            nonce = os.urandom(4)
            writer.write(msg_info(self.name, nonce))
            try:
                await self._session(reader, writer, nonce, subscribed)
            except Refused as refusal:
                with self.lock:
                    self.errors.append(str(refusal))
                writer.write(msg_error(str(refusal)))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass  # the client went away
        finally:
            for channel in subscribed:
                self._subscribers.get(channel, set()).discard(writer)
            self._writers.discard(writer)
            self._sessions.discard(asyncio.current_task())
            writer.close()

    async def _read_frame(self, reader):
        header = await reader.readexactly(HEADER)
        length, opcode = struct.unpack("!IB", header)
        if length < HEADER or length > frame_limit(opcode, self.max_publish_bytes):
            raise Refused("Not respecting MAXBUF.")
        return opcode, await reader.readexactly(length - HEADER)

    async def _session(self, reader, writer, nonce, subscribed):
        opcode, body = await self._read_frame(reader)
        if opcode != OP_AUTH:
            raise Refused("First message was not AUTH")
        try:
            ident_bytes, digest = read_short(body)
        except Malformed:
            raise Refused("First message was not AUTH") from None
        ident = ident_bytes.decode(errors="replace")
        account = self.auth.get(ident)
        if not account or auth_hash(nonce, account["secret"]) != digest:
            raise Refused(f"Authentication failed for {ident}")
        with self.lock:
            self.logins.append(ident)
        publishes = 0  # on this connection
        while True:
            opcode, body = await self._read_frame(reader)
            try:
                if opcode == OP_PUBLISH:
                    publishes += 1
                    await self._publish(writer, ident, account, publishes, *decode_publish(body))
                elif opcode in (OP_SUBSCRIBE, OP_UNSUBSCRIBE):
                    sub_ident, channel = decode_subscribe(body)
                    if opcode == OP_UNSUBSCRIBE:
                        self._subscribers.get(channel, set()).discard(writer)
                        subscribed.discard(channel)
                    elif channel not in account.get("subchans", []):
                        raise Refused(f"Authkey not allowed to sub here. ident={sub_ident}, chan={channel}")
                    else:
                        self._subscribers.setdefault(channel, set()).add(writer)
                        subscribed.add(channel)
                else:
                    raise Refused(f"Unknown opcode at unexpected moment (opcode={opcode}, len={len(body)})")
            except Malformed as e:
                raise Refused(f"Malformed message: {e}") from None

    async def _publish(self, writer, ident, account, number, claimed, channel, payload):
        if claimed != ident:
            raise Refused(f"Invalid authkey in message, ident={claimed}")
        if channel not in account.get("pubchans", []):
            raise Refused(f"Authkey not allowed to pub here. ident={claimed}, chan={channel}")
        if number == self.close_after_publish:
            writer.close()  # a plain close (FIN), no OP_ERROR
            raise ConnectionResetError("close_after_publish")
        with self.lock:
            self.published.append((ident, channel, bytes(payload)))
        forwarded = msg_publish(ident, channel, payload)
        for subscriber in list(self._subscribers.get(channel, ())):
            subscriber.write(forwarded)


# ---- subscriber ----

class HpfeedsSubscriber:
    """A client that logs in, subscribes to channels and records every PUBLISH it receives as
    (channel, ident, payload) in `received`, and every OP_ERROR text in `errors`, from a
    background thread. tls: an ssl.SSLContext for a broker with TLS (server_hostname: host)."""

    def __init__(self, port, ident, secret, channels, host="127.0.0.1", tls=None, timeout=10.0):
        self.received = []
        self.errors = []
        self.closed = threading.Event()
        self._lock = threading.Lock()
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=host)
        self._sock = sock
        self._buffer = b""
        opcode, body = self._read_frame()
        if opcode != OP_INFO:
            raise AssertionError(f"expected OP_INFO, got opcode {opcode}")
        _, nonce = read_short(body)
        sock.sendall(msg_auth(nonce, ident, secret) + b"".join(msg_subscribe(ident, c) for c in channels))
        sock.settimeout(None)
        self._thread = threading.Thread(target=self._receive, name="hpfeeds-subscriber", daemon=True)
        self._thread.start()

    def _read_frame(self):
        while True:
            if len(self._buffer) >= HEADER:
                length, opcode = struct.unpack("!IB", self._buffer[:HEADER])
                if length < HEADER or length > MAX_PUBLISH_FRAME:
                    raise AssertionError(f"bad frame length {length}")
                if len(self._buffer) >= length:
                    body, self._buffer = self._buffer[HEADER:length], self._buffer[length:]
                    return opcode, body
            data = self._sock.recv(65536)
            if not data:
                raise EOFError
            self._buffer += data

    def _receive(self):
        try:
            while True:
                opcode, body = self._read_frame()
                with self._lock:
                    if opcode == OP_PUBLISH:
                        ident, channel, payload = decode_publish(body)
                        self.received.append((channel, ident, payload))
                    elif opcode == OP_ERROR:
                        self.errors.append(body.decode(errors="replace"))
        except (EOFError, OSError):
            pass
        finally:
            self.closed.set()

    def messages(self):
        with self._lock:
            return list(self.received)

    def wait_for(self, count, timeout=10.0):
        """The messages received once there are at least count (or the timeout passed)."""
        wait_until(lambda: len(self.received) >= count, timeout)
        return self.messages()

    def close(self):
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(5)


# ---- command line ----

def main(argv=None):
    parser = argparse.ArgumentParser(description="A test hpfeeds broker.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--auth", required=True, help="JSON {ident: {secret, pubchans, subchans}}")
    parser.add_argument("--name", default="hpfeeds")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--max-publish-bytes", type=int, default=MAX_PUBLISH_FRAME,
                        help="the largest PUBLISH frame, header included (default 5 + 1 MiB)")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    broker = HpfeedsBroker(auth_file=args.auth, host=args.host, port=args.port, name=args.name,
                           tls_cert=args.tls_cert, tls_key=args.tls_key,
                           max_publish_bytes=args.max_publish_bytes)
    broker.start()
    print(f"hpfeeds broker listening on {args.host}:{broker.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
