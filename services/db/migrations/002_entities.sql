-- 002: interfaces, peers and peer status (wg-portal's domain.Interface, domain.Peer, domain.PeerStatus).
--
-- Lists (addresses, DNS servers, allowed IPs) are text[] of normalized strings: wg-portal's model
-- keeps them as strings too, and inet would print a /32 host without its prefix. A peer option
-- that wg-portal models as ConfigOption{Value, Overridable} is two columns, value and
-- <value>_overridable.

CREATE TABLE interfaces (
    identifier                    text PRIMARY KEY,          -- the device name, e.g. wg0
    display_name                  text NOT NULL DEFAULT '',
    type                          text NOT NULL CHECK (type IN ('server', 'client', 'any')),
    driver_type                   text NOT NULL DEFAULT '',
    private_key                   text NOT NULL,
    public_key                    text NOT NULL,
    listen_port                   integer NOT NULL DEFAULT 0 CHECK (listen_port BETWEEN 0 AND 65535),
    addresses                     text[] NOT NULL DEFAULT '{}',
    dns                           text[] NOT NULL DEFAULT '{}',
    dns_search                    text[] NOT NULL DEFAULT '{}',
    mtu                           integer NOT NULL DEFAULT 0 CHECK (mtu BETWEEN 0 AND 9000),
    firewall_mark                 bigint NOT NULL DEFAULT 0
                                  CHECK (firewall_mark BETWEEN 0 AND 4294967295),
    routing_table                 text NOT NULL DEFAULT '',
    pre_up                        text NOT NULL DEFAULT '',
    post_up                       text NOT NULL DEFAULT '',
    pre_down                      text NOT NULL DEFAULT '',
    post_down                     text NOT NULL DEFAULT '',
    save_config                   boolean NOT NULL DEFAULT false,
    disabled                      timestamptz,
    disabled_reason               text NOT NULL DEFAULT '',
    peer_def_network              text[] NOT NULL DEFAULT '{}',
    peer_def_dns                  text[] NOT NULL DEFAULT '{}',
    peer_def_dns_search           text[] NOT NULL DEFAULT '{}',
    peer_def_endpoint             text NOT NULL DEFAULT '',
    peer_def_allowed_ips          text[] NOT NULL DEFAULT '{}',
    peer_def_mtu                  integer NOT NULL DEFAULT 0 CHECK (peer_def_mtu BETWEEN 0 AND 9000),
    peer_def_persistent_keepalive integer NOT NULL DEFAULT 0
                                  CHECK (peer_def_persistent_keepalive BETWEEN 0 AND 65535),
    peer_def_firewall_mark        bigint NOT NULL DEFAULT 0
                                  CHECK (peer_def_firewall_mark BETWEEN 0 AND 4294967295),
    peer_def_routing_table        text NOT NULL DEFAULT '',
    peer_def_pre_up               text NOT NULL DEFAULT '',
    peer_def_post_up              text NOT NULL DEFAULT '',
    peer_def_pre_down             text NOT NULL DEFAULT '',
    peer_def_post_down            text NOT NULL DEFAULT '',
    created_by                    text NOT NULL DEFAULT '',
    updated_by                    text NOT NULL DEFAULT '',
    created_at                    timestamptz NOT NULL DEFAULT now(),
    updated_at                    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE peers (
    identifier                     text PRIMARY KEY,         -- the peer's public key
    -- RESTRICT, never CASCADE: deleting an interface deletes its peers one by one, each with its
    -- own webhook event; a cascade would delete them silently.
    interface_identifier           text NOT NULL REFERENCES interfaces (identifier) ON DELETE RESTRICT,
    user_identifier                text NOT NULL DEFAULT '',  -- '' = no owner
    display_name                   text NOT NULL DEFAULT '',
    disabled                       timestamptz,
    disabled_reason                text NOT NULL DEFAULT '',
    expires_at                     timestamptz,
    notes                          text NOT NULL DEFAULT '',
    automatically_created          boolean NOT NULL DEFAULT false,
    private_key                    text NOT NULL DEFAULT '',
    preshared_key                  text NOT NULL DEFAULT '',
    interface_type                 text NOT NULL DEFAULT 'client'
                                   CHECK (interface_type IN ('server', 'client', 'any')),
    addresses                      text[] NOT NULL DEFAULT '{}',
    check_alive_address            text NOT NULL DEFAULT '',
    extra_allowed_ips              text[] NOT NULL DEFAULT '{}',
    endpoint                       text NOT NULL DEFAULT '',
    endpoint_overridable           boolean NOT NULL DEFAULT false,
    endpoint_public_key            text NOT NULL DEFAULT '',
    endpoint_public_key_overridable boolean NOT NULL DEFAULT false,
    allowed_ips                    text[] NOT NULL DEFAULT '{}',
    allowed_ips_overridable        boolean NOT NULL DEFAULT false,
    persistent_keepalive           integer NOT NULL DEFAULT 0
                                   CHECK (persistent_keepalive BETWEEN 0 AND 65535),
    persistent_keepalive_overridable boolean NOT NULL DEFAULT false,
    dns                            text[] NOT NULL DEFAULT '{}',
    dns_overridable                boolean NOT NULL DEFAULT false,
    dns_search                     text[] NOT NULL DEFAULT '{}',
    dns_search_overridable         boolean NOT NULL DEFAULT false,
    mtu                            integer NOT NULL DEFAULT 0 CHECK (mtu BETWEEN 0 AND 9000),
    mtu_overridable                boolean NOT NULL DEFAULT false,
    firewall_mark                  bigint NOT NULL DEFAULT 0
                                   CHECK (firewall_mark BETWEEN 0 AND 4294967295),
    firewall_mark_overridable      boolean NOT NULL DEFAULT false,
    routing_table                  text NOT NULL DEFAULT '',
    routing_table_overridable      boolean NOT NULL DEFAULT false,
    pre_up                         text NOT NULL DEFAULT '',
    pre_up_overridable             boolean NOT NULL DEFAULT false,
    post_up                        text NOT NULL DEFAULT '',
    post_up_overridable            boolean NOT NULL DEFAULT false,
    pre_down                       text NOT NULL DEFAULT '',
    pre_down_overridable           boolean NOT NULL DEFAULT false,
    post_down                      text NOT NULL DEFAULT '',
    post_down_overridable          boolean NOT NULL DEFAULT false,
    created_by                     text NOT NULL DEFAULT '',
    updated_by                     text NOT NULL DEFAULT '',
    created_at                     timestamptz NOT NULL DEFAULT now(),
    updated_at                     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX peers_interface ON peers (interface_identifier);
CREATE INDEX peers_user ON peers (user_identifier) WHERE user_identifier <> '';

-- What the collector last saw of each peer (wg-portal's domain.PeerStatus). No foreign key: the
-- collector records what WireGuard reports; deleting or re-keying a peer removes its row.
CREATE TABLE peer_status (
    peer_identifier      text PRIMARY KEY,                   -- the peer's public key
    interface_identifier text NOT NULL DEFAULT '',
    is_connected         boolean NOT NULL DEFAULT false,     -- the state last published
    is_pingable          boolean NOT NULL DEFAULT false,
    last_ping            timestamptz,
    bytes_received       bigint NOT NULL DEFAULT 0 CHECK (bytes_received >= 0),
    bytes_transmitted    bigint NOT NULL DEFAULT 0 CHECK (bytes_transmitted >= 0),
    endpoint             text NOT NULL DEFAULT '',
    last_handshake       timestamptz,
    last_session_start   timestamptz,
    -- set while the raw rule says "disconnected" but the disconnect grace has not yet passed
    disconnected_since   timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (disconnected_since IS NULL OR is_connected)
);
CREATE INDEX peer_status_interface ON peer_status (interface_identifier);
