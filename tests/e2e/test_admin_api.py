"""The admin HTTP API, driven with real curl against the real postern: every endpoint, the roles
(read cannot change anything, operate may change the queue only), 401/403, strict JSON (bad JSON,
unknown fields, a body over max_body_bytes), the rate limit, the OpenAPI document (checked with
the pinned @seriousme/openapi-schema-validator from tests/openapi), and that a change made through
the API is audited with the token's name as actor, as `mailadmin audit` shows."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

from e2e_base import ALICE, RelayTestCase, message, tool_env
from pgcluster import SOURCE_DIR, psql
from relay import BUILD_DIR, free_port, make_certificate

TOKENS = {"viewer": ("read", "viewer-token-4f1c9a"),
          "ops": ("operate", "ops-token-8b2d7e"),
          "root": ("admin", "root-token-c3a5f0")}
OPENAPI_DIR = os.path.join(SOURCE_DIR, "tests", "openapi")


def tokens_file_text(tokens):
    return "".join(f"{name}:{role}:sha256:{hashlib.sha256(token.encode()).hexdigest()}\n"
                   for name, (role, token) in tokens.items())


def q(text):
    """A path segment, percent-encoded."""
    return urllib.parse.quote(text, safe="")


def require(tool):
    path = shutil.which(tool)
    if path is None:
        raise AssertionError(f"{tool} is not installed (scripts/install-deps.sh installs it)")
    return path


class AdminApiCase(RelayTestCase):
    """A relay whose admin API listens on a free loopback port, with the three tokens above."""

    api_options = {}

    @classmethod
    def setUpClass(cls):
        cls.secrets = tempfile.mkdtemp(prefix="postern-admin-api-")
        cls.tokens_path = os.path.join(cls.secrets, "admin-tokens")
        with open(cls.tokens_path, "w") as f:
            f.write("# name:role:sha256:hex\n" + tokens_file_text(TOKENS))
        cls.url_path = os.path.join(cls.secrets, "admin-db-url")
        cls.api_port = free_port()
        listener = {"address": "127.0.0.1", "port": cls.api_port} if "path" not in cls.api_options else {}
        cls.relay_config = {"admin_api": {
            **listener, "tokens_file": cls.tokens_path, "database_url_file": cls.url_path,
            "max_body_bytes": 4096, "requests_per_second": 1000, "burst": 1000, **cls.api_options}}
        with open(cls.url_path, "w") as f:
            f.write(cls.admin_database_url() + "\n")
        super().setUpClass()

    @classmethod
    def admin_database_url(cls):
        """The owner's URL, as the API is deployed (never the relay's role)."""
        return cls.database_url()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.secrets, ignore_errors=True)

    def curl(self, method, path, token=None, body=None, raw=None, headers=()):
        """(status, JSON body or None, headers dict with lower-case names) of one request."""
        args = [require("curl"), "-sS", "-X", method, "-D", "-", "-o", "-", "--max-time", "20",
                f"http://127.0.0.1:{self.api_port}{path}"]
        if token is not None:
            args += ["-H", f"Authorization: Bearer {token}"]
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is not None:
            args += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
        for header in headers:
            args += ["-H", header]
        out = subprocess.run(args, input=data, capture_output=True, env=tool_env(), timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        head, _, text = out.stdout.decode().partition("\r\n\r\n")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        response_headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        return status, (json.loads(text) if text.strip() else None), response_headers

    def api(self, method, path, name="root", body=None, expect=200):
        """A request with the named token that must answer `expect`; returns its JSON."""
        status, document, _ = self.curl(method, path, TOKENS[name][1], body)
        self.assertEqual(status, expect, document)
        return document

    def assert_error(self, status, code, result):
        self.assertEqual((result[0], result[1]["error"]["code"]), (status, code), result[1])
        self.assertIsInstance(result[1]["error"]["message"], str)


class AdminApi(AdminApiCase):

    # ---- authentication, roles, bounds --------------------------------------------------------

    def test_missing_or_unknown_token_is_401_with_www_authenticate(self):
        for token in (None, "not-a-token", TOKENS["root"][1] + "x",
                      hashlib.sha256(TOKENS["root"][1].encode()).hexdigest()):
            status, document, headers = self.curl("GET", "/api/users", token)
            self.assert_error(401, "unauthorized", (status, document))
            self.assertTrue(headers["www-authenticate"].startswith("Bearer"), headers)
        status, document, _ = self.curl("GET", "/api/users", headers=[f"Authorization: Basic {TOKENS['root'][1]}"])
        self.assertEqual(status, 401)

    def test_read_token_reads_everything_and_changes_nothing(self):
        for path in ("/api/users", f"/api/users/{ALICE}", "/api/addresses", "/api/domains", "/api/queue",
                     "/api/audit", "/api/shares", f"/api/users/{ALICE}/limits"):
            self.api("GET", path, "viewer")
        refused = [("POST", "/api/users", {"name": "eve", "password": "pw-123456"}),
                   ("DELETE", f"/api/users/{ALICE}", None),
                   ("POST", f"/api/users/{ALICE}/disable", None),
                   ("PUT", f"/api/users/{ALICE}/grants/domains/example.org", None),
                   ("POST", "/api/addresses", {"address": "x@example.org"}),
                   ("POST", "/api/queue/some-id/hold", None),
                   ("POST", "/api/queue/retry", None),
                   ("DELETE", "/api/queue/some-id", None),
                   ("PATCH", f"/api/users/{ALICE}/limits", {"messages_per_hour": 5}),
                   ("POST", "/api/shares", {"recipient": "x@proxy.example"})]
        for method, path, body in refused:
            result = self.curl(method, path, TOKENS["viewer"][1], body)
            self.assert_error(403, "forbidden", result[:2])
        self.assertEqual(self.api("GET", "/api/users/eve", expect=404)["error"]["code"], "not_found")
        self.assertTrue(self.api("GET", f"/api/users/{ALICE}")["user"]["enabled"])

    def test_operate_token_changes_the_queue_but_not_users_grants_or_shares(self):
        for method, path, body in [("POST", "/api/users", {"name": "eve", "password": "pw-123456"}),
                                   ("PUT", f"/api/users/{ALICE}/password", {"password": "x-123456"}),
                                   ("PUT", f"/api/users/{ALICE}/grants/addresses/a%40example.org", None),
                                   ("DELETE", "/api/domains/corp.example", None),
                                   ("DELETE", f"/api/users/{ALICE}/limits", None),
                                   ("PUT", "/api/shares/x%40proxy.example/format", {"format": "privmail"})]:
            self.assert_error(403, "forbidden", self.curl(method, path, TOKENS["ops"][1], body)[:2])
        # Its queue rights: a message id it does not know is a 404, not a 403.
        self.assert_error(404, "not_found", self.curl("POST", "/api/queue/no-such-id/hold", TOKENS["ops"][1])[:2])
        self.api("POST", "/api/queue/retry", "ops")

    def test_bad_json_unknown_fields_and_wrong_types_are_refused(self):
        self.assert_error(400, "invalid_json", self.curl("POST", "/api/users", TOKENS["root"][1], raw=b'{"name": ')[:2])
        self.assert_error(400, "bad_request", self.curl("POST", "/api/users", TOKENS["root"][1], raw=b'["x"]')[:2])
        status, document, _ = self.curl("POST", "/api/users", TOKENS["root"][1],
                                        {"name": "mallory", "password": "pw-123456", "admin": True})
        self.assert_error(400, "unknown_field", (status, document))
        self.assertIn('"admin"', document["error"]["message"])
        self.assert_error(400, "bad_request",
                          self.curl("POST", "/api/users", TOKENS["root"][1], {"name": "mallory", "password": 7})[:2])
        self.assert_error(400, "bad_request",
                          self.curl("POST", "/api/users", TOKENS["root"][1], {"name": "Bad Name!", "password": "x"})[:2])
        self.api("GET", "/api/users/mallory", expect=404)
        status, document, _ = self.curl("DELETE", f"/api/users/{ALICE}", TOKENS["root"][1], {"force": True})
        self.assert_error(400, "unknown_field", (status, document))
        self.assertTrue(self.api("GET", f"/api/users/{ALICE}")["user"]["enabled"])

    def test_body_over_max_body_bytes_is_413(self):
        huge = json.dumps({"name": "huge", "password": "x" * 1_000_000}).encode()
        self.assert_error(413, "payload_too_large", self.curl("POST", "/api/users", TOKENS["root"][1], raw=huge)[:2])
        self.api("GET", "/api/users/huge", expect=404)
        self.api("GET", "/api/users")  # the server goes on

    def test_unknown_endpoint_is_404_and_wrong_method_405_with_allow(self):
        self.assert_error(404, "not_found", self.curl("GET", "/api/nothing", TOKENS["root"][1])[:2])
        status, document, headers = self.curl("POST", f"/api/users/{ALICE}", TOKENS["root"][1])
        self.assert_error(405, "method_not_allowed", (status, document))
        self.assertEqual(headers["allow"], "GET, DELETE")

    def test_openapi_document_is_served_without_a_token_and_passes_the_validator(self):
        status, document, headers = self.curl("GET", "/api/openapi.json")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.assertTrue(document["openapi"].startswith("3."))
        with open(os.path.join(SOURCE_DIR, "server", "admin", "openapi.json")) as f:
            self.assertEqual(document, json.load(f), "the served document is the one in the source tree")
        served = os.path.join(self.secrets, "openapi.json")
        with open(served, "w") as f:
            json.dump(document, f)
        node, npm = require("node"), require("npm")
        cache = os.path.join(BUILD_DIR, "npm-cache")
        # npm ci into tests/openapi/node_modules (git-ignored), only when the lockfile changed.
        marker = os.path.join(OPENAPI_DIR, "node_modules", ".postern-lock")
        with open(os.path.join(OPENAPI_DIR, "package-lock.json"), "rb") as f:
            lock = f.read()
        installed = b""
        if os.path.exists(marker):
            with open(marker, "rb") as f:
                installed = f.read()
        if installed != lock:
            out = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error", "--cache", cache],
                                 cwd=OPENAPI_DIR, capture_output=True, text=True, env=tool_env(), timeout=300)
            self.assertEqual(out.returncode, 0, f"npm ci in tests/openapi failed:\n{out.stdout}{out.stderr}")
            with open(marker, "wb") as f:
                f.write(lock)
        out = subprocess.run([node, "validate.mjs", served], cwd=OPENAPI_DIR, capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(out.returncode, 0, f"the OpenAPI validator refused the document:\n{out.stdout}{out.stderr}")
        # Every route the server answers is in the document.
        for path in ("/api/users/{name}/grants/addresses/{target}", "/api/queue/{id}/hold", "/api/audit",
                     "/api/shares/{recipient}/envelope-from/{upstream}"):
            self.assertIn(path, document["paths"])

    def test_secrets_never_reach_the_log(self):
        self.api("POST", "/api/users", body={"name": "logcheck", "password": "Pw-never-logged-91"}, expect=201)
        self.api("PUT", "/api/users/logcheck/password", body={"password": "Pw-never-logged-92"})
        self.assert_secret_not_logged(*(token for _, token in TOKENS.values()), "Pw-never-logged-91",
                                      "Pw-never-logged-92")
        self.assertIn("actor=api:root", self.relay.log_text())

    # ---- users, grants, limits, check -------------------------------------------------------

    def test_user_lifecycle_and_the_new_password_logs_in(self):
        created = self.api("POST", "/api/users", body={"name": "Dave", "password": "Dave-pw-1"}, expect=201)
        self.assertEqual(created["user"]["name"], "dave")
        self.assertEqual(created["user"]["password_scheme"], "argon2id")
        self.assert_error(409, "already_exists", self.curl("POST", "/api/users", TOKENS["root"][1],
                                                           {"name": "dave", "password": "x-1234567"})[:2])
        self.assertIn({"name": "dave", "enabled": True}, self.api("GET", "/api/users")["users"])
        self.api("PUT", "/api/users/dave/password", body={"password": "Dave-pw-2"})
        self.api("POST", "/api/addresses", body={"address": "dave@example.com"}, expect=201)
        self.api("PUT", "/api/users/dave/grants/addresses/dave%40example.com")
        self.smtp("dave", "Dave-pw-2").sendmail("dave@example.com", ["rcpt@example.net"], message("dave@example.com"))
        self.assertEqual(self.api("POST", "/api/users/dave/disable")["user"], {"name": "dave", "enabled": False})
        self.assertFalse(self.api("GET", "/api/users/dave")["user"]["enabled"])
        self.api("POST", "/api/users/dave/enable")
        self.assertEqual(self.api("DELETE", "/api/users/dave")["deleted"], {"user": "dave"})
        result = self.curl("GET", "/api/users/dave", TOKENS["root"][1])
        self.assert_error(404, "not_found", result[:2])
        self.assertEqual(result[1]["error"]["message"], "user dave does not exist")
        self.api("DELETE", "/api/users/dave", expect=404)

    def test_grants_and_the_sender_check(self):
        self.api("POST", "/api/users", body={"name": "gina", "password": "Gina-pw-1"}, expect=201)
        self.api("POST", "/api/domains", body={"domain": "Gina.Example"}, expect=201)
        self.api("PUT", "/api/users/gina/grants/domains/gina.example")
        granted = self.api("PUT", "/api/users/gina/grants/addresses/" + q("boss@other.example"), expect=404)
        self.assertEqual(granted["error"]["message"], "address boss@other.example does not exist")
        self.api("POST", "/api/addresses", body={"address": "boss@other.example"}, expect=201)
        self.api("PUT", "/api/users/gina/grants/addresses/" + q("boss@other.example"))
        check = self.api("GET", "/api/users/gina/check?address=" + q("anyone+tag@gina.example"), "viewer")["check"]
        self.assertEqual((check["allowed"], check["via"], check["grant"]), (True, "domain", "gina.example"))
        self.assertEqual(self.api("GET", "/api/addresses/" + q("boss@other.example"))["address"]["users"], ["gina"])
        self.assertEqual(self.api("GET", "/api/domains/gina.example")["domain"]["users"], ["gina"])
        user = self.api("GET", "/api/users/gina")["user"]
        self.assertEqual((user["addresses"], user["domains"]), (["boss@other.example"], ["gina.example"]))
        self.api("DELETE", "/api/users/gina/grants/domains/gina.example")
        check = self.api("GET", "/api/users/gina/check?address=" + q("x@gina.example"))["check"]
        self.assertFalse(check["allowed"])
        self.api("DELETE", "/api/users/gina/grants/addresses/" + q("boss@other.example"))
        self.assertIn("boss@other.example", self.api("GET", "/api/addresses")["addresses"])
        self.assertIn("gina.example", self.api("GET", "/api/domains")["domains"])
        self.assertEqual(self.api("DELETE", "/api/addresses/" + q("boss@other.example"))["deleted"],
                         {"address": "boss@other.example"})
        self.api("DELETE", "/api/domains/gina.example")
        self.api("GET", "/api/domains/gina.example", expect=404)
        self.api("GET", "/api/users/gina/check", expect=400)

    def test_sending_limits_change_only_what_is_named(self):
        self.api("POST", "/api/users", body={"name": "lena", "password": "Lena-pw-1"}, expect=201)
        limits = self.api("PATCH", "/api/users/lena/limits",
                          body={"messages_per_hour": 100, "recipients_per_day": "unlimited"})["user"]["limits"]
        self.assertEqual(limits, {"messages_per_hour": 100, "messages_per_day": "default",
                                  "recipients_per_hour": "default", "recipients_per_day": "unlimited"})
        limits = self.api("PATCH", "/api/users/lena/limits", body={"messages_per_day": 500})["user"]["limits"]
        self.assertEqual((limits["messages_per_hour"], limits["messages_per_day"]), (100, 500))
        self.assertEqual(self.api("GET", "/api/users/lena/limits", "viewer")["user"]["limits"], limits)
        self.assertEqual(self.api("GET", "/api/users/lena")["user"]["limits"], limits)
        self.api("PATCH", "/api/users/lena/limits", body={"messages_per_hour": 0}, expect=400)
        self.api("PATCH", "/api/users/lena/limits", body={}, expect=400)
        self.assert_error(400, "unknown_field", self.curl("PATCH", "/api/users/lena/limits", TOKENS["root"][1],
                                                          {"messages_per_week": 1})[:2])
        reset = self.api("DELETE", "/api/users/lena/limits")["user"]["limits"]
        self.assertEqual(set(reset.values()), {"default"})
        audit = json.loads(self.admin.ok("--json", "audit"))["audit"]
        self.assertEqual({e["actor"] for e in audit if e["subject"] == "lena"}, {"api:root"})

    # ---- the queue ----------------------------------------------------------------------------

    def queue_one(self, subject):
        """Queues a message from alice (this relay has no upstreams: it stays queued); its id."""
        before = self.queue_snapshot()
        self.smtp(ALICE).sendmail("alice@example.com", ["rcpt@example.net"], message(subject=subject))
        (queued,) = self.queued_since(before)
        return queued["id"]

    def test_queue_list_filters_show_hold_release_retry_delete(self):
        queue_id = self.queue_one("queue via api")
        listed = self.api("GET", "/api/queue?sender=" + q("Alice@Example.com"), "viewer")["queue"]
        self.assertIn(queue_id, [m["id"] for m in listed])
        self.assertIn(queue_id, [m["id"] for m in self.api("GET", "/api/queue?recipient=rcpt%40example.net")["queue"]])
        self.assertNotIn(queue_id, [m["id"] for m in self.api("GET", "/api/queue?sender=nobody%40x.org")["queue"]])
        self.assertIn(queue_id, [m["id"] for m in self.api("GET", "/api/queue?user=Alice")["queue"]])
        self.assertNotIn(queue_id, [m["id"] for m in self.api("GET", "/api/queue?user=bob")["queue"]])
        self.api("GET", "/api/queue?state=frozen", expect=400)
        self.api("GET", "/api/queue?colour=red", expect=400)
        shown = self.api("GET", f"/api/queue/{queue_id}", "viewer")["message"]
        self.assertEqual((shown["id"], shown["sender"], shown["auth_user"]), (queue_id, "alice@example.com", ALICE))
        self.assertIn("Subject: queue via api", shown["headers"])
        self.assertNotIn("body", shown)
        self.assertEqual(self.api("POST", f"/api/queue/{queue_id}/hold", "ops"), {"held": 1})
        self.assertEqual(self.api("POST", f"/api/queue/{queue_id}/hold", "ops"), {"held": 0})
        self.assertIn(queue_id, [m["id"] for m in self.api("GET", "/api/queue?state=held")["queue"]])
        self.assertEqual(self.api("POST", f"/api/queue/{queue_id}/release", "ops"), {"released": 1})
        self.assertNotIn(queue_id, [m["id"] for m in self.api("GET", "/api/queue?state=held")["queue"]])
        self.assertEqual(self.api("POST", f"/api/queue/{queue_id}/retry", "ops"), {"retried": 1})
        self.assertEqual(self.api("DELETE", f"/api/queue/{queue_id}", "ops"), {"deleted": 1})
        self.api("GET", f"/api/queue/{queue_id}", expect=404)
        audit = json.loads(self.admin.ok("--json", "audit"))["audit"]
        actions = [(e["actor"], e["action"]) for e in audit if e["subject"] == queue_id]
        self.assertTrue(actions and all(actor == "api:ops" for actor, _ in actions), actions)

    # ---- share maps -------------------------------------------------------------------------

    def test_share_map_endpoints(self):
        created = self.api("POST", "/api/shares", body={"recipient": "Sam@Proxy.Example"}, expect=201)["share"]
        self.assertEqual((created["recipient"], created["usable"]), ("Sam@proxy.example", False))
        recipient = q(created["recipient"])
        self.api("POST", "/api/shares", body={"recipient": "sam@proxy.example"}, expect=409)
        self.api("POST", f"/api/shares/{recipient}/destinations",
                 body={"mailbox": "sam@mail-a.example", "upstream": "provider-a"}, expect=201)
        share = self.api("POST", f"/api/shares/{recipient}/destinations",
                         body={"mailbox": "sam@mail-b.example", "upstream": "provider-b"}, expect=201)["share"]
        self.assertTrue(share["usable"], share)
        self.api("POST", f"/api/shares/{recipient}/destinations",
                 body={"mailbox": "sam@mail-c.example", "upstream": "provider-c"}, expect=201)
        self.assertEqual(self.api("PUT", f"/api/shares/{recipient}/threshold", body={"threshold": 2})["share"]["threshold"], 2)
        self.api("PUT", f"/api/shares/{recipient}/threshold", body={"threshold": 9}, expect=400)
        self.api("PUT", f"/api/shares/{recipient}/format", body={"format": "privmail"}, expect=400)
        self.api("PUT", f"/api/shares/{recipient}/threshold", body={"threshold": "all"})
        self.assertEqual(self.api("PUT", f"/api/shares/{recipient}/format", body={"format": "privmail"})["share"]["format"],
                         "privmail")
        envelope = self.api("PUT", f"/api/shares/{recipient}/envelope-from/provider-b",
                            body={"address": "sam.account@mail-b.example"})["share"]["envelope_from"]
        self.assertEqual(envelope, {"provider-b": "sam.account@mail-b.example"})
        self.api("DELETE", f"/api/shares/{recipient}/envelope-from/provider-b")
        share = self.api("DELETE", f"/api/shares/{recipient}/destinations/" + q("sam@mail-c.example"))["share"]
        self.assertEqual([d["mailbox"] for d in share["destinations"]], ["sam@mail-a.example", "sam@mail-b.example"])
        self.assertIn(created["recipient"], [s["recipient"] for s in self.api("GET", "/api/shares", "viewer")["shares"]])
        self.assertEqual(self.api("GET", f"/api/shares/{recipient}", "viewer")["share"]["format"], "privmail")
        self.api("DELETE", f"/api/shares/{recipient}")
        self.api("GET", f"/api/shares/{recipient}", expect=404)

    def test_dkim_key_endpoints(self):
        made = self.api("POST", "/api/dkim", body={"domain": "Signed.Example", "selector": "api1",
                                                   "algorithm": "ed25519"}, expect=201)["dkim_key"]
        self.assertEqual((made["domain"], made["selector"], made["algorithm"]), ("signed.example", "api1", "ed25519"))
        self.assertTrue(made["dns_record"].startswith('api1._domainkey.signed.example. IN TXT "v=DKIM1; k=ed25519; p='))
        self.assertNotIn("private_key", made)
        rsa = self.api("POST", "/api/dkim", body={"domain": "signed.example", "selector": "api2"}, expect=201)["dkim_key"]
        self.assertEqual(rsa["algorithm"], "rsa2048")
        self.api("POST", "/api/dkim", body={"domain": "signed.example", "selector": "api1"}, expect=409)
        self.api("POST", "/api/dkim", body={"domain": "signed.example", "selector": "x", "algorithm": "dsa"}, expect=400)
        self.api("POST", "/api/dkim", body={"domain": "signed.example", "selector": "x"}, name="viewer", expect=403)
        listed = self.api("GET", "/api/dkim", "viewer")["dkim_keys"]
        self.assertIn(("signed.example", "api1"), [(k["domain"], k["selector"]) for k in listed])
        shown = self.api("GET", "/api/dkim/signed.example", "viewer")["dkim_keys"]
        self.assertEqual([k["selector"] for k in shown], ["api1", "api2"])
        self.assertEqual(self.api("DELETE", "/api/dkim/signed.example/api2")["deleted"],
                         {"domain": "signed.example", "selector": "api2"})
        self.api("DELETE", "/api/dkim/signed.example/api2", expect=404)
        self.api("GET", "/api/dkim/nokeys.example", "viewer", expect=404)

    def test_webhook_outbox_endpoints(self):
        psql(self.database_url(),
             "INSERT INTO postern_webhook_outbox (endpoint, event, message_id, sender, intake, recipient, attempts, "
             "last_error, next_attempt_at) VALUES ('hooks', 'accepted', 'M1', 'a@example.com', 'submission', "
             "'b@example.org', 3, 'HTTP 502', now() + interval '1 hour')")
        try:
            backlog = self.api("GET", "/api/webhooks", "viewer")["webhooks"]
            self.assertEqual([(b["endpoint"], b["pending"], b["failing"], b["last_error"]) for b in backlog],
                             [("hooks", 1, 1, "HTTP 502")])
            self.assert_error(403, "forbidden", self.curl("POST", "/api/webhooks/retry", TOKENS["viewer"][1])[:2])
            self.api("POST", "/api/webhooks/retry", "ops", body={"endpoint": "Bad Name"}, expect=400)
            self.api("POST", "/api/webhooks/retry", "ops", body={"endpont": "hooks"}, expect=400)
            self.assertEqual(self.api("POST", "/api/webhooks/retry", "ops", body={"endpoint": "hooks"}), {"retried": 1})
            self.assertEqual(self.api("POST", "/api/webhooks/retry", "ops"), {"retried": 0})
        finally:
            psql(self.database_url(), "DELETE FROM postern_webhook_outbox")

    # ---- audit --------------------------------------------------------------------------------

    def test_changes_are_audited_with_the_token_name_as_actor(self):
        self.api("POST", "/api/domains", body={"domain": "audited.example"}, expect=201)
        audit = json.loads(self.admin.ok("--json", "audit"))["audit"]
        entry = [e for e in audit if e["subject"] == "audited.example"][-1]
        self.assertEqual(entry["actor"], "api:root")
        self.assertIn("api:root", self.admin.ok("audit"))
        since = entry["at"]
        listed = self.api("GET", "/api/audit?since=" + q(since), "viewer")["audit"]
        self.assertIn({"actor": "api:root", "subject": "audited.example"},
                      [{"actor": e["actor"], "subject": e["subject"]} for e in listed])
        self.assertTrue(all(e["at"] >= since for e in listed))
        result = self.curl("GET", "/api/audit?since=yesterday-ish", TOKENS["viewer"][1])
        self.assert_error(400, "bad_request", result[:2])


class AdminApiRateLimit(AdminApiCase):
    api_options = {"requests_per_second": 1, "burst": 3}

    def test_over_the_rate_is_429_with_retry_after(self):
        statuses = [self.curl("GET", "/api/domains", TOKENS["viewer"][1]) for _ in range(5)]
        self.assertEqual([s for s, _, _ in statuses][:3], [200, 200, 200])
        limited = [r for r in statuses if r[0] == 429]
        self.assertTrue(limited, [s for s, _, _ in statuses])
        status, document, headers = limited[0]
        self.assert_error(429, "rate_limited", (status, document))
        self.assertGreaterEqual(int(headers["retry-after"]), 1)
        # Another token has its own budget.
        self.assertEqual(self.curl("GET", "/api/domains", TOKENS["root"][1])[0], 200)


class AdminApiDatabaseDown(AdminApiCase):
    """The API's own database cannot be reached: 503 database_unavailable, and the relay goes on."""

    @classmethod
    def admin_database_url(cls):
        return f"postgresql://postern@127.0.0.1:{free_port()}/postern"

    def test_requests_get_503_database_unavailable(self):
        status, document, _ = self.curl("GET", "/api/users", TOKENS["viewer"][1])
        self.assert_error(503, "database_unavailable", (status, document))
        self.assertNotIn("postgresql://", document["error"]["message"])
        self.smtp(ALICE).noop()


class AdminApiTls(AdminApiCase):
    """admin_api.tls: HTTPS with the configured certificate, TLS 1.2 and later only."""

    @classmethod
    def setUpClass(cls):
        cls.tls_dir = tempfile.mkdtemp(prefix="postern-admin-tls-")
        cls.certificate, key = make_certificate(cls.tls_dir, "admin")
        cls.api_options = {"tls": {"certificate": cls.certificate, "key": key}}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tls_dir, ignore_errors=True)

    def https(self, *options):
        return subprocess.run([require("curl"), "-sS", "--max-time", "20", "--cacert", self.certificate, *options,
                               "-H", f"Authorization: Bearer {TOKENS['viewer'][1]}",
                               f"https://127.0.0.1:{self.api_port}/api/domains"],
                              capture_output=True, text=True, env=tool_env(), timeout=30)

    def test_answers_over_verified_tls(self):
        out = self.https()
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("corp.example", json.loads(out.stdout)["domains"])

    def test_refuses_tls_older_than_1_2_and_plain_http(self):
        out = self.https("--tls-max", "1.1")
        self.assertNotEqual(out.returncode, 0, out.stdout)
        plain = subprocess.run([require("curl"), "-sS", "--max-time", "10",
                                f"http://127.0.0.1:{self.api_port}/api/domains"],
                               capture_output=True, text=True, env=tool_env(), timeout=30)
        self.assertFalse(plain.stdout.startswith("{"), plain.stdout)


class AdminApiUnixSocket(AdminApiCase):
    """admin_api.path: the API on a unix socket instead of TCP."""

    @classmethod
    def setUpClass(cls):
        cls.socket_dir = tempfile.mkdtemp(prefix="postern-admin-sock-")
        cls.socket_path = os.path.join(cls.socket_dir, "admin.sock")
        cls.api_options = {"path": cls.socket_path}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.socket_dir, ignore_errors=True)

    def test_answers_on_the_unix_socket(self):
        out = subprocess.run([require("curl"), "-sS", "--unix-socket", self.socket_path, "--max-time", "20",
                              "-H", f"Authorization: Bearer {TOKENS['viewer'][1]}", "http://admin/api/users"],
                             capture_output=True, text=True, env=tool_env(), timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn({"name": ALICE, "enabled": True}, json.loads(out.stdout)["users"])


if __name__ == "__main__":
    unittest.main()
