"""Text that is shown or sent: one line, no direction controls, real contacts."""

from __future__ import annotations

import pytest

from clinic.domain.text import Kind, clean, line_problem, normalize_email, normalize_phone

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


@pytest.mark.parametrize(
    "bad", ["Ann\nLee", "Ann\rLee", "Ann\r\nLee", "A\tB", "A\u2028B", "A\x85B"]
)
def test_line_breaks_and_control_characters_are_refused(bad):
    assert line_problem(bad) == "Must be a single line without control characters."


@pytest.mark.parametrize("control", BIDI)
def test_every_bidirectional_control_is_refused(control):
    assert "text-direction" in line_problem(f"Invoice{control}fdp.exe")


@pytest.mark.parametrize(
    "good", ["Ann Lee", "Zoë O'Brien-Núñez", "محمد", "李小龙", "Chair 3 (window)"]
)
def test_names_in_any_script_pass(good):
    assert line_problem(good) is None


def test_email_addresses_are_normalised_or_refused():
    assert normalize_email("Ana.Lopez@Clinic.Example.org") == "Ana.Lopez@clinic.example.org"
    assert normalize_email("desk@clinic.test") == "desk@clinic.test"
    for bad in ["ana", "ana@", "@clinic.org", "ana@clinic", "a b@clinic.org", "ana@@clinic.org"]:
        with pytest.raises(ValueError, match="Not an e-mail address"):
            normalize_email(bad)
    with pytest.raises(ValueError, match="single line"):
        normalize_email("ana@clinic.org\r\nBcc: all@clinic.org")


def test_phone_numbers_become_e164_with_the_us_as_default_region():
    assert normalize_phone("512-555-0100") == "+15125550100"
    assert normalize_phone("(512) 555-0100") == "+15125550100"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"
    for bad in ["12", "555-0100", "phone me", "+1 512 555 0100 x12", "512-555-0100\n"]:
        with pytest.raises(ValueError):
            normalize_phone(bad)


def test_clean_normalises_and_collects_every_problem_by_field():
    values = {
        "given_name": "Ann\u202e",
        "family_name": "Lee",
        "phone": "512-555-0100",
        "email": "not-an-address",
        "escort_phone": None,
        "mrn": "",
    }
    kinds = {
        "given_name": Kind.LINE,
        "family_name": Kind.LINE,
        "phone": Kind.PHONE,
        "email": Kind.EMAIL,
        "escort_phone": Kind.PHONE,
        "mrn": Kind.LINE,
    }
    cleaned, errors = clean(values, kinds)
    assert set(errors) == {"given_name", "email"}
    assert cleaned["phone"] == "+15125550100"
    assert cleaned["escort_phone"] is None and cleaned["mrn"] == ""
