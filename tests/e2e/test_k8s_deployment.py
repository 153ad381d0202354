"""The dev overlay's Deployment, run as Kubernetes would run it, without a cluster.

Renders k8s/overlays/dev with `kubectl kustomize` straight from the source tree (it needs no
file a fresh clone lacks), or, when kubectl is absent, reads the base manifests, the dev
overlay's postern.yaml and its committed DEV-ONLY secret files directly. Then:
  - runs the migration Job's command as the owner (the Secret postern-database's URL -> a fresh
    test database), which creates the relay's role (the user of the Secret
    postern-relay-database's URL) and sets its password from the mounted Secret file,
  - adds a user with mailadmin as the postern-admin pod runs it (its env: the owner's URL),
  - starts postern with the relay container's command, args and env (the relay role's URL), and
    the ConfigMap's postern.yaml; every mounted volume becomes a temporary folder holding what
    the Secret holds (the dev certificate and key, the upstream password), container ports
    become free loopback ports,
  - probes the readiness and liveness endpoints the manifest's probes name (path and port),
  - sends one message with smtplib over plaintext AUTH from loopback (what `kubectl port-forward`
    gives in the dev overlay) and finds it in the queue, sealed with the Secret's key: PostgreSQL
    holds no text of it, and the admin pod's mailadmin opens it,
  - stops it with SIGTERM within terminationGracePeriodSeconds.
"""
import base64
import os
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

import yaml

import pgcluster
from relay import FAST_ARGON2, MAILADMIN, POSTERN, _clean_env, free_port, queued, wait_until

K8S = os.path.join(pgcluster.SOURCE_DIR, "k8s")
IMAGE_BINARIES = {"/usr/local/bin/postern": POSTERN, "/usr/local/bin/mailadmin": MAILADMIN}
IMAGE_ENTRYPOINT = ["/usr/local/bin/postern"]  # the Dockerfile's ENTRYPOINT


def render_dev():
    """The dev overlay's objects, and how they were obtained."""
    if shutil.which("kubectl"):
        out = subprocess.run(["kubectl", "kustomize", os.path.join(K8S, "overlays", "dev")],
                             check=True, capture_output=True, text=True)
        return [o for o in yaml.safe_load_all(out.stdout) if o], "kubectl kustomize"
    objects = []
    for name in ("deployment.yaml", "migrate-job.yaml", "admin.yaml"):
        with open(os.path.join(K8S, "base", name)) as f:
            objects += [o for o in yaml.safe_load_all(f) if o]
    dev = os.path.join(K8S, "overlays", "dev")
    with open(os.path.join(dev, "postern.yaml")) as f:
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "postern-config"},
                        "data": {"postern.yaml": f.read()}})
    with open(os.path.join(dev, "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    for generator in kustomization["secretGenerator"]:  # what kustomize would generate
        data = {}
        for source in generator["files"]:
            key, path = source.split("=", 1)
            with open(os.path.join(dev, path), "rb") as f:
                data[key] = base64.b64encode(f.read()).decode()
        objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": generator["name"]},
                        "data": data})
    for o in objects:
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "postern":
            o["spec"]["replicas"] = 1  # the overlay's patch
    return objects, "base files (kubectl not installed)"


def find(objects, kind, name):
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    if not matches:
        raise AssertionError(f"{kind}/{name} not in the rendered dev overlay")
    return matches[0]


def secret_value(objects, name, key):
    """A key of a Secret (by its name, generated or not), as bytes."""
    secrets = [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == name]
    if not secrets or key not in secrets[0].get("data", {}):
        raise AssertionError(f"Secret {name} has no key {key}")
    return base64.b64decode(secrets[0]["data"][key])


def url_user(url):
    return re.match(r"^postgres(?:ql)?://([^:@/]+)", url).group(1)


class Pod:
    """One container of a pod template, run here: its env with the database Secrets resolved to
    the test database (as the owner, or as the role the Secret's URL names) and every other
    Secret read, and each mounted volume a temporary folder holding what the volume would."""

    def __init__(self, objects, pod_spec, container, db_url, folder):
        self.objects, self.container, self.db_url = objects, container, db_url
        volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
        self.folders = {}  # mountPath -> folder
        for m in container.get("volumeMounts", []):
            v = volumes[m["name"]]
            path = os.path.join(folder, m["name"])
            os.makedirs(path, exist_ok=True)
            if "secret" in v:
                secret = [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == v["secret"]["secretName"]]
                self.assertion(secret, f"volume {m['name']}: Secret {v['secret']['secretName']} is not in the overlay")
                for key, value in secret[0]["data"].items():
                    with open(os.path.join(path, key), "wb") as f:
                        f.write(base64.b64decode(value))
            elif "configMap" in v:
                cm = find(objects, "ConfigMap", v["configMap"]["name"])
                for key, value in cm["data"].items():
                    with open(os.path.join(path, key), "w") as f:
                        f.write(value)
            else:
                self.assertion("emptyDir" in v, f"volume {m['name']}: unexpected kind {v}")
            self.folders[m["mountPath"]] = path
        self.env = {e["name"]: self.env_value(e) for e in container.get("env", [])}

    @staticmethod
    def assertion(ok, message):
        if not ok:
            raise AssertionError(message)

    def env_value(self, e):
        if "value" in e:  # a path on a mounted volume: this machine's
            return self.mounted(str(e["value"])) or str(e["value"])
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        field = e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        if field == "metadata.name":  # the downward API: the pod's name
            return "postern-7d9f8b6c5-x2k4q"
        self.assertion(ref, f"env {e['name']}: unexpected source {e.get('valueFrom')}")
        value = secret_value(self.objects, ref["name"], ref["key"]).decode().strip()
        if value.startswith("postgresql://"):  # the cluster's database -> the test database, same role
            owner = url_user(self.db_url)
            return self.db_url if url_user(value) == owner else pgcluster.relay_url(self.db_url, url_user(value))
        return value

    def mounted(self, path):
        """The folder a path of the container is on, or None."""
        for mount, folder in sorted(self.folders.items(), key=lambda kv: -len(kv[0])):
            if path == mount or path.startswith(mount + "/"):
                return folder + path[len(mount):]
        return None

    def host_path(self, path):
        self.assertion(self.mounted(path), f"{path} is on no mounted volume: the read-only image has no such file")
        return self.mounted(path)

    def argv(self, command=None):
        """The container's command and args (or `command` instead, as kubectl exec runs it), with
        the image's binaries and the paths on mounted volumes mapped to this machine's."""
        argv = list(command or (self.container.get("command") or IMAGE_ENTRYPOINT) + self.container.get("args", []))
        argv[0] = IMAGE_BINARIES.get(argv[0]) or IMAGE_BINARIES["/usr/local/bin/" + argv[0]]
        return [argv[0]] + [self.mounted(a) or a for a in argv[1:]]

    def process_env(self, **extra):
        return _clean_env(**self.env, TMPDIR=self.folders.get("/tmp", tempfile.gettempdir()), **extra)


def http_get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path; (None, error) when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except OSError as e:
        return None, str(e)


class DevOverlayDeploymentTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.objects, cls.source = render_dev()
        cls.deployment = find(cls.objects, "Deployment", "postern")
        cls.pod = cls.deployment["spec"]["template"]["spec"]
        cls.container = next(c for c in cls.pod["containers"] if c["name"] == "postern")
        cls.job = find(cls.objects, "Job", "postern-migrate")
        cls.admin = find(cls.objects, "Deployment", "postern-admin")
        cls.dir = tempfile.mkdtemp(prefix="postern-k8s-e2e-")
        cls.db = pgcluster.fresh_database("k8s")
        cls.process = None

    @classmethod
    def tearDownClass(cls):
        if cls.process is not None and cls.process.poll() is None:
            cls.process.kill()
            cls.process.wait()
        if not os.environ.get("POSTERN_KEEP_E2E_DIRS"):
            shutil.rmtree(cls.dir, ignore_errors=True)

    def pod_of(self, workload, name):
        spec = workload["spec"]["template"]["spec"]
        return Pod(self.objects, spec, spec["containers"][0], self.db, os.path.join(self.dir, name))

    def run_migration_job(self):
        job = self.pod_of(self.job, "job")
        self.assertNotIn(job.env["DATABASE_URL"], (None, ""))
        out = subprocess.run(job.argv(), env=job.process_env(), capture_output=True, text=True, timeout=120,
                             stdin=subprocess.DEVNULL)
        self.assertEqual(out.returncode, 0, f"migration Job command {job.argv()} failed: {out.stderr}")

    def exec_mailadmin(self, *args, input=None):
        """`kubectl exec deploy/postern-admin -- mailadmin ARGS...`; returns its output."""
        admin = self.pod_of(self.admin, "admin")
        argv = admin.argv(["mailadmin", *args])
        out = subprocess.run(argv, input=input, text=True, capture_output=True, timeout=60,
                             env=admin.process_env(POSTERN_ARGON2_MEMORY_KIB=str(FAST_ARGON2["argon2_memory_kib"]),
                                                   POSTERN_ARGON2_ITERATIONS=str(FAST_ARGON2["argon2_iterations"])),
                             stdin=None if input is not None else subprocess.DEVNULL)
        self.assertEqual(out.returncode, 0, f"mailadmin {' '.join(args)} in postern-admin: {out.stderr}")
        return out.stdout

    def test_dev_deployment_runs_probes_pass_and_mail_is_queued(self):
        print(f"\n  manifests from {self.source}")
        self.run_migration_job()
        self.exec_mailadmin("add", "user", "kube", "--password-stdin", input="Kube-pw-4c1d\n")
        self.exec_mailadmin("add", "address", "kube@k8s.example")
        self.exec_mailadmin("grant", "address", "kube@k8s.example", "to", "kube")

        relay = Pod(self.objects, self.pod, self.container, self.db, os.path.join(self.dir, "relay"))
        self.assertNotEqual(url_user(relay.env["POSTERN_DATABASE_URL"]), url_user(self.db),
                            "the relay must connect as its own role, not as the owner")
        self.assertNotIn("DATABASE_URL", relay.env, "the relay pod must not hold the owner's URL")
        config = yaml.safe_load(find(self.objects, "ConfigMap", next(
            v["configMap"]["name"] for v in self.pod["volumes"] if "configMap" in v))["data"]["postern.yaml"])
        self.assertNotIn("url", config.get("database", {}), "the database URL must come from the Secret")
        # Container ports -> free loopback ports.
        ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        local = {number: free_port() for number in ports.values()}
        for listener in config["listeners"]:
            self.assertIn(listener["port"], local, f"listener port {listener['port']} is not a container port")
            listener["address"], listener["port"] = "127.0.0.1", local[listener["port"]]
        self.assertIn(config["http"]["port"], local, "http.port is not a container port")
        config["http"]["address"], config["http"]["port"] = "127.0.0.1", local[config["http"]["port"]]
        config["tls"] = {k: relay.host_path(v) for k, v in config["tls"].items()}  # the DEV-ONLY certificate
        if "spool_directory" in config.get("queue", {}):
            config["queue"]["spool_directory"] = relay.host_path(config["queue"]["spool_directory"])
        self.assertTrue(config.get("queue", {}).get("seal_key_files"), "the queue is not sealed")
        config["queue"]["seal_key_files"] = [relay.host_path(p) for p in config["queue"]["seal_key_files"]]
        for upstream in config.get("upstreams", []):
            if "password_file" in upstream:
                upstream["password_file"] = relay.host_path(upstream["password_file"])
                with open(upstream["password_file"]) as f:
                    self.assertIn("DEV-ONLY", f.read())
            if upstream.get("kind") == "smtp":
                # Hermetic: nothing listens there, so delivery defers and the message stays queued.
                upstream["host"], upstream["port"] = "127.0.0.1", free_port()
        config.setdefault("auth", {}).update(argon2_memory_kib=1024, argon2_iterations=1)

        argv = relay.argv()  # --config FILE: on the ConfigMap's volume
        with open(argv[argv.index("--config") + 1], "w") as f:
            yaml.safe_dump(config, f)
        env = relay.process_env()
        log_path = os.path.join(self.dir, "postern.log")
        with open(log_path, "wb") as log:
            type(self).process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                  stdin=subprocess.DEVNULL)

        def log_text():
            with open(log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")

        def probe_port(probe):
            port = probe["httpGet"]["port"]
            return local[ports[port] if isinstance(port, str) else port]

        readiness, liveness = self.container["readinessProbe"], self.container["livenessProbe"]

        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"postern exited {self.process.returncode}:\n{log_text()}")
            return http_get(probe_port(readiness), readiness["httpGet"]["path"])[0] == 200

        wait_until(ready, timeout=60, interval=0.2, message=f"readiness probe GET {readiness['httpGet']['path']}")
        status, body = http_get(probe_port(liveness), liveness["httpGet"]["path"])
        self.assertEqual(status, 200, f"liveness probe GET {liveness['httpGet']['path']}: {body}")
        status, body = http_get(local[ports["http"]], "/metrics")
        self.assertEqual(status, 200, body)

        # What `kubectl port-forward svc/postern 9000:9000` + smtplib does: plaintext AUTH from
        # loopback, allowed by the dev overlay. STARTTLS is offered too (the TLS Secret).
        smtp_port = local[ports["smtp"]]
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
            smtp.ehlo("port-forward.test")
            self.assertTrue(smtp.has_extn("starttls"), "dev overlay: STARTTLS not offered")
            smtp.login("kube", "Kube-pw-4c1d")
            refused = smtp.sendmail("kube@k8s.example", ["someone@example.org"],
                                    b"From: kube@k8s.example\r\nTo: someone@example.org\r\n"
                                    b"Subject: from the dev overlay\r\n\r\nHello from k8s.\r\n")
            self.assertEqual(refused, {})
        messages = [m for m in queued(self.db) if m["sender"] == "kube@k8s.example"]
        self.assertEqual(len(messages), 1, log_text())
        self.assertEqual(messages[0]["recipients"], ["someone@example.org"])
        self.assertNotIn(b"Hello from k8s.", messages[0]["message"])  # sealed
        self.assertEqual(pgcluster.psql(self.db, "SELECT seal_key FROM postern_queue"), "DEV-ONLY-1")
        body = self.exec_mailadmin("queue", "show", messages[0]["id"], "--body")
        self.assertIn("Hello from k8s.", body)

        # Pod termination: SIGTERM, and postern must be gone within the grace period.
        grace = self.pod["terminationGracePeriodSeconds"]
        self.process.send_signal(signal.SIGTERM)
        self.assertEqual(self.process.wait(timeout=grace), 0, log_text())


if __name__ == "__main__":
    unittest.main()
