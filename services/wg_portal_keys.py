"""wg-portal's own keys in the sections wg-webhooks reads: they load, and are not used here.

Taken from wg-portal's internal/config/*.go (the `yaml:"..."` tags of Core, Advanced, Backend,
Statistics, DatabaseConfig and WebConfig). A key in one of those sections that is neither ours
(services.config.KEYS) nor listed here is a typo and stops start-up.
"""

from __future__ import annotations

from collections.abc import Mapping

# fmt: off
WG_PORTAL_KEYS: Mapping[str, frozenset[str]] = {
    "core": frozenset({
        "disable_admin_user", "editable_keys", "create_default_peer",
        "create_default_peer_on_creation", "create_default_peer_on_login",
        "create_default_peer_on_user_creation", "create_default_peer_on_interface_creation",
        "self_provisioning_allowed", "import_existing", "restore_state",
    }),
    "advanced": frozenset({
        "log_pretty", "config_storage_path", "expiry_check_interval", "rule_prio_offset",
        "route_table_offset", "limit_additional_user_peers",
    }),
    "backend": frozenset({
        "default", "ignored_local_interfaces", "local_resolvconf_prefix", "mikrotik", "pfsense",
    }),
    "statistics": frozenset({
        "ping_check_workers", "ping_unprivileged", "ping_check_interval",
        "collect_interface_data", "collect_audit_data", "listening_address",
    }),
    "database": frozenset({"debug", "slow_query_threshold", "encryption_passphrase"}),
    "web": frozenset({
        "request_logging", "expose_host_info", "external_url", "base_path",
        "session_identifier", "session_secret", "csrf_secret", "site_title",
        "site_company_name", "cert_file", "key_file", "frontend_filepath",
    }),
}
# fmt: on
