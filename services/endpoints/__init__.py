"""Endpoints managed at runtime: stored in Postgres beside the config file's read-only ones.

`spec` validates what an operator sends (through the config's own coercions), `sealing`
encrypts the secrets at rest, `store` writes and reads the rows, `rotation` is the pure rule
for signing-secret rotation, and `live` is each process's current endpoint set.
"""
