"""The test suite's PostgreSQL for Python tests (CLI and end-to-end).

Uses the cluster scripts/test.sh started (POSTERN_TEST_PG_URL), or starts a private one with
scripts/pg-cluster.sh. `fresh_database(prefix)` returns the URL of a new empty database, whose
user (postern, a superuser) owns the schema and runs mailadmin; `relay_url(url)` is the same
database as the relay role that `mailadmin migrate` creates and grants (the clusters trust
loopback connections, so no password is needed). `PrivateCluster` is a cluster of a test's own,
for tests that stop and restart PostgreSQL.
"""
import atexit
import itertools
import os
import re
import shutil
import signal
import subprocess
import tempfile

SOURCE_DIR = os.environ.get(
    "POSTERN_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
PG_CLUSTER = os.path.join(SOURCE_DIR, "scripts", "pg-cluster.sh")
_counter = itertools.count(1)
RELAY_ROLE = "postern_relay"  # mailadmin migrate's default --relay-role


def _with_database(url, name):
    return url.rsplit("/", 1)[0] + "/" + name


class PrivateCluster:
    """A cluster in a temporary folder; start() may be called again after stop()."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="postern-pg-")
        os.chmod(self.dir, 0o755)  # the postgres user must reach it
        self.url = None

    def start(self):
        out = subprocess.run([PG_CLUSTER, "start", os.path.join(self.dir, "pg"), "--fsync", "off"],
                             check=True, capture_output=True, text=True)
        self.url = out.stdout.strip()
        return self.url

    def stop(self):
        subprocess.run([PG_CLUSTER, "stop", os.path.join(self.dir, "pg")], check=False,
                       capture_output=True)

    def _processes(self):
        """The postmaster's pid first, then its children's (backends and background workers)."""
        with open(os.path.join(self.dir, "pg", "data", "postmaster.pid")) as f:
            postmaster = int(f.readline())
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:  # field 4: the parent's pid
                children.append(int(entry))
        return [postmaster] + children

    def freeze(self):
        """SIGSTOP to every process of the cluster: connections stay open and nothing answers,
        so no kernel timeout fires (what a hung server or a black-holed network looks like)."""
        for pid in self._processes():
            os.kill(pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        if getattr(self, "frozen", False):
            for pid in self._processes():
                os.kill(pid, signal.SIGCONT)
            self.frozen = False

    def destroy(self):
        self.thaw()
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


_shared = None


def admin_url():
    global _shared
    url = os.environ.get("POSTERN_TEST_PG_URL")
    if url:
        return _with_database(url, "postgres")
    if _shared is None:
        _shared = PrivateCluster()
        _shared.start()
        atexit.register(_shared.destroy)
    return _with_database(_shared.url, "postgres")


def psql(url, sql):
    """Runs SQL with psql and returns its unaligned output."""
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def fresh_database(prefix, cluster_url=None):
    """A new empty database in the suite's cluster, or in the one cluster_url (any of its
    databases) names."""
    admin = _with_database(cluster_url, "postgres") if cluster_url else admin_url()
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    psql(admin, f'CREATE DATABASE "{name}"')
    return _with_database(admin, name)


def relay_url(url, role=RELAY_ROLE):
    """url with its user replaced by role (a password in it is kept)."""
    changed, n = re.subn(r"^(postgres(?:ql)?://)[^:@/]+((?::[^@/]*)?@)", rf"\g<1>{role}\g<2>", url)
    if n != 1:
        raise ValueError(f"no user in the database URL {url}")
    return changed
