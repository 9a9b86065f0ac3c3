"""The console on the API's app: its routers and its packaged static files."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.console import actions, pages, signin
from services.console.web import PREFIX


def install(app: FastAPI) -> None:
    static = resources.files("services.console") / "static"
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(static)), name="console-static")
    app.include_router(signin.router)
    app.include_router(pages.router)
    app.include_router(actions.router)
