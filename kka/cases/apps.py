from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "kka.cases"
    label = "cases"
    verbose_name = "Kasus dan konseli"
