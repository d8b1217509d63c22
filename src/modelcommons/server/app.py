"""create_app(): the FastAPI application serving the HF-compatible protocol and our extras."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from modelcommons import __version__
from modelcommons.server.errors import install_error_handlers
from modelcommons.server.headers import ResponseHeaders
from modelcommons.server.limits import RequestLimits


class RawPathRouting:
    """Route on the undecoded path: revisions and tree paths arrive with %2F for '/'
    (`refs%2Fpr%2F1`), which the decoded path would make ambiguous. Routes unquote their
    revision and path parameters themselves (deps.decoded)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("raw_path"):
            scope = dict(scope, path=scope["raw_path"].decode("latin-1"))
        await self.app(scope, receive, send)


def create_app() -> FastAPI:
    from modelcommons.jobs import dispatch
    from modelcommons.server.api import git, jobs, lineage, storage, xet
    from modelcommons.server.api.hf import auth, lfs, likes, refs, repos, resolve, tree, upload
    from modelcommons.web import install_web

    dispatch.install()  # jobs this process creates go to the queue once committed
    app = FastAPI(title="Model Commons", version=__version__, docs_url="/api/docs", redoc_url=None)
    install_error_handlers(app)
    for module in (
        auth,
        xet,
        storage,
        jobs,
        lineage,
        likes,
        repos,
        refs,
        tree,
        upload,
        lfs,
        resolve,
        git,
    ):
        app.include_router(module.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    install_web(app)  # last: its catch-all page routes must not shadow API routes

    app.add_middleware(RequestLimits)  # inside RawPathRouting: it reads the matched route
    app.add_middleware(RawPathRouting)
    app.add_middleware(ResponseHeaders)
    return app
