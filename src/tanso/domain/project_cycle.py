"""The states of a project plan and of a monitoring report, and which step leads where.

A plan (プロジェクト計画書) is drafted by its developer, submitted with a validation body
named (a public comment period opens where the scheme has one), validated (妥当性確認) by that
body, then registered (登録) or rejected by the registry operator; the developer may withdraw
it before registration, and the operator may set a registered project inactive. A monitoring
report (モニタリング報告書) is submitted, then verified (検証) once; a verified report with
tonnes may be the basis of one issuance request, which the operator approves or rejects.
"""

from __future__ import annotations

from enum import StrEnum

from tanso.domain.errors import Conflict, InvalidInput


class PlanState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_VALIDATION = "under_validation"
    REGISTERED = "registered"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    INACTIVE = "inactive"


class PlanStep(StrEnum):
    SUBMIT = "submit"
    START_VALIDATION = "start_validation"
    VALIDATE = "validate"
    REGISTER = "register"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    DEACTIVATE = "deactivate"
    COMMENT = "comment"
    ATTACH = "attach"


S = PlanState
FROM: dict[PlanStep, frozenset[PlanState]] = {
    PlanStep.SUBMIT: frozenset({S.DRAFT}),
    PlanStep.START_VALIDATION: frozenset({S.SUBMITTED}),
    PlanStep.VALIDATE: frozenset({S.UNDER_VALIDATION}),
    PlanStep.REGISTER: frozenset({S.UNDER_VALIDATION}),
    PlanStep.REJECT: frozenset({S.SUBMITTED, S.UNDER_VALIDATION}),
    PlanStep.WITHDRAW: frozenset({S.DRAFT, S.SUBMITTED, S.UNDER_VALIDATION}),
    PlanStep.DEACTIVATE: frozenset({S.REGISTERED}),
    PlanStep.COMMENT: frozenset({S.SUBMITTED, S.UNDER_VALIDATION}),
    PlanStep.ATTACH: frozenset({S.DRAFT, S.SUBMITTED, S.UNDER_VALIDATION}),
}
"""The states each step may be taken from."""

TO: dict[PlanStep, PlanState] = {
    PlanStep.SUBMIT: S.SUBMITTED,
    PlanStep.START_VALIDATION: S.UNDER_VALIDATION,
    PlanStep.REGISTER: S.REGISTERED,
    PlanStep.REJECT: S.REJECTED,
    PlanStep.WITHDRAW: S.WITHDRAWN,
    PlanStep.DEACTIVATE: S.INACTIVE,
}
"""Where a step leads (validation, comments and evidence leave the state as it is)."""


def is_public(validator_id: str | None) -> bool:
    """A plan is public from its submission on, which names its validation body; a draft, and
    a draft withdrawn before it was ever submitted, stay its developer's own."""
    return validator_id is not None


def check_step(plan_id: str, state: str, step: PlanStep) -> None:
    """Refuse a step the plan's state does not allow (409 with both named)."""
    if PlanState(state) not in FROM[step]:
        allowed = ", ".join(sorted(s.value for s in FROM[step]))
        raise Conflict(
            "invalid_plan_state",
            f"Plan {plan_id} is {state}; {step.value.replace('_', ' ')} needs it {allowed}.",
        )


class ReportState(StrEnum):
    SUBMITTED = "submitted"
    VERIFIED = "verified"


class RequestState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


OPINIONS = ("positive", "negative")
MAX_TEXT = 5000


def text(value: str, name: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    """A free text of a step: stripped, at most ``limit`` characters, required unless not."""
    value = value.strip()
    if required and not value:
        raise InvalidInput(
            f"{name}_required", f"{name.replace('_', ' ').capitalize()} is required."
        )
    if len(value) > limit:
        raise InvalidInput(
            "text_too_long", f"{name} may be at most {limit:,} characters; it has {len(value):,}."
        )
    return value
