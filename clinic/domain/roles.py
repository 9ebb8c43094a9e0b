"""Who works at the clinic: the staff roles, and the steps of signing in."""

from __future__ import annotations

from clinic.domain.choices import Choice


class Role(Choice):
    """What a member of staff does, which decides what they may do."""

    FRONT_DESK = "front_desk", "Front desk", "role-front_desk"
    NURSE = "nurse", "Nurse", "role-nurse"
    PRACTITIONER = "practitioner", "Practitioner", "role-practitioner"
    ADMIN = "admin", "Administrator", "role-admin"


# The roles that work shifts at a site, in the order the roster offers them.
SHIFT_ROLES = (Role.NURSE, Role.PRACTITIONER, Role.FRONT_DESK)


class SignInStep(Choice):
    """What a sign-in half-way through asks for next."""

    SECOND_FACTOR = "second_factor", "Second factor", "step-second_factor"
    ENROL = "enrol", "Set up a second factor", "step-enrol"
