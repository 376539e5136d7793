"""The immediate evaluation (laiseg) a participant answers through their private link.

The questions follow the organisation's scheme (UCA or BMB3) and are worded for a
parent as much as for a teacher. A participant may answer once, after the KKA took
place, if they pledged confidentiality and attended (present, or left early). A
participant who was represented did not attend themselves: their representative's
impressions are recorded by the counsellor in meeting mode.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kka.conferences import followup
from kka.conferences.forms import LAISEG_QUESTIONS
from kka.conferences.models import Attendance, EvaluationKind, EvaluationScheme, Participant

ATTENDED = {Attendance.PRESENT, Attendance.LEFT_EARLY}

# The same questions the counsellor asks in meeting mode (one wording, one place).
QUESTIONS = LAISEG_QUESTIONS


def scheme_of(participant: Participant) -> str:
    scheme = participant.conference.case.organisation.evaluation_scheme
    return scheme if scheme in QUESTIONS else EvaluationScheme.UCA


def may_answer(participant: Participant) -> bool:
    """The KKA took place and this participant, pledged, attended it."""
    return (
        participant.conference.status in followup.EVALUATION_STATUSES
        and participant.removed_at is None
        and participant.pledged_at is not None
        and participant.attendance in ATTENDED
    )


def state(participant: Participant) -> str:
    """``""`` (nothing to show), ``"open"`` (the form) or ``"done"`` (thank you)."""
    if not may_answer(participant):
        return ""
    answered = participant.evaluations.filter(  # type: ignore[attr-defined]
        kind=EvaluationKind.LAISEG, conference_id=participant.conference_id
    ).exists()
    return "done" if answered else "open"


class LaisegForm(forms.Form):
    def __init__(self, *args: Any, scheme: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scheme = scheme
        for key, _name, question in QUESTIONS[scheme]:
            self.fields[key] = forms.CharField(
                label=question,
                required=False,
                max_length=followup.ANSWER_MAX,
                widget=forms.Textarea(attrs={"rows": 3}),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not any((cleaned.get(key) or "").strip() for key, *_rest in QUESTIONS[self.scheme]):
            raise forms.ValidationError(_("Jawab paling sedikit satu pertanyaan."))
        return cleaned
