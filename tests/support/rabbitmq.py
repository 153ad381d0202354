"""A RabbitMQ node of the test suite's own: Debian's rabbitmq-server started once per suite in a
temporary folder, on free loopback ports (AMQP, AMQPS when a certificate is given, the Erlang
distribution port and an epmd of its own), with its own node name, cookie, data, log and
configuration, so it never meets a system broker or another suite's. As root it runs as the
`rabbitmq` user (runuser), which owns the folder.

    broker = RabbitMQ()                            # or RabbitMQ(tls_cert=..., tls_key=...)
    broker.start()                                 # returns once it accepts the test user
    broker.declare_queue("q", "spam", "spam.mails")   # durable queue bound to the exchange
    ...                                            # publish to 127.0.0.1:broker.port as
    broker.messages("q")                           #   broker.user / broker.password
    broker.stop(); broker.start()                  # a restart: same ports, same data
    broker.close()                                 # stop, and remove the folder

`with RabbitMQ() as broker:` starts and closes it; close() also runs at exit, whatever happened.
The node loads its users and vhosts from a definitions file at boot (no rabbitmqctl round
trips): `user` may use the vhosts "/" and `vhost`. ctl() runs rabbitmqctl against the node.
Plugins are off and the configuration is small, so it starts in a few seconds. A missing
rabbitmq-server or python3-pika fails the test with what to install; it never skips.
"""
import atexit
import base64
import collections
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from relay import free_port

try:
    import pika
except ImportError:  # a pyenv or venv interpreter: use Debian's package
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import pika
    except ImportError:  # pragma: no cover
        pika = None

SCRIPTS = "/usr/lib/rabbitmq/bin"  # Debian's: /usr/sbin's wrappers insist on /var/lib/rabbitmq
START_TIMEOUT = 90
STOP_TIMEOUT = 30

# One message fetched from a queue, with the properties the tests check.
Message = collections.namedtuple("Message", "body routing_key exchange delivery_mode content_type")


def _require_broker():
    server = os.path.join(SCRIPTS, "rabbitmq-server")
    if not os.access(server, os.X_OK) or shutil.which("epmd") is None:
        raise AssertionError("RabbitMQ is not installed: these tests need Debian's rabbitmq-server "
                             "(scripts/install-deps.sh installs it)")
    if pika is None:
        raise AssertionError("python3-pika is not installed (scripts/install-deps.sh installs it)")


def _password_hash(password):
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + SHA-256(salt + password))."""
    salt = secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


class RabbitMQ:
    """One RabbitMQ node in its own folder; start() again after stop() keeps ports and data."""

    def __init__(self, tls_cert=None, tls_key=None, max_message_size=None):
        _require_broker()
        self.dir = tempfile.mkdtemp(prefix="postern-rabbitmq-")
        self.node = f"postern-test-{secrets.token_hex(4)}@localhost"
        self.port = free_port()
        self.tls_port = free_port() if tls_cert else None
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.user, self.password = "postern-test", "Rmq-" + secrets.token_hex(8)
        self.vhost = "postern-test"
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.max_message_size = max_message_size
        self.process = None
        self.epmd = None
        self.closed = False
        # As root the node runs as rabbitmq (its files too); otherwise as whoever runs the tests.
        self.as_user = ["runuser", "-u", "rabbitmq", "--"] if os.geteuid() == 0 else []
        self._write_files()
        atexit.register(self.close)

    # ---- files ----

    def _path(self, *parts):
        return os.path.join(self.dir, *parts)

    def _write_files(self):
        for sub in ("home", "mnesia", "log", "tls"):
            os.makedirs(self._path(sub), exist_ok=True)
        if self.tls_cert:
            # The broker's user must read them: copies in its own folder.
            shutil.copy(self.tls_cert, self._path("tls", "cert.pem"))
            shutil.copy(self.tls_key, self._path("tls", "key.pem"))
        cookie = self._path("home", ".erlang.cookie")
        with open(cookie, "w") as f:
            f.write(secrets.token_hex(16))
        os.chmod(cookie, 0o400)  # Erlang refuses a cookie others can read
        with open(self._path("definitions.json"), "w") as f:
            json.dump({
                "users": [{"name": self.user, "password_hash": _password_hash(self.password),
                           "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ""}],
                "vhosts": [{"name": "/"}, {"name": self.vhost}],
                "permissions": [{"user": self.user, "vhost": v, "configure": ".*", "write": ".*", "read": ".*"}
                                for v in ("/", self.vhost)],
            }, f)
        lines = [
            f"listeners.tcp.1 = 127.0.0.1:{self.port}",
            f"load_definitions = {self._path('definitions.json')}",
            "log.file.level = info",
            "log.console = false",
            # The temporary folder's file system may be small: no disk alarm (it would block publishers).
            "disk_free_limit.absolute = 1MB",
        ]
        if self.max_message_size:
            lines.append(f"max_message_size = {self.max_message_size}")
        if self.tls_cert:
            lines += [
                f"listeners.ssl.1 = 127.0.0.1:{self.tls_port}",
                f"ssl_options.certfile = {self._path('tls', 'cert.pem')}",
                f"ssl_options.keyfile = {self._path('tls', 'key.pem')}",
                "ssl_options.verify = verify_none",
                "ssl_options.fail_if_no_peer_cert = false",
            ]
        with open(self._path("rabbitmq.conf"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(self._path("enabled_plugins"), "w") as f:
            f.write("[].\n")
        open(self._path("rabbitmq-env.conf"), "w").close()  # not /etc/rabbitmq's
        if self.as_user:
            owner = pwd.getpwnam("rabbitmq")
            for root, dirs, files in os.walk(self.dir):
                os.chown(root, owner.pw_uid, owner.pw_gid)
                for name in files:
                    os.chown(os.path.join(root, name), owner.pw_uid, owner.pw_gid)

    def _environment(self):
        return {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": self._path("home"),  # where Erlang finds the cookie
            "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_CONF_ENV_FILE": self._path("rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": self._path("rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": self._path("advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": self._path("enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": self._path("mnesia"),
            "RABBITMQ_LOG_BASE": self._path("log"),
            "RABBITMQ_LOGS": self._path("log", "rabbit.log"),
            "RABBITMQ_PID_FILE": self._path("rabbit.pid"),
        }

    def _command(self, *argv):
        env = [f"{k}={v}" for k, v in self._environment().items()]
        return [*self.as_user, "env", "-i", *env, *argv]

    # ---- life cycle ----

    def start(self):
        if self.epmd is None or self.epmd.poll() is not None:
            # Our own epmd on our own port, so that stopping the suite stops it too.
            self.epmd = subprocess.Popen(self._command("epmd", "-port", str(self.epmd_port)),
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
        output = open(self._path("server.out"), "ab")
        self.process = subprocess.Popen(self._command(os.path.join(SCRIPTS, "rabbitmq-server")),
                                        stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        output.close()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"rabbitmq-server exited with status {self.process.returncode}:\n"
                                     f"{self.logs()}")
            try:
                self.connection().close()
                return
            except pika.exceptions.AMQPError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"RabbitMQ did not accept logins within {START_TIMEOUT} s:\n{self.logs()}")
                time.sleep(0.2)

    def stop(self):
        """Stops the node (SIGTERM: a clean shutdown, as on a pod's termination); epmd stays."""
        if self.process is None:
            return
        _end_group(self.process, STOP_TIMEOUT)
        self.process = None

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self.stop()
        finally:
            if self.epmd is not None:
                _end_group(self.epmd, 5)
                self.epmd = None
            if os.environ.get("POSTERN_KEEP_E2E_DIRS") != "1":
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def ctl(self, *args, timeout=60):
        """rabbitmqctl against this node; returns its standard output."""
        done = subprocess.run(self._command(os.path.join(SCRIPTS, "rabbitmqctl"), "-n", self.node, *args),
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"rabbitmqctl {' '.join(args)} failed ({done.returncode}):\n"
                                 f"{done.stdout}{done.stderr}")
        return done.stdout

    def logs(self):
        text = ""
        for name in ("server.out", os.path.join("log", "rabbit.log")):
            path = self._path(name)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f"---- {name}\n{f.read()[-20000:]}"
        return text

    # ---- clients (pika) ----

    def connection(self, vhost="/"):
        parameters = pika.ConnectionParameters(
            host="127.0.0.1", port=self.port, virtual_host=vhost,
            credentials=pika.PlainCredentials(self.user, self.password),
            connection_attempts=1, socket_timeout=5, blocked_connection_timeout=30)
        return pika.BlockingConnection(parameters)

    def declare_queue(self, queue, exchange, routing_key, exchange_type="topic", vhost="/"):
        """A durable queue bound to a durable exchange (declared here too, as the publisher would)."""
        with self.connection(vhost) as connection:
            channel = connection.channel()
            channel.exchange_declare(exchange, exchange_type=exchange_type, durable=True)
            channel.queue_declare(queue, durable=True)
            channel.queue_bind(queue, exchange, routing_key=routing_key)

    def delete_exchange(self, exchange, vhost="/"):
        with self.connection(vhost) as connection:
            connection.channel().exchange_delete(exchange)

    def messages(self, queue, vhost="/"):
        """Takes every message from the queue (acked), oldest first."""
        found = []
        with self.connection(vhost) as connection:
            channel = connection.channel()
            while True:
                method, properties, body = channel.basic_get(queue, auto_ack=True)
                if method is None:
                    return found
                found.append(Message(body, method.routing_key, method.exchange, properties.delivery_mode,
                                     properties.content_type))


def _end_group(process, timeout):
    """Ends a process we started in a session of its own, and whatever it started there."""
    if process.poll() is None:
        # To the leader only: runuser (or the server script) passes it on and reaps its child.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group (erl_child_setup, ...)
    except ProcessLookupError:
        pass
    process.wait()
