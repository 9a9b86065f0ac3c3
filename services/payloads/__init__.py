"""Entity -> wg-portal webhook model: key order, omitempty and time format as wg-portal sends them.

One module per model (user, peer, interface, peer status); this package's `envelope` serializes
the `{"event","entity","identifier","payload"}` envelope exactly once, at write time.
"""
