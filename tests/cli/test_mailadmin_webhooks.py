"""mailadmin webhooks: status (text and --json) of the outbox rows the relay writes, retry of one
endpoint or all, the audit rows, and a malformed endpoint name."""
import json
import unittest

from mailadmin_support import MailadminTestCase

INVALID = 5


class WebhookOutbox(MailadminTestCase):
    def setUp(self):
        self.sql("DELETE FROM postern_webhook_outbox; DELETE FROM postern_audit;")

    def event(self, endpoint, message_id, event="accepted", attempts=0, error=None, due="now()"):
        self.sql("INSERT INTO postern_webhook_outbox (endpoint, event, message_id, sender, intake, recipient, "
                 "attempts, last_error, next_attempt_at, created_at) VALUES "
                 f"('{endpoint}', '{event}', '{message_id}', 'alice@example.com', 'submission', 'bob@example.org', "
                 f"{attempts}, {'NULL' if error is None else repr(error)}, {due}, now() - interval '90 seconds')")

    def test_status_retry_and_the_audit(self):
        self.assertIn("(none: every event was acknowledged)", self.ok("webhooks", "status"))
        self.assertEqual(json.loads(self.ok("--json", "webhooks", "status")), {"webhooks": []})
        self.event("ops", "M1", attempts=2, error="HTTP 503 from hooks.example", due="now() + interval '1 hour'")
        self.event("ops", "M1", event="delivered")
        self.event("crm", "M2", due="now() + interval '1 hour'", attempts=1, error="connect refused")
        text = self.ok("webhooks", "status")
        self.assertRegex(text, r"- crm  1 pending, 1 failed at least once, oldest (9\d|1\d\d) s\n"
                               r"      last error: connect refused\n")
        self.assertIn("- ops  2 pending, 1 failed at least once", text)
        status = json.loads(self.ok("--json", "webhooks", "status"))["webhooks"]
        self.assertEqual([(s["endpoint"], s["pending"], s["failing"], s["last_error"]) for s in status],
                         [("crm", 1, 1, "connect refused"), ("ops", 2, 1, "HTTP 503 from hooks.example")])
        self.assertEqual(json.loads(self.ok("--json", "webhooks", "retry", "ops")), {"retried": 1})
        self.assertEqual(self.ok("-v", "webhooks", "retry").strip(), "1 event due now")
        self.assertEqual(self.sql("SELECT count(*) FROM postern_webhook_outbox WHERE next_attempt_at > now()").strip(),
                         "0")
        audit = self.sql("SELECT action || '|' || subject || '|' || detail FROM postern_audit ORDER BY id").splitlines()
        self.assertEqual(audit, ["webhooks retry|ops|1 event", "webhooks retry|--all|1 event"])

    def test_a_malformed_endpoint_name(self):
        self.assertIn("not a webhook endpoint name", self.fails(INVALID, "webhooks", "retry", "Not Valid"))
        self.assertIn("usage: webhooks status | webhooks retry [ENDPOINT]", self.fails(2, "webhooks"))


if __name__ == "__main__":
    unittest.main()
