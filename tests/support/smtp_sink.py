#!/usr/bin/python3
"""A real SMTP server (aiosmtpd) that writes every message it accepts into a directory.

The upstream of the end-to-end delivery tests and the benchmarks. Each accepted message becomes
one file `<dir>/<n>.eml` holding the exact DATA bytes, with `<n>.json` beside it (envelope:
mail_from, rcpt_tos, the AUTH user, whether TLS was on). Behaviour is scriptable with --rules, a
JSON file re-read for every transaction, so a test can change it while the sink runs:

  {"rcpt": {"bad@example.org": "550 5.1.1 No such user"},   per-recipient replies at RCPT
   "data": ["451 4.3.0 Try later", "451 4.3.0 Try later"],   replies at end of DATA, used up in
                                                              order, then 250 for the rest
   "data_delay_seconds": 3,                                   a slow upstream: waits this long
                                                              before each reply to DATA
   "pop_before_smtp": {"log": "/tmp/dovecot/dovecot.log",     a provider that relays only after
                       "user": "bob", "seconds": 60}}         a POP3 login: every RCPT gets
                                                              450 4.7.1 unless that Dovecot log
                                                              (log_timestamp "%s ") has a login
                                                              of the user within the seconds

  smtp_sink.py --port 2525 --dir /tmp/sink [--tls-cert C --tls-key K] [--require-auth user:pass]
               [--implicit-tls] [--rules rules.json]

It prints "ready <port>" on stdout once it accepts connections.
"""
import argparse
import asyncio
import itertools
import json
import os
import re
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword, SMTP


# Dovecot writes its log asynchronously: a login may reach the file a moment after the client's +OK.
LOG_LATENCY_SECONDS = 2.0


def pop_login_times(log, user):
    if not os.path.exists(log):
        return []
    pattern = re.compile(r"^(\d+) pop3-login: Info: Login: user=<" + re.escape(user) + ">,", re.M)
    with open(log, errors="replace") as f:
        return [int(m.group(1)) for m in pattern.finditer(f.read())]


async def recent_pop_login(rule):
    deadline = time.monotonic() + LOG_LATENCY_SECONDS
    while True:
        # Dovecot's times are whole seconds: the current second counts as a whole.
        if any(t >= int(time.time()) - rule["seconds"] for t in pop_login_times(rule["log"], rule["user"])):
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)


class SinkHandler:
    def __init__(self, directory, rules_path):
        self.directory = directory
        self.rules_path = rules_path
        self.counter = itertools.count(len([f for f in os.listdir(directory) if f.endswith(".eml")]) + 1)
        self.data_replies_used = 0
        self.lock = threading.Lock()

    def rules(self):
        if not self.rules_path or not os.path.exists(self.rules_path):
            return {}
        with open(self.rules_path) as f:
            return json.load(f)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rules = self.rules()
        reply = rules.get("rcpt", {}).get(address)
        if reply:
            return reply
        pop = rules.get("pop_before_smtp")
        if pop and not await recent_pop_login(pop):
            return f"450 4.7.1 POP first: no POP3 login of {pop['user']} in the last {pop['seconds']} s"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        rules = self.rules()
        if rules.get("data_delay_seconds"):
            await asyncio.sleep(float(rules["data_delay_seconds"]))
        data_replies = rules.get("data", [])
        with self.lock:
            if self.data_replies_used < len(data_replies):
                reply = data_replies[self.data_replies_used]
                self.data_replies_used += 1
                return reply
            n = next(self.counter)
        path = os.path.join(self.directory, f"{n}.eml")
        with open(path + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_user": session.authenticated and getattr(session, "auth_data", None) and
            session.auth_data.login.decode(),
            "tls": session.ssl is not None,
        }
        with open(os.path.join(self.directory, f"{n}.json"), "w") as f:
            json.dump(meta, f)
        os.rename(path + ".tmp", path)
        return f"250 2.0.0 Ok: stored as {n}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--require-auth", help="user:password")
    parser.add_argument("--rules")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)

    credentials = None
    if args.require_auth:
        user, password = args.require_auth.split(":", 1)
        credentials = (user.encode(), password.encode())

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == credentials
        # aiosmtpd sets session.auth_data from the result: the login must travel in it.
        return AuthResult(success=ok, auth_data=auth_data if ok else None)

    handler = SinkHandler(args.dir, args.rules)
    # aiosmtpd refuses more than 32 MiB by default; a share mail of a 25 MiB message is about
    # 34 MiB (base64 and the 4 KiB padding): the sink stands for a provider that takes it.
    kwargs = {"data_size_limit": 64 * 1024 * 1024}
    if context and not args.implicit_tls:
        kwargs.update(tls_context=context, require_starttls=True)
    if credentials:
        kwargs.update(auth_required=True, auth_require_tls=context is not None, authenticator=authenticator)
    else:
        kwargs.update(auth_require_tls=False)
    controller = Controller(handler, hostname=args.host, port=args.port,
                            ssl_context=context if args.implicit_tls else None,
                            server_hostname="localhost", ready_timeout=10, **kwargs)
    controller.start()
    print(f"ready {args.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
