"""HTTP gateway (FastAPI): search submission, progress and results.

`create_app(settings)` builds the application; `python -m gateway` serves it.
"""

from gateway.app import create_app

__all__ = ["create_app"]
