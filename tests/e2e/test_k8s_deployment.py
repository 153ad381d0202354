"""The dev overlay's Deployment, run as Kubernetes would run it, without a cluster.

Renders k8s/overlays/dev with `kubectl kustomize` (from a temporary copy of k8s/ with the secret
*.example files in place), or, when kubectl is absent, reads the base manifests and the dev
overlay's postern.yaml directly. Then:
  - runs the migration Job's command (DATABASE_URL from its Secret -> a fresh test database),
  - starts postern with the relay container's command, args and env, and the ConfigMap's
    postern.yaml; every mounted volume becomes a temporary folder (the TLS Secret gets a
    self-signed certificate, the upstream Secret a password file), container ports become free
    loopback ports,
  - probes the readiness and liveness endpoints the manifest's probes name (path and port),
  - sends one message with smtplib over plaintext AUTH from loopback (what `kubectl port-forward`
    gives in the dev overlay) and finds it in the queue,
  - stops it with SIGTERM within terminationGracePeriodSeconds.
"""
import os
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
from relay import MAILADMIN, POSTERN, Mailadmin, _clean_env, free_port, make_certificate, queued, wait_until

K8S = os.path.join(pgcluster.SOURCE_DIR, "k8s")
IMAGE_BINARIES = {"/usr/local/bin/postern": POSTERN, "/usr/local/bin/mailadmin": MAILADMIN}
IMAGE_ENTRYPOINT = ["/usr/local/bin/postern"]  # the Dockerfile's ENTRYPOINT


def render_dev():
    """The dev overlay's objects, and how they were obtained."""
    if shutil.which("kubectl"):
        work = tempfile.mkdtemp(prefix="postern-k8s-")
        try:
            shutil.copytree(K8S, os.path.join(work, "k8s"))
            secrets = os.path.join(work, "k8s", "base", "secrets")
            for name in os.listdir(secrets):
                if name.endswith(".example"):
                    shutil.copy(os.path.join(secrets, name), os.path.join(secrets, name[:-len(".example")]))
            out = subprocess.run(["kubectl", "kustomize", os.path.join(work, "k8s", "overlays", "dev")],
                                 check=True, capture_output=True, text=True)
            return [o for o in yaml.safe_load_all(out.stdout) if o], "kubectl kustomize"
        finally:
            shutil.rmtree(work, ignore_errors=True)
    objects = []
    for name in ("deployment.yaml", "migrate-job.yaml"):
        with open(os.path.join(K8S, "base", name)) as f:
            objects += [o for o in yaml.safe_load_all(f) if o]
    with open(os.path.join(K8S, "overlays", "dev", "postern.yaml")) as f:
        objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "postern-config"},
                        "data": {"postern.yaml": f.read()}})
    for o in objects:
        if o["kind"] == "Deployment":
            o["spec"]["replicas"] = 1  # the overlay's patch
    return objects, "base files (kubectl not installed)"


def find(objects, kind, name):
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    if not matches:
        raise AssertionError(f"{kind}/{name} not in the rendered dev overlay")
    return matches[0]


def resolve_env(container, db_url):
    """The container's env with the database Secret resolved to db_url."""
    env = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
            continue
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        field = e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        if ref and ref["name"].startswith("postern-database") and ref["key"] == "url":
            env[e["name"]] = db_url
        elif field == "metadata.name":  # the downward API: the pod's name
            env[e["name"]] = "postern-7d9f8b6c5-x2k4q"
        else:
            raise AssertionError(f"env {e['name']}: unexpected source {e.get('valueFrom')}")
    return env


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

    def run_migration_job(self):
        c = self.job["spec"]["template"]["spec"]["containers"][0]
        argv = (c.get("command") or IMAGE_ENTRYPOINT) + c.get("args", [])
        argv[0] = IMAGE_BINARIES[argv[0]]
        env = _clean_env(**resolve_env(c, self.db))
        out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                             stdin=subprocess.DEVNULL)
        self.assertEqual(out.returncode, 0, f"migration Job command {argv} failed: {out.stderr}")

    def volume_folders(self):
        """mountPath -> a temporary folder holding what the volume would."""
        volumes = {v["name"]: v for v in self.pod["volumes"]}
        folders = {}
        for m in self.container["volumeMounts"]:
            v = volumes[m["name"]]
            folder = os.path.join(self.dir, m["name"])
            os.makedirs(folder, exist_ok=True)
            if "configMap" in v:
                cm = find(self.objects, "ConfigMap", v["configMap"]["name"])
                self.config_text = cm["data"]["postern.yaml"]
            elif "secret" in v and v["secret"]["secretName"].startswith("postern-tls"):
                make_certificate(folder, "tls")  # tls.crt, tls.key: the kubernetes.io/tls keys
            elif "secret" in v and v["secret"]["secretName"].startswith("postern-upstream"):
                with open(os.path.join(folder, "password"), "w") as f:
                    f.write("upstream-test-password\n")
            elif "emptyDir" not in v:
                raise AssertionError(f"volume {m['name']}: unexpected kind {v}")
            folders[m["mountPath"]] = folder
        return folders

    def test_dev_deployment_runs_probes_pass_and_mail_is_queued(self):
        print(f"\n  manifests from {self.source}")
        self.run_migration_job()
        admin = Mailadmin(self.db)
        admin.add_user("kube", "Kube-pw-4c1d")
        admin.grant_address("kube@k8s.example", "kube")

        folders = self.volume_folders()

        def host_path(path):
            for mount, folder in sorted(folders.items(), key=lambda kv: -len(kv[0])):
                if path == mount or path.startswith(mount + "/"):
                    return folder + path[len(mount):]
            raise AssertionError(f"{path} is on no mounted volume: the read-only image has no such file")

        config = yaml.safe_load(self.config_text)
        self.assertNotIn("url", config.get("database", {}), "the database URL must come from the Secret")
        # Container ports -> free loopback ports.
        ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        local = {number: free_port() for number in ports.values()}
        for listener in config["listeners"]:
            self.assertIn(listener["port"], local, f"listener port {listener['port']} is not a container port")
            listener["address"], listener["port"] = "127.0.0.1", local[listener["port"]]
        self.assertIn(config["http"]["port"], local, "http.port is not a container port")
        config["http"]["address"], config["http"]["port"] = "127.0.0.1", local[config["http"]["port"]]
        config["tls"] = {k: host_path(v) for k, v in config["tls"].items()}
        if "spool_directory" in config.get("queue", {}):
            config["queue"]["spool_directory"] = host_path(config["queue"]["spool_directory"])
        for upstream in config.get("upstreams", []):
            if "password_file" in upstream:
                upstream["password_file"] = host_path(upstream["password_file"])
                with open(upstream["password_file"]) as f:
                    self.assertEqual(f.read().strip(), "upstream-test-password")
            if upstream.get("kind") == "smtp":
                # Hermetic: nothing listens there, so delivery defers and the message stays queued.
                upstream["host"], upstream["port"] = "127.0.0.1", free_port()
        config.setdefault("auth", {}).update(argon2_memory_kib=1024, argon2_iterations=1)

        args = list(self.container.get("args", []))
        config_path = host_path(args[args.index("--config") + 1])
        with open(config_path, "w") as f:
            yaml.safe_dump(config, f)
        args[args.index("--config") + 1] = config_path
        argv = (self.container.get("command") or IMAGE_ENTRYPOINT) + args
        argv[0] = IMAGE_BINARIES[argv[0]]
        env = _clean_env(**resolve_env(self.container, self.db), TMPDIR=folders.get("/tmp", self.dir))
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
        self.assertIn(b"Hello from k8s.", messages[0]["message"])

        # Pod termination: SIGTERM, and postern must be gone within the grace period.
        grace = self.pod["terminationGracePeriodSeconds"]
        self.process.send_signal(signal.SIGTERM)
        self.assertEqual(self.process.wait(timeout=grace), 0, log_text())


if __name__ == "__main__":
    unittest.main()
