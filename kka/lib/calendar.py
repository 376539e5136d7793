"""iCalendar (.ics) invitations: one UID per conference, SEQUENCE for updates."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import icalendar


def build_ics(
    *,
    uid: str,
    sequence: int,
    method: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime | None,
    zone_name: str,
    summary: str,
    location: str,
    description: str,
    organiser_email: str,
    organiser_name: str,
    attendee_email: str = "",
    attendee_name: str = "",
) -> bytes:
    """A calendar object with one event in the organisation's time zone."""
    zone = zoneinfo.ZoneInfo(zone_name)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//KKA//Konferensi Kasus//ID")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    event.add("dtstart", starts_at.astimezone(zone))
    event.add("dtend", (ends_at or starts_at + dt.timedelta(hours=1)).astimezone(zone))
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", description)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = icalendar.vCalAddress(f"mailto:{organiser_email}")
    organizer.params["cn"] = icalendar.vText(organiser_name)
    event.add("organizer", organizer)
    if attendee_email:
        attendee = icalendar.vCalAddress(f"mailto:{attendee_email}")
        attendee.params["cn"] = icalendar.vText(attendee_name)
        attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = icalendar.vText("FALSE")
        event.add("attendee", attendee)
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()  # type: ignore[no-any-return]
