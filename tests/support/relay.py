"""End-to-end harness: the real `postern` daemon, the real `mailadmin`, and the queue.

    db = pgcluster.fresh_database("e2e")
    admin = Mailadmin(db)
    admin.migrate()
    admin.add_user("alice", "secret")
    admin.add_address("alice@example.com")
    admin.grant_address("alice@example.com", "alice")
    with RelayServer(db, limits={"max_recipients": 5}) as relay:
        smtp = smtplib.SMTP("127.0.0.1", relay.port)
        smtp.starttls(context=relay.client_context())
        ...
    queued(db)  # [{"id": ..., "sender": ..., "recipients": [...], "message": b"...", ...}]

`admin.migrate()` also creates the relay role, and RelayServer runs postern as that role (as the
Kubernetes manifests do), so every end-to-end test proves its grants are enough.

RelayServer writes a configuration and a self-signed certificate (CN=localhost, SAN
DNS:localhost, IP:127.0.0.1 and IP:::1) into a temporary folder, starts postern on two free
loopback ports (STARTTLS on .port, implicit TLS on .tls_port), and returns once both answer with
their 220 greeting. The HTTP operations endpoint listens on a third free port, .http_port. Its
stdout (the log) and stderr go to files in that folder; .log_text() reads them.

Every postern process it starts has its exit status checked at cleanup(): a non-zero exit that
the test did not cause with kill() (e.g. a sanitizer report at shutdown) fails the test. When the
test fails or a process exited badly, the folder is kept and the tails of the log and of stderr
(sanitizer output) are printed; test cases with the RelayLogsOnFailure mixin (e2e_base's
RelayTestCase) get that for every relay they used, not only those in a `with` block.

Keyword arguments override the configuration section by section (nested dicts merge, other
values replace), e.g. RelayServer(db, auth={"failures_per_network": 3}, shutdown_grace_seconds=1);
listener_options={...} changes the STARTTLS listener but keeps its port. POSTERN_KEEP_E2E_DIRS=1
keeps the folders for a post-mortem.

RawSmtp is a byte-level client for what smtplib cannot express (pipelining in one write,
bare LF, overlong lines, commands injected before the TLS handshake).

Binaries: $POSTERN_BUILD_DIR/server/postern and $POSTERN_BUILD_DIR/mailadmin/mailadmin.
"""
import atexit
import base64
import copy
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

import pgcluster

BUILD_DIR = os.environ.get("POSTERN_BUILD_DIR", os.path.join(pgcluster.SOURCE_DIR, "build"))
POSTERN = os.path.join(BUILD_DIR, "server", "postern")
MAILADMIN = os.path.join(BUILD_DIR, "mailadmin", "mailadmin")

# Cheap Argon2id, for mailadmin's hashes and postern's rehash: the suite is about the protocol.
FAST_ARGON2 = {"argon2_memory_kib": 1024, "argon2_iterations": 1}


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=10.0, interval=0.02, message="condition"):
    """Polls predicate() until it returns a true value, which it returns; fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def plain_auth(user, password, authzid=""):
    """The base64 AUTH PLAIN initial response (RFC 4616)."""
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()


# ---- configuration ------------------------------------------------------------------------------

def _scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a YAML double-quoted scalar


def to_yaml(value, indent=0):
    """Block-style YAML for dicts, lists and scalars (no PyYAML needed)."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(item, indent + 2))
            else:
                empty = "{}" if isinstance(item, dict) else "[]"
                lines.append(f"{pad}{key}: {empty if isinstance(item, (dict, list)) else _scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + 2).splitlines()
                lines.append(f"{pad}- {body[0].lstrip()}")
                lines.extend(body[1:])
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(pad + _scalar(value))
    return "\n".join(lines)


def _merge(base, overrides):
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def make_certificate(folder, name="tls"):
    """A self-signed certificate for localhost and 127.0.0.1; returns (certificate, key) paths."""
    cert = os.path.join(folder, f"{name}.crt")
    key = os.path.join(folder, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"],
                   check=True, capture_output=True)
    return cert, key


def _clean_env(**extra):
    """The caller's environment without anything that would redirect a database connection."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PG") and k not in ("DATABASE_URL", "POSTERN_DATABASE_URL")}
    env.update(extra)
    return env


# ---- the daemon ---------------------------------------------------------------------------------

# Relays cleaned up during the running test: their folders are removed once it passed (or at exit).
_cleaned_relays = []


def _tail(path, lines=40):
    if not os.path.exists(path):
        return "(none)"
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:]) or "(empty)"


@atexit.register
def _remove_cleaned_relays():
    while _cleaned_relays:
        shutil.rmtree(_cleaned_relays.pop().dir, ignore_errors=True)


class RelayLogsOnFailure:
    """unittest mixin: when a test fails, prints the log tail of every relay it used (the class's
    .relay and those it cleaned up) and keeps their folders."""

    def run(self, result=None):
        if result is None:
            return super().run(result)
        _remove_cleaned_relays()  # left by an earlier class's teardown, which passed its checks
        before = len(result.failures) + len(result.errors)
        outcome = super().run(result)
        failed = len(result.failures) + len(result.errors) > before
        relays = list(_cleaned_relays)
        del _cleaned_relays[:]
        shared = getattr(type(self), "relay", None)
        if failed and isinstance(shared, RelayServer):
            relays.append(shared)
        for relay in relays:
            if failed:
                relay.keep = True
                relay.print_tail(f"{self.id()} failed")
            elif not relay.keep:
                shutil.rmtree(relay.dir, ignore_errors=True)
        return outcome


class _PortTaken(RuntimeError):
    pass


class RelayServer:
    """One postern process with its own config, certificate and log, on two free ports."""

    def __init__(self, db_url, start=True, listener_options=None, as_owner=False, extra_listeners=(), **overrides):
        """db_url: the database as its owner (what mailadmin uses); postern connects to it as the
        relay role (pgcluster.relay_url), as deployed, unless as_owner (the database is not
        migrated, so the role may not exist yet). listener_options: keys merged into the STARTTLS
        listener (e.g. address "::1" or allow_plaintext_auth_on_loopback), keeping its free port;
        extra_listeners: more listeners after the two of every relay (inbound, LMTP), with their
        own ports; overrides: config sections."""
        self.dir = tempfile.mkdtemp(prefix="postern-e2e-")
        self.certificate, self.key = make_certificate(self.dir)
        self.cafile = self.certificate  # self-signed: the certificate is its own CA
        self.port = free_port()
        self.tls_port = free_port()
        self.http_port = free_port()  # the operations endpoint (GET /healthz, /readyz, /metrics)
        self.hostname = "relay.test"
        self.spool_dir = os.path.join(self.dir, "spool")  # queue.spool_directory: large messages
        os.mkdir(self.spool_dir)
        config = {
            "hostname": self.hostname,
            "database": {"url": db_url if as_owner else pgcluster.relay_url(db_url), "timeout_seconds": 3},
            "listeners": [
                {"address": "127.0.0.1", "port": self.port, "tls": "starttls",
                 "allow_plaintext_auth_on_loopback": False},
                {"address": "127.0.0.1", "port": self.tls_port, "tls": "implicit"},
            ],
            "tls": {"certificate": self.certificate, "key": self.key},
            # PostgreSQL's state as /readyz and /metrics see it is refreshed every second.
            "http": {"address": "127.0.0.1", "port": self.http_port, "database_check_seconds": 1},
            "limits": {"max_message_size": 100000, "max_recipients": 5, "max_errors": 5,
                       "command_timeout_seconds": 30, "data_timeout_seconds": 30},
            # No throttle to speak of: tests that fail logins on purpose set their own.
            "auth": dict(FAST_ARGON2, failure_delay_ms=10, failures_per_network=1000,
                         failures_per_user_network=1000, user_delay_ms=0),
            "logging": {"level": "debug"},
            "shutdown_grace_seconds": 10,
            "threads": {"io": 2},
            "queue": {"spool_directory": self.spool_dir},
        }
        config["listeners"][0].update(listener_options or {})
        config["listeners"].extend(copy.deepcopy(list(extra_listeners)))
        self.host = config["listeners"][0]["address"]
        self._own_ports = "listeners" not in overrides
        self.config = _merge(config, copy.deepcopy(overrides))
        self._own_http_port = self.config["http"].get("port") == self.http_port
        self.http_port = self.config["http"].get("port", 9100)
        self.config_path = os.path.join(self.dir, "postern.yaml")
        self._write_config()
        self.log_path = os.path.join(self.dir, "postern.log")
        self.stderr_path = os.path.join(self.dir, "postern.stderr")
        self.process = None
        self.returncode = None
        self.processes = []    # every postern started, to check each exit status at cleanup()
        self._expected = set()  # pids whose non-zero exit is expected: kill(), a port taken at start
        self.keep = False      # keep the folder (a failure was seen)
        self._tail_printed = False
        self._cleaned = False
        if start:
            self.start()

    def _write_config(self):
        with open(self.config_path, "w") as f:
            f.write(to_yaml(self.config) + "\n")

    def start(self, timeout=60.0):
        """Starts postern and waits for both greetings. If another process took one of the free
        ports in the meantime (tests run in parallel), picks new ports and tries again."""
        for attempt in range(3):
            with open(self.log_path, "ab") as out, open(self.stderr_path, "ab") as err:
                self.process = subprocess.Popen([POSTERN, "--config", self.config_path], stdout=out,
                                                stderr=err, stdin=subprocess.DEVNULL, env=_clean_env())
            self.processes.append(self.process)
            try:
                wait_until(self._ready, timeout, interval=0.05, message="postern to greet on its ports")
                return self
            except _PortTaken:
                self._expected.add(self.process.pid)
                if attempt == 2 or not self._own_ports:
                    raise
                self.port, self.tls_port = free_port(), free_port()
                self.config["listeners"][0]["port"] = self.port
                self.config["listeners"][1]["port"] = self.tls_port
                if self._own_http_port:
                    self.http_port = self.config["http"]["port"] = free_port()
                self._write_config()
            except Exception:
                self.kill()
                raise
        return self

    def _ready(self):
        if self.process.poll() is not None:
            text = self.log_text()
            lines = text.strip().splitlines()
            if lines and "cannot listen on" in lines[-1]:
                raise _PortTaken(text)
            raise RuntimeError(f"postern exited with {self.process.returncode}:\n{text}")
        try:
            for tls in (False, True):
                port, host = (self.tls_port, "127.0.0.1") if tls else (self.port, self.host)
                with RawSmtp(port, host=host, tls=tls, cafile=self.cafile) as c:
                    if c.reply().code != 220:
                        return False
                    c.command("QUIT")
            return True
        except (OSError, ssl.SSLError, EOFError):
            return False

    def client_context(self, **versions):
        """An SSL context that verifies this server's certificate (pass minimum_version=... etc.)."""
        context = ssl.create_default_context(cafile=self.cafile)
        for name, value in versions.items():
            setattr(context, name, value)
        return context

    def log_text(self):
        """Everything postern wrote so far: the log (stdout), then stderr."""
        text = ""
        for path in (self.log_path, self.stderr_path):
            if os.path.exists(path):
                with open(path, "rb") as f:
                    text += f.read().decode("utf-8", "replace")
        return text

    def wait_for_log(self, pattern, timeout=10.0):
        """Waits until a log line matches the regular expression; returns the match."""
        return wait_until(lambda: re.search(pattern, self.log_text()), timeout,
                          message=f"log line matching {pattern!r}")

    def signal(self, signum):
        self.process.send_signal(signum)

    def wait(self, timeout=30.0):
        """Waits for the process to exit; returns its exit code."""
        self.returncode = self.process.wait(timeout)
        return self.returncode

    def stop(self, timeout=30.0):
        """SIGTERM, then waits; returns the exit code (the recorded one if it had already exited)."""
        if self.process is None:
            return self.returncode
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        """SIGKILL: its exit status is then not checked."""
        if self.process is not None and self.process.poll() is None:
            self._expected.add(self.process.pid)
            self.process.kill()
            self.process.wait()

    def bad_exits(self):
        """The non-zero exit statuses of processes that ended without kill()."""
        return [p.returncode for p in self.processes
                if p.poll() not in (0, None) and p.pid not in self._expected]

    def print_tail(self, why):
        self._tail_printed = True
        sys.stderr.write(f"\n---- postern ({why}); folder kept: {self.dir}\n"
                         f"---- log (tail):\n{_tail(self.log_path)}\n"
                         f"---- stderr, with any sanitizer report (tail):\n{_tail(self.stderr_path)}\n"
                         f"---- end of postern output\n")

    def cleanup(self):
        """Kills a process still running, then checks the exit status of every process started:
        a bad one keeps the folder, prints the output's tail and fails the test."""
        if self._cleaned:
            return
        self._cleaned = True
        self.kill()
        bad = self.bad_exits()
        if bad:
            self.keep = True
            self.print_tail(f"exited {bad}")
            raise AssertionError(f"postern exited with status {bad} (a sanitizer report at shutdown "
                                 f"exits non-zero); its log and stderr are in {self.dir}")
        if self.keep:
            if not self._tail_printed:
                self.print_tail("the test failed")
        elif not os.environ.get("POSTERN_KEEP_E2E_DIRS"):
            _cleaned_relays.append(self)  # removed by RelayLogsOnFailure once the test passed

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None:
            self.keep = True
        try:
            if self.process is not None and self.process.poll() is None:
                self.stop()
        finally:
            self.cleanup()


def run_postern(*args, timeout=30):
    """Runs the postern binary with arguments (e.g. --check-config); returns CompletedProcess."""
    return subprocess.run([POSTERN, *args], capture_output=True, text=True, timeout=timeout,
                          env=_clean_env(), stdin=subprocess.DEVNULL)


# ---- mailadmin ----------------------------------------------------------------------------------

class Mailadmin:
    """Runs the real mailadmin against one database, with cheap Argon2id costs."""

    def __init__(self, db_url):
        self.db_url = db_url

    def run(self, *args, input=None, timeout=60):
        """Returns (exit code, stdout, stderr)."""
        env = _clean_env(POSTERN_ARGON2_MEMORY_KIB=str(FAST_ARGON2["argon2_memory_kib"]),
                         POSTERN_ARGON2_ITERATIONS=str(FAST_ARGON2["argon2_iterations"]),
                         LC_ALL="C.UTF-8")
        out = subprocess.run([MAILADMIN, "--db", self.db_url, *args], input=input, text=True,
                             capture_output=True, env=env, timeout=timeout,
                             stdin=None if input is not None else subprocess.DEVNULL)
        return out.returncode, out.stdout, out.stderr

    def ok(self, *args, input=None):
        """Runs a command that must succeed; returns its stdout."""
        code, stdout, stderr = self.run(*args, input=input)
        if code != 0:
            raise AssertionError(f"mailadmin {' '.join(args)} exited {code}: {stderr}")
        return stdout

    def queued_message(self, queue_id):
        """`mailadmin queue show ID --body`: the message exactly as queued, as bytes."""
        out = subprocess.run([MAILADMIN, "--db", self.db_url, "queue", "show", queue_id, "--body"],
                             capture_output=True, env=_clean_env(), timeout=60, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise AssertionError(f"mailadmin queue show {queue_id} --body exited {out.returncode}: "
                                 f"{out.stderr.decode(errors='replace')}")
        return out.stdout

    def migrate(self):
        return self.ok("migrate")

    def add_user(self, name, password):
        return self.ok("add", "user", name, "--password-stdin", input=password + "\n")

    def add_address(self, address):
        return self.ok("add", "address", address)

    def add_domain(self, domain):
        return self.ok("add", "domain", domain)

    def grant_address(self, address, user, create=True):
        """Grants an address, creating it first unless told otherwise or it exists."""
        if create:
            code, _, stderr = self.run("add", "address", address)
            if code not in (0, 4):  # 4: already exists
                raise AssertionError(f"mailadmin add address {address}: {stderr}")
        return self.ok("grant", "address", address, "to", user)

    def grant_domain(self, domain, user, create=True):
        if create:
            code, _, stderr = self.run("add", "domain", domain)
            if code not in (0, 4):
                raise AssertionError(f"mailadmin add domain {domain}: {stderr}")
        return self.ok("grant", "domain", domain, "to", user)

    def disable(self, user):
        return self.ok("disable", user)


# ---- the queue ----------------------------------------------------------------------------------

def queued(db_url):
    """Every queued message, oldest first: dicts with id, sender, auth_user, client_address, helo,
    body_type, smtputf8, size, recipients (list, in order) and message (bytes, exactly as stored)."""
    rows = pgcluster.psql(db_url, """
        SELECT coalesce(json_agg(json_build_object(
                 'id', q.id, 'sender', q.sender, 'auth_user', q.auth_user,
                 'client_address', q.client_address, 'helo', q.helo, 'body_type', q.body_type,
                 'smtputf8', q.smtputf8, 'size', q.size,
                 'message', encode(coalesce(
                     (SELECT string_agg(c.data, ''::bytea ORDER BY c.seq)
                        FROM postern_message_chunks c WHERE c.message_id = q.id),
                     -- an older release's whole body; to_jsonb still works once the column is gone
                     decode(substring(to_jsonb(q) ->> 'message' FROM 3), 'hex'), ''::bytea), 'base64'),
                 'recipients', (SELECT coalesce(json_agg(r.recipient ORDER BY r.position), '[]')
                                  FROM postern_queue_recipients r WHERE r.message_id = q.id))
               ORDER BY q.created_at, q.id), '[]')
          FROM postern_queue q""")
    messages = json.loads(rows)
    for m in messages:
        m["message"] = base64.b64decode(m["message"])  # psql wraps base64 lines; b64decode skips \n
    return messages


def queued_ids(db_url):
    return {m["id"] for m in queued(db_url)}


# ---- an upstream SMTP server ------------------------------------------------------------------

SINK_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smtp_sink.py")
# Debian's python3 has python3-aiosmtpd, which the sink needs.
SINK_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"


class Sink:
    """tests/support/smtp_sink.py as a separate process: the upstream of delivery tests.

        sink = Sink()                                   # plain SMTP on a free port, started
        sink = Sink(tls=make_certificate(folder), auth=("user", "pw"))   # STARTTLS + AUTH
        relay = RelayServer(db, upstreams=[sink.upstream("sink")], default_upstream="sink")
        sink.wait_for_messages(1)   # [{"n": 1, "data": b"...", "mail_from": ..., "rcpt_tos": [...]}]
        sink.stop(); sink.start()   # down, and back on the same port

    rules (see smtp_sink.py) can be changed while it runs with set_rules(); the count of DATA
    replies already used is the process's, so it restarts with start().
    """

    def __init__(self, port=None, folder=None, tls=None, auth=None, implicit_tls=False, rules=None,
                 start=True):
        self.dir = tempfile.mkdtemp(prefix="postern-sink-")
        self.folder = folder or os.path.join(self.dir, "mail")
        self.port = port or free_port()
        self.tls = tls                  # (certificate, key) paths
        self.auth = auth                # (user, password)
        self.implicit_tls = implicit_tls
        self.rules_path = os.path.join(self.dir, "rules.json")
        self.log_path = os.path.join(self.dir, "sink.log")
        self.process = None
        self.set_rules(rules or {})
        if start:
            self.start()

    def set_rules(self, rules):
        """Replaces the rules; the sink reads them again for every transaction."""
        with open(self.rules_path + ".tmp", "w") as f:
            json.dump(rules, f)
        os.rename(self.rules_path + ".tmp", self.rules_path)

    def start(self, timeout=20.0):
        """Starts the sink on its port and waits for "ready"."""
        args = [SINK_PYTHON, SINK_SCRIPT, "--port", str(self.port), "--dir", self.folder,
                "--rules", self.rules_path]
        if self.tls:
            args += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        if self.implicit_tls:
            args.append("--implicit-tls")
        if self.auth:
            args += ["--require-auth", f"{self.auth[0]}:{self.auth[1]}"]
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "ab") as err:
                self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err,
                                                stdin=subprocess.DEVNULL, env=_clean_env())
            line = self.process.stdout.readline().decode()  # "ready <port>", or EOF if it failed
            if line.startswith("ready "):
                return self
            self.process.wait()
            # The port may still be held by the previous sink's last connections: try again.
            if time.monotonic() > deadline:
                raise RuntimeError(f"smtp_sink did not start: {line!r}\n{self.log_text()}")
            time.sleep(0.1)

    def stop(self):
        """Kills the sink (the upstream is down): connections are cut, nothing answers."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()

    def running(self):
        return self.process is not None and self.process.poll() is None

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def upstream(self, name, **extra):
        """The postern.yaml upstream entry for this sink (security none, or starttls/tls with TLS)."""
        security = "none" if not self.tls else ("tls" if self.implicit_tls else "starttls")
        entry = {"name": name, "kind": "smtp", "host": "127.0.0.1", "port": self.port,
                 "security": security}
        entry.update(extra)
        return entry

    def count(self):
        if not os.path.isdir(self.folder):
            return 0
        return sum(1 for f in os.listdir(self.folder) if f.endswith(".eml"))

    def messages(self):
        """Every message received so far, in order: dicts with n, data (the exact DATA bytes),
        mail_from, rcpt_tos, auth_user, tls."""
        out = []
        if not os.path.isdir(self.folder):
            return out
        for name in os.listdir(self.folder):
            if not name.endswith(".eml"):
                continue
            n = int(name[:-4])
            with open(os.path.join(self.folder, name), "rb") as f:
                data = f.read()
            with open(os.path.join(self.folder, f"{n}.json")) as f:
                meta = json.load(f)
            out.append(dict(meta, n=n, data=data))
        return sorted(out, key=lambda m: m["n"])

    def wait_for_messages(self, count, timeout=10.0, interval=0.01):
        """Waits until at least count messages arrived; returns all of them."""
        wait_until(lambda: self.count() >= count, timeout, interval,
                   message=f"{count} message(s) at the sink on port {self.port} (has {self.count()})")
        return self.messages()

    def cleanup(self):
        self.stop()
        if not os.environ.get("POSTERN_KEEP_E2E_DIRS"):
            shutil.rmtree(self.dir, ignore_errors=True)  # a folder given by the caller stays

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


# ---- a raw client -------------------------------------------------------------------------------

class Reply:
    """One SMTP reply: code, its text lines (without the code), and the raw bytes."""

    def __init__(self, code, lines, raw):
        self.code, self.lines, self.raw = code, lines, raw

    @property
    def text(self):
        """The last line's text, e.g. "5.7.1 Sender address rejected: not owned by user"."""
        return self.lines[-1] if self.lines else ""

    def __repr__(self):
        return f"Reply({self.raw!r})"


class RawSmtp:
    """A byte-level SMTP client: send exactly the bytes you mean, read one full reply at a time.

        with RawSmtp(relay.port) as c:
            assert c.reply().code == 220
            c.send(b"EHLO x\\r\\nNOOP\\r\\n")   # one write
            c.reply(); c.reply()
            c.starttls(relay.cafile)           # after its 220, wraps the socket
    """

    def __init__(self, port, host="127.0.0.1", tls=False, cafile=None, timeout=10.0, context=None,
                 source=None):
        """source: the local address to connect from (any 127.0.0.N is loopback on Linux)."""
        self.host, self.timeout = host, timeout
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        self.buffer = b""
        if tls:
            self.wrap_tls(cafile, context)

    def wrap_tls(self, cafile=None, context=None):
        """TLS handshake now: for a STARTTLS sent by hand with send(). Verifies against cafile,
        or with context; neither: no verification."""
        if context is None:
            context = ssl.create_default_context(cafile=cafile) if cafile else ssl._create_unverified_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def command(self, line):
        """Sends one command line with CRLF and returns the reply."""
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def _read_line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed; unparsed: {self.buffer!r}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def reply(self):
        """Reads one (possibly multi-line) reply."""
        lines, raw = [], b""
        while True:
            line = self._read_line()
            raw += line + b"\r\n"
            if len(line) < 3 or not line[:3].isdigit():
                raise ValueError(f"not an SMTP reply line: {line!r}")
            lines.append(line[4:].decode("utf-8", "replace"))
            if len(line) == 3 or line[3:4] == b" ":
                return Reply(int(line[:3]), lines, raw)

    def replies(self, count):
        return [self.reply() for _ in range(count)]

    def ehlo(self, name="client.test"):
        return self.command(f"EHLO {name}")

    def starttls(self, cafile=None, context=None):
        """STARTTLS, expects 220, then handshakes; returns the 220 reply."""
        r = self.command("STARTTLS")
        if r.code != 220:
            raise AssertionError(f"STARTTLS refused: {r!r}")
        if self.buffer:
            raise AssertionError(f"bytes after the STARTTLS reply: {self.buffer!r}")
        self.wrap_tls(cafile, context)
        return r

    def auth_plain(self, user, password):
        return self.command(f"AUTH PLAIN {plain_auth(user, password)}")

    def login(self, user, password, cafile=None, name="client.test"):
        """Greeting, EHLO, STARTTLS (unless already TLS), EHLO, AUTH PLAIN; asserts each step."""
        greeting = self.reply()
        assert greeting.code == 220, greeting
        if not isinstance(self.sock, ssl.SSLSocket):
            assert self.ehlo(name).code == 250
            self.starttls(cafile)
        assert self.ehlo(name).code == 250
        r = self.auth_plain(user, password)
        assert r.code == 235, r
        return r

    def is_closed(self, timeout=5.0):
        """True when the server closes the connection (EOF or reset) within timeout and sends
        nothing more; False if it sends bytes or keeps it open."""
        if self.buffer:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
        except socket.timeout:
            return False
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            return True
        finally:
            self.sock.settimeout(self.timeout)
        if data:
            self.buffer += data
            return False
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
