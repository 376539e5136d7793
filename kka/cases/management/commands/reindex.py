"""``kka reindex``: rebuild the blind indexes (after KKA_INDEX_KEY changed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from kka.cases.models import Client
from kka.cases.services import reindex_client


class Command(BaseCommand):
    help = "Rebuild the search tokens of every client name and identifier."

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        for client in Client.objects.order_by("pk").iterator(chunk_size=500):
            with transaction.atomic():
                reindex_client(client)
            count += 1
        self.stdout.write(f"Reindexed {count} clients.")
