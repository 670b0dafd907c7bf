"""The rating web app (Starlette): one page per item per rater, autosaved ratings, and the study's results page.

A rater's link is /r/<token>; everything a rater can reach sits under their token, and nothing they are sent
names a system, a run, a sample id or another rater: outputs are slots A, B, ... in that rater's own shuffled
order, images are addressed by (item number, slot). Pages are server-rendered with autoescaping; the only
script is the app's own static file, and the Content-Security-Policy forbids any other (inline ones included),
so a hostile instruction is inert twice over. The results page lives under the separate admin token.
"""

from __future__ import annotations

import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mirabench.reports.gallery import THUMB_MIME
from mirabench.studies.rating.db import CRITERIA, RatingDB
from mirabench.studies.rating.results import LABELS, STATIC, TEMPLATES, compute_results, render_results_html
from mirabench.studies.rating.study import Study, load_study

__all__ = ["DEFINITIONS", "build_app", "serving"]

DEFINITIONS = {
    "sc": "Does the output do what the instruction asks, all of it and nothing else?",
    "pq": "Does the output look natural and free of artifacts (blur, distortions, seams)?",
    "bp": "Is everything the instruction does not mention left as it was in the input?",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class _Headers(BaseHTTPMiddleware):
    """Security headers on every response; tokens travel in URLs, so no Referer ever leaves the page."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response


class _Rater:
    """One rater's view of the study: their item order, their slot order, their progress."""

    def __init__(self, study: Study, db: RatingDB, rater: dict[str, Any]) -> None:
        self.study, self.db, self.rater = study, db, rater
        self.id: str = rater["id"]
        self.total = len(rater["items"])

    def item(self, n: int) -> dict[str, Any]:
        """Item n (1-based, in this rater's order)."""
        return self.study.items[self.rater["items"][n - 1]]

    def systems(self, n: int) -> list[int]:
        """System indices behind slots A, B, ... of item n."""
        return list(self.rater["slots"][self.rater["items"][n - 1]])

    def resume(self) -> int:
        """The first item not yet submitted (total + 1 when all are)."""
        done = self.db.submitted(self.id)
        for n in range(1, self.total + 1):
            if self.item(n)["sample_id"] not in done:
                return n
        return self.total + 1

    def scores(self, n: int) -> dict[str, dict[str, float]]:
        """Saved scores of item n by slot letter and criterion (nothing else of the stored row)."""
        saved = self.db.scores(self.id, self.item(n)["sample_id"])
        names = self.study.systems
        out: dict[str, dict[str, float]] = {}
        for pos, system in enumerate(self.systems(n)):
            slot = string.ascii_uppercase[pos]
            out[slot] = {c: saved[(names[system], c)] for c in CRITERIA if (names[system], c) in saved}
        return out

    def state(self, n: int) -> dict[str, Any]:
        return {
            "item": n,
            "total": self.total,
            "resume": self.resume(),
            "slots": [string.ascii_uppercase[i] for i in range(len(self.study.systems))],
            "scores": self.scores(n),
            "layout": self.study.layout,
        }


def build_app(study_dir: Path) -> Starlette:
    """The ASGI app serving one study folder (ratings go to its ratings.sqlite)."""
    study = load_study(study_dir)
    db = RatingDB(study.dir)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**context), status_code=status)

    def refused(request: Request) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "unknown link"}, status_code=404)
        return page("message.html", 404, title="Unknown link", text="This link is not valid. Ask for a new one.")

    def rater_of(request: Request) -> _Rater | None:
        found = study.rater_for(str(request.path_params["token"]))
        return _Rater(study, db, found) if found else None

    def item_number(request: Request, r: _Rater) -> int | None:
        """The requested item, if this rater may open it: any item up to the first one not yet submitted."""
        n = int(request.path_params["n"])
        return n if 1 <= n <= min(r.resume(), r.total) else None

    def api_item(request: Request) -> tuple[_Rater, int] | Response:
        """The rater and the item an API call is about, or the response that refuses it."""
        r = rater_of(request)
        if r is None:
            return refused(request)
        n = item_number(request, r)
        if n is None:
            return JSONResponse({"error": "not yet open"}, status_code=409)
        return r, n

    async def start(request: Request) -> Response:
        r = rater_of(request)
        if r is None:
            return refused(request)
        n = r.resume()
        if n > r.total:
            return page("message.html", title="Thank you", text=f"All {r.total} items are rated. Thank you!")
        return RedirectResponse(f"/r/{request.path_params['token']}/item/{n}", status_code=303)

    async def item_page(request: Request) -> Response:
        r = rater_of(request)
        if r is None:
            return refused(request)
        n = item_number(request, r)
        if n is None:
            return RedirectResponse(f"/r/{request.path_params['token']}", status_code=303)
        db.opened(r.id, r.item(n)["sample_id"])
        token = request.path_params["token"]
        state = r.state(n)
        return page(
            "rate.html",
            base=f"/r/{token}",
            api=f"/api/r/{token}/item/{n}",
            item=n,
            total=r.total,
            resume=state["resume"],
            instruction=r.item(n)["instruction"],
            slots=state["slots"],
            scores=state["scores"],
            layout=study.layout,
            criteria=[{"key": c, "label": LABELS[c], "definition": DEFINITIONS[c]} for c in CRITERIA],
        )

    async def image(request: Request) -> Response:
        r = rater_of(request)
        if r is None:
            return refused(request)
        n = item_number(request, r)
        slot, kind = str(request.path_params["slot"]), str(request.path_params["kind"])
        if n is None or kind not in ("thumb", "full"):
            return Response(status_code=404)
        if slot == "source":
            system = None
        elif len(slot) == 1 and slot in string.ascii_uppercase[: len(study.systems)]:
            system = r.systems(n)[string.ascii_uppercase.index(slot)]
        else:
            return Response(status_code=404)
        full, thumb = study.image(r.rater["items"][n - 1], system)
        path = thumb if kind == "thumb" else full
        if not path.is_file():
            return Response(status_code=404)
        return FileResponse(path, media_type=THUMB_MIME if kind == "thumb" else "image/png")

    async def state(request: Request) -> Response:
        got = api_item(request)
        if isinstance(got, Response):
            return got
        r, n = got
        return JSONResponse(r.state(n))

    async def rate(request: Request) -> Response:
        got = api_item(request)
        if isinstance(got, Response):
            return got
        r, n = got
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send JSON"}, status_code=415)  # and so no cross-site form can post
        try:
            body = await request.json()
            slot, criterion, score = str(body["slot"]), str(body["criterion"]), float(body["score"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "expected {slot, criterion, score}"}, status_code=400)
        slots = string.ascii_uppercase[: len(study.systems)]
        if len(slot) != 1 or slot not in slots or criterion not in CRITERIA or not 0 <= score <= 10:
            return JSONResponse({"error": "unknown slot or criterion, or a score outside 0-10"}, status_code=400)
        system = study.systems[r.systems(n)[slots.index(slot)]]
        db.rate(r.id, r.item(n)["sample_id"], system, criterion, score)
        missing = _missing(r.scores(n), slots)
        return JSONResponse({"saved": True, "complete": not missing})

    async def submit(request: Request) -> Response:
        got = api_item(request)
        if isinstance(got, Response):
            return got
        r, n = got
        missing = _missing(r.scores(n), string.ascii_uppercase[: len(study.systems)])
        if missing:
            return JSONResponse({"error": "some ratings are missing", "missing": missing}, status_code=409)
        db.submit(r.id, r.item(n)["sample_id"])
        token = request.path_params["token"]
        return JSONResponse({"next": f"/r/{token}/item/{n + 1}" if n < r.total else f"/r/{token}"})

    async def admin(request: Request) -> Response:
        if not study.is_admin(str(request.path_params["token"])):
            return refused(request)
        return HTMLResponse(render_results_html(study, compute_results(study), inline_css=False, live=True))

    routes = [
        Route("/r/{token}", start),
        Route("/r/{token}/item/{n:int}", item_page),
        Route("/r/{token}/img/{n:int}/{slot}/{kind}", image),
        Route("/api/r/{token}/item/{n:int}", state),
        Route("/api/r/{token}/item/{n:int}/rate", rate, methods=["POST"]),
        Route("/api/r/{token}/item/{n:int}/submit", submit, methods=["POST"]),
        Route("/admin/{token}", admin),
        Route("/favicon.ico", lambda request: Response(status_code=204)),  # browsers ask; no 404 in the console
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_Headers)])


def _missing(scores: dict[str, dict[str, float]], slots: str) -> list[str]:
    """'A:sc'-style names of the ratings an item still lacks."""
    return [f"{s}:{c}" for s in slots for c in CRITERIA if c not in scores.get(s, {})]


class _Server(uvicorn.Server):
    """uvicorn with an event set once its socket listens (so callers wait on that, not on a sleep)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@contextmanager
def serving(study_dir: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve a study from a background thread (tests, notebooks, simulations); yields the base URL."""
    server = _Server(uvicorn.Config(build_app(study_dir), host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not server.ready.wait(60) or not server.servers:
        raise RuntimeError("the rating app did not start")
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(60)
