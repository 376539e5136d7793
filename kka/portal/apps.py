from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "kka.portal"
    label = "portal"
    verbose_name = "Portal peserta"
