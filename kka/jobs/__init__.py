"""Background jobs: Celery tasks (ids only in payloads), enqueued after commit, done once."""
