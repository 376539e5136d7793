"""WSGI entry point. In production, system-check errors stop the start-up."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kka.settings")

from django.core.wsgi import get_wsgi_application

from kka.checks import refuse_to_start_on_errors

application = get_wsgi_application()
refuse_to_start_on_errors()
