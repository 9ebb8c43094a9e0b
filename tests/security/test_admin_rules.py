"""An administrator cannot demote or disable themselves (page and API), and nobody can take
the last active administrator's role or activity: 409 with the rule in `reasons`."""

from __future__ import annotations

import pytest

from clinic.extensions import db
from clinic.models import User
from clinic.services import staff
from clinic.services.errors import Conflict
from clinic.types import utcnow
from tests.conftest import csrf_token
from tests.security.conftest import sign_in


def reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


@pytest.mark.parametrize("change", [{"role": "nurse"}, {"active": False}])
def test_the_api_refuses_an_admin_demoting_or_disabling_themselves(
    api_as, clinic, make_user, change
):
    make_user("admin", [])  # another active administrator exists: only the own-role rule
    answer = api_as(clinic.admin).patch(f"/users/{clinic.admin.id}", json=change)
    assert answer.status_code == 409
    body = answer.get_json()
    assert body["error"] == "conflict" and body["fields"] == {}
    assert [r["rule"] for r in body["reasons"]] == ["own_admin_role"]
    admin = reload(clinic.admin)
    assert admin.role == "admin" and admin.active


def test_the_api_lets_an_admin_change_their_own_name(api_as, clinic):
    answer = api_as(clinic.admin).patch(f"/users/{clinic.admin.id}", json={"name": "Boss"})
    assert answer.status_code == 200 and answer.get_json()["name"] == "Boss"


def test_the_api_lets_an_admin_demote_another_admin(api_as, clinic, make_user):
    other = make_user("admin", [])
    answer = api_as(clinic.admin).patch(f"/users/{other.id}", json={"role": "nurse"})
    assert answer.status_code == 200 and reload(other).role == "nurse"


def test_nobody_takes_the_last_active_admins_role(app, clinic, make_user):
    # Two administrators demote each other at the same moment: the second change finds
    # the first already done and would leave no active administrator.
    other = make_user("admin", [])
    staff.update_user(other, {"role": "nurse"}, actor=clinic.admin, now=utcnow())
    with pytest.raises(Conflict) as refused:
        staff.update_user(clinic.admin, {"active": False}, actor=other, now=utcnow())
    assert [r.rule for r in refused.value.reasons] == ["last_active_admin"]
    assert reload(clinic.admin).active


def test_the_page_refuses_the_own_role_and_the_last_admin(app, client, clinic):
    sign_in(client, clinic.admin)
    page = client.get(f"/admin/users/{clinic.admin.id}").get_data(as_text=True)
    answer = client.post(
        f"/admin/users/{clinic.admin.id}",
        data={
            "csrf_token": csrf_token(page),
            "email": clinic.admin.email,
            "name": clinic.admin.name,
            "role": "nurse",
            "site_ids": [clinic.site.id],
            "active": "y",
        },
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "cannot remove your own administrator role" in html
    assert "last active administrator" in html
    assert reload(clinic.admin).role == "admin"
