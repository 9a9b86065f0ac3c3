"""The operators' web console at /console/: server-rendered pages (Jinja2), served by the API.

Sign-in takes the API's identities and tokens (services.api.auth); sessions are rows in Postgres
(sessions.py); every form that changes something carries the session's CSRF token. Pages are
plain HTML that reads without JavaScript; the one script only refreshes the overview in place.
"""
