"""The registered audit action codes, namespaced by area.

Writing an audit row with a code missing here is a programming error. Codes are
stable once released: reports and the DPO's queries depend on them.
"""

from __future__ import annotations

ACTIONS: dict[str, str] = {
    # accounts
    "auth.login": "User logged in",
    "auth.login_failed": "Login failed",
    "auth.locked_out": "Login refused: too many failures for this email from this address",
    "auth.logout": "User logged out",
    "auth.password_changed": "User changed their password",
    "auth.password_reset_requested": "Password reset requested",
    "auth.password_reset_done": "Password set through a reset link",
    "auth.organisation_switched": "User switched active organisation",
    "org.updated": "Organisation settings changed",
    "org.logo_changed": "Letterhead logo uploaded or removed",
    "org.member_added": "Member added to organisation",
    "org.member_role_changed": "Member's role changed",
    "org.member_deactivated": "Member deactivated",
    "org.member_reactivated": "Member reactivated",
    "org.created": "Organisation created",
    "system.demo_created": "Demo data created",
    # clients and cases
    "client.created": "Client created",
    "client.updated": "Client identity changed",
    "client.viewed": "Client page shown",
    "client.list_viewed": "Client list shown",
    "client.import_previewed": "Client spreadsheet previewed",
    "client.imported": "Clients imported from a spreadsheet",
    "guardian.added": "Guardian added",
    "guardian.removed": "Guardian removed",
    "case.opened": "Case opened",
    "case.updated": "Case details changed",
    "case.viewed": "Case page shown",
    "case.list_viewed": "Case list shown",
    "case.status_changed": "Case status changed",
    "case.member_added": "Counsellor added to a case",
    "case.member_removed": "Counsellor removed from a case",
    "record.added": "Case record added",
    "record.updated": "Case record changed",
    "record.viewed": "Case record shown",
    "attachment.added": "Attachment stored",
    "attachment.downloaded": "Attachment downloaded",
    "map.updated": "Problem map core changed",
    "map.aspect_added": "Problem aspect added",
    "map.aspect_removed": "Problem aspect removed",
    "map.resource_added": "Resource added to problem map",
    "map.resource_removed": "Resource removed from problem map",
    "consent.recorded": "Consent recorded",
    "consent.withdrawn": "Consent withdrawn",
    "consent.proof_exported": "Proof of consent exported",
    "consent_text.updated": "Consent text changed",
    # conferences (KKA)
    "conference.created": "Conference created",
    "conference.viewed": "Conference page shown",
    "conference.plan_updated": "Conference plan changed",
    "conference.status_changed": "Conference status changed",
    "conference.approval_requested": "Plan approval requested",
    "conference.approval_viewed": "Plan shown for approval",
    "conference.approved": "Plan approved",
    "conference.sent_back": "Plan sent back",
    "conference.approval_reset": "Plan needs approval again (new outside invitee)",
    "participant.added": "Participant added",
    "participant.updated": "Participant changed",
    "participant.removed": "Participant removed",
    "participant.link_revoked": "Participant's private links revoked",
    "letter.number_issued": "Letter number issued",
    "invitation.sent": "Invitation sent",
    "portal.opened": "Private link opened",
    "portal.denied": "Private link refused (unknown, revoked or expired)",
    "portal.rsvp": "Participant answered the invitation",
    "portal.briefing_viewed": "Participant read the briefing",
    "portal.minutes_viewed": "Participant read the shared minutes",
    "pledge.taken": "Confidentiality pledge taken",
    "minutes.finalised": "Minutes finalised",
    "minutes.addendum_added": "Addendum added to finalised minutes",
    "attendance.recorded": "Attendance recorded",
    # after the meeting: commitments, evaluations, follow-up
    "auth.otp_enrolled": "Second factor (TOTP app) enrolled",
    "auth.otp_verified": "Second factor given after login (method code: totp, backup_code)",
    "auth.otp_failed": "Wrong second-factor code or password at verification (method code)",
    "auth.otp_reset": "Second factor removed by its owner (enrols again)",
    "auth.backup_codes_regenerated": "New backup codes made (old ones void)",
    "auth.step_up": "Fresh verification for a sensitive action (method code)",
    "auth.session_ended": "Session ended (reason code: logout, idle, absolute, ended_by_user, "
    "all, deactivated, password_changed)",
    "commitment.added": "Commitment recorded",
    "commitment.status_changed": "Commitment status changed",
    "commitment.progress_added": "Progress note added to a commitment",
    "evaluation.recorded": "Evaluation recorded",
    "evaluation.scheduled": "Later evaluation scheduled",
    "followup.added": "Follow-up planned",
    "followup.status_changed": "Follow-up status changed",
    "report.saved": "Report narrative saved (component names only)",
    "report.finalised": "Report finalised (read-only afterwards)",
    "document.template_uploaded": "Organisation's own document template uploaded (kind only)",
    "document.template_deactivated": "Organisation's own document template deactivated",
    "document.produced": "Document produced (kind, format, codes and number only)",
    "document.finalised": "Document finalised (served from storage from now on)",
    "document.accessed": "Document downloaded, mailed, shown in the portal or bundled",
    "letter.number_voided": "Letter number voided (the reason stays in the register, not here)",
    "letter.register_exported": "Letter number register exported as CSV (year, row count)",
    "reminder.run": "Daily reminders sent for an organisation (counts only)",
    "portal.minutes_agreed": "Participant agreed to the shared minutes",
    "portal.minutes_commented": "Participant commented on the shared minutes",
}


class UnknownAction(ValueError):
    pass


def check_action(code: str) -> str:
    if code not in ACTIONS:
        raise UnknownAction(code)
    return code
