from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "kka.jobs"
    label = "jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The Celery app must be configured (eager or Redis) before any task is enqueued.
        import kka.celery  # noqa: F401
