"""``kka groups create|add|remove|list|show``: organisation groups, from the command line.

An organisation group lets the ``pengawas`` members of one organisation (an education
office, the group's *supervisor*) read the aggregate program reports of the member
organisations (``kka.reports``): counts and charts only, never case content or names.
Only the operator makes and changes groups, with the member organisations' agreement;
there is no page for it. Every change is audited with no acting user and the role
``operator``: ``org.group_created`` under the supervisor, ``org.group_changed`` once
under each organisation added or removed (so each one's own audit trail shows it).

    kka groups create --name "Sekolah binaan Dinas Kota" --supervisor ORGCODE [--threshold 5]
    kka groups add GROUPCODE ORGCODE [ORGCODE ...]
    kka groups remove GROUPCODE ORGCODE [ORGCODE ...]
    kka groups list
    kka groups show GROUPCODE
"""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from kka.accounts.models import Membership, Organisation, OrganisationGroup, Role
from kka.audit.services import audit_log
from kka.reports.protect import DEFAULT_THRESHOLD

OPERATOR = "operator"  # actor_role of rows written from the command line


# Codes are short and alphanumeric; anything else cannot exist (and a NUL would not
# even reach PostgreSQL).
_CODE = re.compile(r"^[0-9A-Za-z]{1,16}$")


def _organisation(code: str) -> Organisation:
    code = code.strip()
    organisation = Organisation.objects.filter(code=code).first() if _CODE.match(code) else None
    if organisation is None:
        raise CommandError(f"no organisation with the code {code!r}")
    return organisation


def _group(code: str, *, lock: bool = False) -> OrganisationGroup:
    code = code.strip()
    groups = OrganisationGroup.objects.select_related("supervisor")
    if lock:
        groups = groups.select_for_update()
    group = groups.filter(code=code).first() if _CODE.match(code) else None
    if group is None:
        raise CommandError(f"no organisation group with the code {code!r}")
    return group


def _threshold(value: int) -> int:
    if value < DEFAULT_THRESHOLD:
        raise CommandError(
            f"--threshold must be at least {DEFAULT_THRESHOLD}: a smaller one could single "
            "out a client in the reports"
        )
    if value > 32767:
        raise CommandError("--threshold is too large")
    return value


@transaction.atomic
def group_create(
    *, name: str, supervisor: Organisation, threshold: int = DEFAULT_THRESHOLD
) -> OrganisationGroup:
    """A new, empty group (also used by ``kka demo``); audited as the operator's."""
    group = OrganisationGroup(name=name, supervisor=supervisor, report_threshold=threshold)
    group.full_clean(exclude=["organisations"])
    group.save()
    audit_log(
        action="org.group_created",
        actor=None,
        actor_role=OPERATOR,
        organisation=supervisor,
        object_type="organisation_group",
        object_ref=group.code,
        refs={"threshold": threshold},
    )
    return group


@transaction.atomic
def group_change(*, group: OrganisationGroup, organisation: Organisation, add: bool) -> None:
    """Add an organisation to the group or remove it; one audit row, under that
    organisation, so its own trail shows whose reports it joined or left."""
    if add:
        group.organisations.add(organisation)
    else:
        group.organisations.remove(organisation)
    audit_log(
        action="org.group_changed",
        actor=None,
        actor_role=OPERATOR,
        organisation=organisation,
        object_type="organisation_group",
        object_ref=group.code,
        refs={"change": "added" if add else "removed", "supervisor": group.supervisor.code},
    )


class Command(BaseCommand):
    help = (
        "Organisation groups: which organisations' aggregate program reports the pengawas "
        "of a supervising organisation (an education office) may read."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        create = sub.add_parser("create", help="create a group (empty; then add organisations)")
        create.add_argument("--name", required=True, help="the group's name, shown in reports")
        create.add_argument(
            "--supervisor", required=True, help="code of the supervising organisation"
        )
        create.add_argument(
            "--threshold",
            type=int,
            default=DEFAULT_THRESHOLD,
            help=f"small-number threshold of the group's reports (at least {DEFAULT_THRESHOLD})",
        )
        add = sub.add_parser("add", help="add organisations to a group")
        add.add_argument("group", help="the group's code")
        add.add_argument("organisations", nargs="+", metavar="ORGCODE")
        remove = sub.add_parser("remove", help="remove organisations from a group")
        remove.add_argument("group", help="the group's code")
        remove.add_argument("organisations", nargs="+", metavar="ORGCODE")
        sub.add_parser("list", help="every group: code, supervisor, threshold, members")
        show = sub.add_parser("show", help="one group: its members and who reads it")
        show.add_argument("group", help="the group's code")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "_" + options["subcommand"])(options)

    def _create(self, options: dict[str, Any]) -> None:
        name = " ".join(str(options["name"]).split())
        if not name:
            raise CommandError("--name must not be empty")
        if not name.isprintable():
            raise CommandError("--name must not hold control characters")
        if len(name) > OrganisationGroup._meta.get_field("name").max_length:  # type: ignore[operator]
            raise CommandError("--name is too long (at most 200 characters)")
        threshold = _threshold(options["threshold"])
        supervisor = _organisation(options["supervisor"])
        group = group_create(name=name, supervisor=supervisor, threshold=threshold)
        self.stdout.write(
            f"group {group.code} created, supervised by {supervisor.code} "
            f"(threshold {threshold}); add organisations with: kka groups add {group.code} ORGCODE…"
        )

    def _change(self, options: dict[str, Any], *, add: bool) -> None:
        codes = list(dict.fromkeys(code.strip() for code in options["organisations"]))
        with transaction.atomic():
            group = _group(options["group"], lock=True)
            organisations = [_organisation(code) for code in codes]
            current = set(group.organisations.values_list("pk", flat=True))
            for organisation in organisations:
                present = organisation.pk in current
                if present == add:
                    state = "already in" if add else "not in"
                    self.stdout.write(f"{organisation.code} is {state} group {group.code}")
                    continue
                group_change(group=group, organisation=organisation, add=add)
                verb = "added to" if add else "removed from"
                self.stdout.write(f"{organisation.code} {verb} group {group.code}")

    def _add(self, options: dict[str, Any]) -> None:
        self._change(options, add=True)

    def _remove(self, options: dict[str, Any]) -> None:
        self._change(options, add=False)

    def _list(self, options: dict[str, Any]) -> None:
        groups = OrganisationGroup.objects.select_related("supervisor").order_by("name", "id")
        found = False
        for group in groups:
            found = True
            self.stdout.write(
                "\t".join(
                    [
                        group.code,
                        group.supervisor.code,
                        f"threshold {group.report_threshold}",
                        f"members {group.organisations.count()}",
                        group.name,
                    ]
                )
            )
        if not found:
            self.stdout.write("no organisation groups")

    def _show(self, options: dict[str, Any]) -> None:
        group = _group(options["group"])
        out = self.stdout
        out.write(f"group       {group.code}  {group.name}")
        out.write(f"supervisor  {group.supervisor.code}  {group.supervisor.name}")
        out.write(f"threshold   {group.report_threshold} (each member's own, if higher, wins)")
        out.write(f"created     {group.created_at:%Y-%m-%d %H:%M} UTC")
        members = list(group.organisations.order_by("name", "id"))
        out.write(f"members     {len(members)}")
        for organisation in members:
            out.write(
                f"  {organisation.code}  {organisation.name}  "
                f"(threshold {organisation.report_threshold})"
            )
        readers = Membership.objects.filter(
            organisation=group.supervisor,
            role=Role.PENGAWAS,
            is_active=True,
            user__is_active=True,
        ).select_related("user")
        emails = [m.user.email for m in readers.order_by("user__email")]
        out.write(f"readers     {len(emails)} active pengawas of {group.supervisor.code}")
        for email in emails:
            out.write(f"  {email}")
