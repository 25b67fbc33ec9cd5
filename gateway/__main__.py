"""`python -m gateway`: the HTTP gateway on settings.gateway_host:gateway_port (uvicorn)."""

from __future__ import annotations

import logging

import uvicorn

from cenas.settings import Settings
from gateway.app import create_app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    uvicorn.run(create_app(settings), host=settings.gateway_host, port=settings.gateway_port, log_level="info")


if __name__ == "__main__":
    main()
