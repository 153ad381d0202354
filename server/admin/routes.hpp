// Every route of the admin API, by resource. Each add_*_routes() registers the routes of one
// resource with the role they need: GET needs read, the queue's changes operate, every other
// change admin. api_routes() is the whole table, in the order match() tries it.
#pragma once

#include "server/admin/router.hpp"

namespace postern::admin {

void add_user_routes(Router& router);     // users, passwords, enable/disable, limits, check
void add_grant_routes(Router& router);    // addresses, domains, and users' grants of them
void add_queue_routes(Router& router);    // the mail queue: list, show, retry, hold, release, delete
void add_share_routes(Router& router);    // share maps
void add_audit_routes(Router& router);    // the audit log
void add_dkim_routes(Router& router);     // DKIM signing keys
void add_webhook_routes(Router& router);  // the webhook outbox: backlog, retry

Router api_routes();

}  // namespace postern::admin
