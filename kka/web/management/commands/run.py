"""``kka run``: serve KKA with gunicorn; whitenoise serves the static files."""

from __future__ import annotations

import io
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the application with gunicorn (default 127.0.0.1:8000)."
    requires_system_checks = []  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("KKA_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("KKA_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("KKA_THREADS", "4")))

        parser.add_argument(
            "--prepare",
            action="store_true",
            help="first migrate, create demo data in an empty development database and "
            "print the demo logins (what `make run` does), in this same process",
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="do not gather static files first (they were gathered at deploy time)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django.core.management import call_command
        from gunicorn.app.base import BaseApplication

        if options["prepare"]:
            call_command("migrate", interactive=False, verbosity=0)
            if not settings.PRODUCTION:
                logins = settings.DATA_DIR / "demo-logins.txt"
                call_command("demo", if_empty=True, logins_file=str(logins), stdout=io.StringIO())
                if logins.exists():
                    self.stdout.write(logins.read_text())
        if not options["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)

        from kka.wsgi import application

        config = {
            "bind": options["bind"],
            "workers": options["workers"],
            "threads": options["threads"],
            "accesslog": "-",
            # The path is logged without its query string; KKA never puts secrets in paths.
            "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
            "errorlog": "-",
            "timeout": 60,
            # An idle keep-alive connection is closed by the client's side first (nginx's
            # upstream keepalive_timeout is 60 s): when gunicorn closed it (default after
            # 2 s) just as a request went out on it, the request failed (a 502 from nginx,
            # which never retries a POST; a socket error in bench/load.py).
            "keepalive": 75,
            "graceful_timeout": 20,
            "forwarded_allow_ips": os.environ.get("KKA_FORWARDED_ALLOW_IPS", "127.0.0.1"),
            # Import the application once, then fork the workers: a faster start.
            "preload_app": True,
        }

        class KKAServer(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                for key, value in config.items():
                    self.cfg.set(key, value)

            def load(self) -> Any:
                return application

        mode = "production" if settings.PRODUCTION else "development"
        self.stdout.write(f"KKA ({mode}) on http://{options['bind']}/")
        KKAServer().run()
