-- 005: the webhook-id header is unique across installs and database re-creations (DESIGN §4.4).
--
-- A bare sequence number restarts at 1 in every new database, and a receiver that drops ids it
-- has seen (as Standard Webhooks tells it to) would then drop real events. Each event now keeps
-- `evt_` + a UUIDv7 (48 bits of Unix milliseconds, 74 random bits), made when it is recorded and
-- sent unchanged on every attempt to every endpoint. Postgres 15 has no uuidv7() (PG 18 does):
-- new_webhook_id() builds one from gen_random_uuid(), putting the time in front and setting the
-- version nibble to 7.
--
-- Events recorded before this migration keep the id they were already sent with, their number
-- (`1`, `2`, ...), so a receiver's duplicate check still recognises a retry of one of them.
CREATE FUNCTION new_webhook_id() RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE
RETURN 'evt_' || encode(
    set_bit(set_bit(
        overlay(uuid_send(gen_random_uuid())
                PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                                  FROM 3)
                FROM 1 FOR 6),
        52, 1), 53, 1),
    'hex')::uuid::text;

ALTER TABLE webhook_events ADD COLUMN webhook_id text;
UPDATE webhook_events SET webhook_id = id::text;
ALTER TABLE webhook_events
    ALTER COLUMN webhook_id SET DEFAULT new_webhook_id(),
    ALTER COLUMN webhook_id SET NOT NULL;
