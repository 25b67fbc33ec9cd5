"""HTTP gateway (FastAPI): search submission, progress and results."""
