-- A chunk row of up to 8160 bytes (all of a message of a few KiB: most mail) stays in its table
-- page as it is. By default PostgreSQL compresses any row past about 2 KiB and moves what is still
-- too long into the TOAST table: for a small message that meant a compression, TOAST rows and
-- their index entries on intake, a TOAST lookup and a decompression on delivery, and a TOAST
-- delete at the end, about a tenth of PostgreSQL's CPU per message. Longer chunks are compressed
-- and moved as before. Only rows written from now on are affected; every replica reads both.
ALTER TABLE postern_message_chunks SET (toast_tuple_target = 8160);
