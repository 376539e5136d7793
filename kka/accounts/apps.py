from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kka.accounts"
    label = "accounts"
    verbose_name = "Akun dan lembaga"

    def ready(self) -> None:
        from kka.accounts import signals  # noqa: F401  (audit of login/logout)
