-- 007: what the bridge from a running wg-portal needs.
--
-- A peer may exist before its interface. Beside a running wg-portal, events of different
-- topics overtake each other (a peer's `create` can arrive before its interface's), and the
-- mirror stores what wg-portal stored instead of refusing it. Deleting an interface still deletes
-- its peers one by one, each with its own event (services/domain/interfaces.py), and the REST API
-- still checks that the interface exists, holding it FOR KEY SHARE against a concurrent delete.
ALTER TABLE peers DROP CONSTRAINT peers_interface_identifier_fkey;

-- How many envelopes POST /ingest/wg-portal could not read as a known wg-portal model and
-- delivered verbatim (the Prometheus counter wg_webhooks_ingest_unrecognised_total). A counter
-- table, not a count of events: retention purges events, and a counter never goes down.
CREATE TABLE ingest_unrecognised (
    entity  text NOT NULL,
    event   text NOT NULL,
    count   bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (entity, event)
);
