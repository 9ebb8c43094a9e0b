"""The printable REMS monitoring form, the visit page's REMS panel, and the discharge dialog."""

from __future__ import annotations

import re
from html import unescape

from clinic.domain.treatments import FIELD_LABELS
from clinic.extensions import db
from clinic.models import Visit
from tests.api.test_rems_form import ANSWERS, session  # noqa: F401  (the REMS session fixture)
from tests.conftest import MONDAY, chicago, csrf_token

HTMX = {"HX-Request": "true"}
YES_NO = {True: "yes", False: "no"}


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def answers_data(token: str, **overrides) -> dict:
    """The answers form's fields, all given, with overrides."""
    data = {"csrf_token": token, "ready_to_leave_minutes": str(ANSWERS["ready_to_leave_minutes"])}
    data |= {name: YES_NO[given] for name, given in ANSWERS["concomitant"].items()}
    return data | overrides


def test_the_form_shows_every_field_in_the_forms_order(client, auth, clinic, session):  # noqa: F811
    auth.login(clinic.clerk)
    html = page(client, f"/visits/{session['visit'].id}/rems-form")
    text = unescape(html)
    places = [text.find(label) for label in FIELD_LABELS.values()]
    assert -1 not in places, [label for label in FIELD_LABELS.values() if label not in text]
    assert places == sorted(places)
    assert re.findall(r'data-field="([\w.]+)"', html) == list(FIELD_LABELS)
    assert "data-print" in html and ">Print<" in html
    assert "rems-form.css" in html  # the print layout
    assert "RP-1001" in html and clinic.patient.full_name in text
    missing = re.findall(r'class="rems-line rems-missing" data-field="([\w.]+)"', html)
    assert missing == ["total_minutes", "ready_to_leave_minutes"] + [
        f"concomitant.{name}" for name in ANSWERS["concomitant"]
    ]
    assert "☒</span> 84 mg" in text and "138/88" in text
    assert "Record the answers" not in html  # the desk reads, it does not answer


def test_a_nurse_records_the_answers_on_the_form_page(client, auth, clinic, session):  # noqa: F811
    auth.login(clinic.nurse)
    url = f"/visits/{session['visit'].id}/rems-form"
    html = page(client, url)
    assert "Record the answers" in html
    response = client.post(url, data=answers_data(csrf_token(html), back="form"))
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    visit = db.session.get(Visit, session["visit"].id)
    db.session.refresh(visit)
    assert visit.rems_concomitant == ANSWERS["concomitant"]
    assert visit.ready_to_leave_minutes == 90
    html = page(client, url)
    assert re.findall(r'class="rems-line rems-missing" data-field="([\w.]+)"', html) == [
        "total_minutes"
    ]
    assert re.search(r'<input checked[^>]*name="psychostimulants"[^>]*value="yes"', html)


def test_bad_answers_are_shown_and_nothing_is_saved(client, auth, clinic, session):  # noqa: F811
    auth.login(clinic.practitioner)
    url = f"/visits/{session['visit'].id}/rems-form"
    token = csrf_token(page(client, url))
    too_long = client.post(url, data=answers_data(token, ready_to_leave_minutes="2000"))
    assert too_long.status_code == 422
    assert "A whole number of minutes, 0-1440." in too_long.get_data(as_text=True)
    half = answers_data(token)
    del half["maois"], half["ready_to_leave_minutes"]
    refused = client.post(url, data=half)
    assert refused.status_code == 422 and "true or false." in refused.get_data(as_text=True)
    empty = client.post(url, data={"csrf_token": token})
    assert empty.status_code == 422
    assert "the minutes, or both" in empty.get_data(as_text=True)
    expired = client.post(url, data=answers_data("forged"))
    assert expired.status_code == 400
    visit = db.session.get(Visit, session["visit"].id)
    db.session.refresh(visit)
    assert visit.rems_concomitant is None and visit.ready_to_leave_minutes is None


def test_the_visit_page_has_the_rems_panel(client, auth, clinic, session):  # noqa: F811
    visit_id = session["visit"].id
    auth.login(clinic.nurse)
    html = page(client, f"/visits/{visit_id}")
    assert 'id="rems-panel"' in html and f"/visits/{visit_id}/rems-form" in html
    assert "4 missing" not in html and "6 missing" in html  # 4 classes, minutes, total
    assert 'name="back" value="visit"' in html
    response = client.post(
        f"/visits/{visit_id}/rems-form", data=answers_data(csrf_token(html), back="visit")
    )
    assert response.headers["Location"].endswith(f"/visits/{visit_id}")
    html = page(client, f"/visits/{visit_id}")
    assert "1 missing" in html and "(set by the discharge)" in html
    auth.logout()
    auth.login(clinic.clerk)
    html = page(client, f"/visits/{visit_id}")
    assert 'id="rems-panel"' in html and "rems-answers-form" not in html


def test_an_iv_visit_has_no_rems_form(client, auth, clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 9))
    auth.login(clinic.nurse)
    assert 'id="rems-panel"' not in page(client, f"/visits/{visit.id}")
    html = page(client, f"/visits/{visit.id}/rems-form", status=409)
    assert "not a REMS session" in html


def test_clinicians_only_answer_and_other_sites_see_nothing(
    client,
    auth,
    clinic,
    session,  # noqa: F811
    make_site,
    make_user,
):
    url = f"/visits/{session['visit'].id}/rems-form"
    auth.login(clinic.clerk)
    token = csrf_token(page(client, url))
    assert client.post(url, data=answers_data(token)).status_code == 403
    auth.logout()
    auth.login(make_user("nurse", [make_site(name="Dallas")]))
    assert client.get(url).status_code == 404
    assert client.get("/visits/99999999999/rems-form").status_code == 404


def test_the_discharge_dialog_shows_the_rems_refusal(client, auth, clinic, session, frozen):  # noqa: F811
    frozen.move_to(chicago(MONDAY, 10))
    auth.login(clinic.practitioner)
    token = csrf_token(page(client, "/recovery"))
    data = {
        "csrf_token": token,
        "escort_name": "Sam Rivera",
        "vitals_stable": "y",
        "override_reason": "Stable",
        **{f"padss_{item}": "2" for item in ("vital_signs", "activity", "pain", "bleeding")},
        "padss_nausea_vomiting": "1",
    }
    response = client.post(
        f"/recovery/visits/{session['visit'].id}/discharge", data=data, headers=HTMX
    )
    assert response.status_code == 409
    message = unescape(
        re.search(r"data-dialog-message>([^<]*)<", response.get_data(as_text=True))[1]
    )
    assert "REMS monitoring lasts until 10:05" in message
    assert "monitoring form is incomplete" in message
