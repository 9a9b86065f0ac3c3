-- 004: every table of wg-webhooks lives in its own schema (database.schema, the first and only
-- schema of our sessions' search_path, so current_schema() here), never beside another
-- application's tables in `public` (wg-portal has its own `users`, `interfaces`, `peers`).
--
-- On a new install 001-003 already created the tables in our schema: nothing moves. On an install
-- from before this migration, `migrate` moved its bookkeeping (`public.schema_migrations`, ours by
-- its shape and first row) into our schema first, so 001-003 count as applied and their tables are
-- still in `public`: each one moves here, with its rows, indexes, constraints and identity
-- sequence. A table only moves when our schema lacks it, and only these names, the tables
-- 001-003 created.
DO $$
DECLARE
    ours text;
BEGIN
    FOREACH ours IN ARRAY ARRAY['users', 'interfaces', 'peers', 'peer_status', 'webhook_events',
                                'webhook_deliveries', 'webhook_attempts', 'webhook_endpoints']
    LOOP
        IF to_regclass(format('public.%I', ours)) IS NOT NULL
           AND to_regclass(format('%I.%I', current_schema(), ours)) IS NULL THEN
            EXECUTE format('ALTER TABLE public.%I SET SCHEMA %I', ours, current_schema());
        END IF;
    END LOOP;
END
$$;
