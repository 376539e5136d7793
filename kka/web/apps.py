from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "kka.web"
    label = "web"
    verbose_name = "Antarmuka"

    def ready(self) -> None:
        from kka import checks  # noqa: F401  (registers the configuration checks)
