-- 007: a peer may exist before its interface. Beside a running wg-portal, events of different
-- topics overtake each other (a peer's `create` can arrive before its interface's), and the
-- mirror stores what wg-portal stored instead of refusing it. Deleting an interface still deletes
-- its peers one by one, each with its own event (services/domain/interfaces.py), and the REST API
-- still checks that the interface exists, holding it FOR KEY SHARE against a concurrent delete.
ALTER TABLE peers DROP CONSTRAINT peers_interface_identifier_fkey;
