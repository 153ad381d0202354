-- The upstream a handler chose for a message at intake (a handler's `route` action in
-- postern.yaml): it delivers the message's recipients that have no share map, whatever the
-- routes say. NULL, as for every message queued before: the routes decide at each attempt.
ALTER TABLE postern_queue ADD COLUMN upstream text;
