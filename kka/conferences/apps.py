from django.apps import AppConfig


class ConferencesConfig(AppConfig):
    name = "kka.conferences"
    label = "conferences"
    verbose_name = "Konferensi kasus"
