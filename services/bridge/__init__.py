"""wg-webhooks beside a running wg-portal: its webhooks in (ingest), its REST API (reconcile)."""
