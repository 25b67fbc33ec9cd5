"""Celery GPU workers (sampling and evaluation queues), energy metering and the pool controller."""
