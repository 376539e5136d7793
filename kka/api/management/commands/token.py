"""``kka token create|list|revoke``: personal API tokens from the command line.

``kka token create --user EMAIL [--organisation CODE] [--scope read|write] [--days N]
[--name NAME]`` prints the token once (only its hash is stored). Every change is audited
with no acting user and the role ``operator``. Output is for the operator: codes, names
of tokens and dates, never a token value except the one just created.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kka.accounts.models import Membership, Organisation, User
from kka.api import services
from kka.api.models import ApiToken, TokenScope
from kka.api.tokens import DEFAULT_DAYS, MAX_DAYS


def _user(email: str) -> User:
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise CommandError(f"no user with the email {email!r}")
    return user


def _organisation(user: User, code: str | None) -> Organisation:
    memberships = Membership.objects.filter(
        user=user, is_active=True, organisation__isnull=False
    ).select_related("organisation")
    if code:
        member = memberships.filter(organisation__code=code).first()
        if member is None:
            raise CommandError(f"the user has no active membership in organisation {code!r}")
        return member.organisation  # type: ignore[return-value]
    found = list(memberships.order_by("id")[:2])
    if not found:
        raise CommandError("the user has no active membership")
    if len(found) > 1:
        raise CommandError("the user belongs to several organisations: give --organisation CODE")
    return found[0].organisation  # type: ignore[return-value]


class Command(BaseCommand):
    help = "Personal API tokens: create (printed once), list, revoke."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        create = sub.add_parser("create", help="create a token and print it once")
        create.add_argument("--user", required=True, help="the user's email")
        create.add_argument("--organisation", help="organisation code (if several)")
        create.add_argument("--scope", choices=TokenScope.values, default=TokenScope.READ)
        create.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"1 to {MAX_DAYS}")
        create.add_argument("--name", default="cli", help="to tell tokens apart")
        listing = sub.add_parser("list", help="a user's tokens (codes, never values)")
        listing.add_argument("--user", required=True, help="the user's email")
        revoke = sub.add_parser("revoke", help="revoke a token by its code")
        revoke.add_argument("code", help="the token's code (from list)")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "_" + options["subcommand"])(options)

    def _create(self, options: dict[str, Any]) -> None:
        days = options["days"]
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}")
        user = _user(options["user"])
        if not user.is_active:
            raise CommandError("the user is deactivated")
        organisation = _organisation(user, options.get("organisation"))
        token, raw = services.api_token_issue(
            actor=None,
            user=user,
            organisation=organisation,
            name=options["name"],
            scope=options["scope"],
            days=days,
            via="cli",
        )
        self.stdout.write(raw)
        self.stderr.write(
            f"token {token.code} ({token.scope}) for organisation {organisation.code}, "
            f"valid until {token.expires_at:%Y-%m-%d %H:%M} UTC. "
            "It is shown only this once: store it now."
        )

    def _list(self, options: dict[str, Any]) -> None:
        user = _user(options["user"])
        now = timezone.now()
        tokens = ApiToken.objects.filter(user=user).select_related("organisation")
        for token in tokens.order_by("-created_at"):
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "-"
            self.stdout.write(
                "\t".join(
                    [
                        token.code,
                        token.prefix + "…",
                        token.scope,
                        token.organisation.code,
                        services.token_status(token, now=now),
                        f"{token.created_at:%Y-%m-%d}",
                        f"{token.expires_at:%Y-%m-%d}",
                        used,
                        token.name,
                    ]
                )
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        token = ApiToken.objects.filter(code=options["code"].strip()).first()
        if token is None:
            raise CommandError("no token with that code")
        if token.revoked_at is not None:
            self.stdout.write(f"token {token.code} was already revoked")
            return
        services.api_token_revoke(actor=None, token=token, via="cli")
        self.stdout.write(f"token {token.code} revoked")
