"""The dashboard: `GET /ui` serves one static page whose script talks only to `/v1`.

The page holds no data and no secret: the API key is typed into it and kept in the tab's
sessionStorage, sent only in the Authorization header. The assets ship inside the package
(`gateway/static`), so a wheel or the container image serves them with nothing fetched at
run time. The Content-Security-Policy allows only this origin (no CDN can be added by
accident) and no form submission, so a key can never end up in a URL.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)

#: sent with the page and its assets: same-origin scripts, styles and API calls only
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _index() -> str:
    return resources.files("gateway").joinpath("static", "index.html").read_text(encoding="utf-8")


@router.get("/", response_class=RedirectResponse)
async def root() -> RedirectResponse:
    """The dashboard is what a person opening the gateway's address wants."""
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui", response_class=HTMLResponse)
@router.get("/ui/", response_class=HTMLResponse)
async def dashboard() -> HTMLResponse:
    return HTMLResponse(_index(), headers=SECURITY_HEADERS)


class DashboardAssets(StaticFiles):
    """The page's script and style sheet, with the same headers as the page."""

    async def get_response(self, path, scope):
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def assets() -> DashboardAssets:
    return DashboardAssets(packages=[("gateway", "static")])
