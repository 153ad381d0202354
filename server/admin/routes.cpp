// The whole route table. See routes.hpp.
#include "server/admin/routes.hpp"

namespace postern::admin {

Router api_routes() {
  Router router;
  add_user_routes(router);
  add_grant_routes(router);
  add_queue_routes(router);
  add_share_routes(router);
  add_audit_routes(router);
  add_dkim_routes(router);
  add_webhook_routes(router);
  return router;
}

}  // namespace postern::admin
