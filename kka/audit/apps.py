from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "kka.audit"
    label = "audit"
    verbose_name = "Log audit"
