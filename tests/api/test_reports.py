"""The reports over a seeded week with a DST change (tests/reports_week.py), by hand.

Opening hours: weekdays 08-18 (600 min), Saturday 09-14 (300), Sunday round the clock;
two chairs in service. Visits: 45 min infusion + 120 min observation planned (165 min).
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from clinic.extensions import db
from tests.conftest import NOW, chicago
from tests.reports_week import FIRST, LAST, add_visit, other_site_visit, seed_week

RANGE = f"from={FIRST.isoformat()}&to={LAST.isoformat()}"


@pytest.fixture
def week(make_site, make_chair, make_patient, make_user, api_as):
    """The seeded week, a practitioner of its site and one of another site."""
    seeded = seed_week(make_site, make_chair, make_patient)
    other_site_visit(make_site, make_chair, make_patient)
    seeded.practitioner = api_as(make_user("practitioner", [seeded.site]))
    seeded.query = f"site_id={seeded.site.id}&{RANGE}"
    return seeded


def test_utilisation_counts_each_local_day_the_dst_sunday_has_25_hours(week):
    answer = week.practitioner.get(f"/reports/utilisation?{week.query}")
    assert answer.status_code == 200
    by_day = {row["date"]: row for row in answer.get_json()}
    assert list(by_day) == [
        "2026-10-31",
        "2026-11-01",
        "2026-11-02",
        "2026-11-03",
        "2026-11-04",
        "2026-11-05",
        "2026-11-06",
    ]
    figures = {
        d: (r["chair_minutes_open"], r["chair_minutes_booked"], r["chair_minutes_used"])
        for d, r in by_day.items()
    }
    # Saturday: 2 chairs x 300 minutes, nothing booked.
    assert figures["2026-10-31"] == (600, 0, 0)
    # The DST Sunday: 2 x 25 hours; one visit of 165 minutes across the repeated hour.
    assert figures["2026-11-01"] == (3000, 165, 165)
    # Monday: two visits of 165 planned; used 08:00 (check-in 07:50, before opening,
    # is clipped) to 12:10 = 250, and 09:55 to 12:40 = 165.
    assert figures["2026-11-02"] == (1200, 330, 415)
    # Tuesday: the no-show held its chair (booked) but nobody sat in it.
    assert figures["2026-11-03"] == (1200, 165, 0)
    # Wednesday and Thursday: cancelled visits hold nothing.
    assert figures["2026-11-04"] == (1200, 0, 0)
    assert figures["2026-11-05"] == (1200, 0, 0)
    assert figures["2026-11-06"] == (1200, 0, 0)


def test_a_bay_visit_holds_the_chair_for_the_infusion_and_a_visit_in_care_counts_until_now(
    week,
):
    friday = LAST
    add_visit(
        week.site,
        week.chairs[1],
        week.patient,
        chicago(friday, 9),
        "discharged",
        recovery_chair_id=week.bay.id,
        checked_in_at=chicago(friday, 8, 55),
        infusion_started_at=chicago(friday, 9),
        infusion_ended_at=chicago(friday, 9, 45),
        discharged_at=chicago(friday, 11, 45),
    )
    # Today (Monday 30 November, 07:00 in Austin): in care since 06:00 on a day open all day.
    week.site.opening_hours = week.site.opening_hours | {"mon": ["00:00", "24:00"]}
    today = date(2026, 11, 30)
    assert chicago(today, 7) == NOW
    add_visit(
        week.site,
        week.chairs[0],
        week.patient,
        chicago(today, 6, 15),
        "infusing",
        checked_in_at=chicago(today, 6),
        infusion_started_at=chicago(today, 6, 15),
    )
    db.session.commit()
    answer = week.practitioner.get(
        f"/reports/utilisation?site_id={week.site.id}&from={friday}&to={friday}"
    )
    # In the chair from the planned 09:00 to the planned end of the infusion (45 minutes);
    # sat from 08:55 until the move to the bay at 09:45 (50 minutes).
    assert answer.get_json()[0]["chair_minutes_booked"] == 45
    assert answer.get_json()[0]["chair_minutes_used"] == 50
    now = week.practitioner.get(
        f"/reports/utilisation?site_id={week.site.id}&from={today}&to={today}"
    ).get_json()[0]
    # Booked 06:15 to 09:00 (165 minutes); used 06:00 until now, 07:00 (60 minutes).
    assert (now["chair_minutes_open"], now["chair_minutes_booked"]) == (2 * 1440, 165)
    assert now["chair_minutes_used"] == 60


def test_attendance_names_the_no_show_and_the_late_cancellation(week):
    answer = week.practitioner.get(f"/reports/attendance?{week.query}")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "visits": 6,
        "completed": 3,
        "no_shows": 1,
        "cancellations": 2,
        # 18 hours before the start, inside the 24-hour window; the other, 3 days before.
        "late_cancellations": 1,
    }


def test_cycle_times_give_medians_p90_and_the_overrun(week):
    answer = week.practitioner.get(f"/reports/cycle-times?{week.query}")
    assert answer.status_code == 200
    # Infusions 45, 50, 45 (p90: 45 + 0.8 x 5); recoveries 120, 135, 115 (120 + 0.8 x 15).
    assert answer.get_json() == {
        "infusion": {"planned_median": 45.0, "actual_median": 45.0, "actual_p90": 49.0},
        "recovery": {"planned_median": 120.0, "actual_median": 120.0, "actual_p90": 132.0},
        # Monday 09:00 left at 12:10, 25 minutes after its planned 11:45.
        "overruns": 1,
        "overrun_minutes_median": 25.0,
        "overrun_minutes_total": 25,
    }


def test_alerts_count_discharge_alerts_and_their_answer_times(week):
    answer = week.practitioner.get(f"/reports/alerts?{week.query}")
    assert answer.status_code == 200
    # Due then overdue on Monday, due on Sunday (the positive screen is not counted);
    # acknowledged after 120 s and 30 s; discharged 15 min and 0 min after due.
    assert answer.get_json() == {
        "fired": 3,
        "acknowledged": 2,
        "due_to_ack_median_seconds": 75.0,
        "due_to_discharge_median_minutes": 7.5,
    }


def test_a_range_without_visits_gives_zeros_and_nulls(week):
    query = f"site_id={week.site.id}&from=2027-01-04&to=2027-01-04"
    assert week.practitioner.get(f"/reports/attendance?{query}").get_json()["visits"] == 0
    cycle = week.practitioner.get(f"/reports/cycle-times?{query}").get_json()
    assert cycle["infusion"] == {"planned_median": None, "actual_median": None, "actual_p90": None}
    alerts = week.practitioner.get(f"/reports/alerts?{query}").get_json()
    assert alerts["fired"] == 0 and alerts["due_to_ack_median_seconds"] is None


@pytest.mark.parametrize("kind", ["utilisation", "attendance", "cycle-times", "alerts"])
def test_each_report_exports_csv(week, kind):
    answer = week.practitioner.get(f"/reports/{kind}?{week.query}&format=csv")
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    if kind == "utilisation":
        assert len(rows) == 7
        assert rows[1] == {
            "date": "2026-11-01",
            "chair_minutes_open": "3000",
            "chair_minutes_booked": "165",
            "chair_minutes_used": "165",
        }
    elif kind == "cycle-times":
        assert rows[0]["infusion_actual_p90"] == "49.0"
        assert rows[0]["overruns"] == "1"
    elif kind == "attendance":
        assert rows == [
            {
                "visits": "6",
                "completed": "3",
                "no_shows": "1",
                "cancellations": "2",
                "late_cancellations": "1",
            }
        ]
    else:
        assert rows[0]["due_to_ack_median_seconds"] == "75.0"


def test_admins_read_reports_and_the_other_roles_are_refused(week, make_user, api_as):
    admin = api_as(make_user("admin", []))
    assert admin.get(f"/reports/attendance?{week.query}").get_json()["visits"] == 6
    for role in ("nurse", "front_desk"):
        answer = api_as(make_user(role, [week.site])).get(f"/reports/attendance?{week.query}")
        assert answer.status_code == 403
        assert answer.get_json()["error"] == "forbidden"


def test_a_practitioner_of_another_site_is_told_it_does_not_exist(
    week, make_site, make_user, api_as
):
    elsewhere = api_as(make_user("practitioner", [make_site(name="Houston")]))
    answer = elsewhere.get(f"/reports/utilisation?{week.query}")
    assert answer.status_code == 404
    assert answer.get_json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-11-06&to=2026-10-31", "to"),  # ends before it starts
        ("from=2026-01-01&to=2027-01-02", "to"),  # 367 days
        ("from=2026-11-31&to=2026-12-01", "from"),  # no such day
        ("from=2026-11-01", "to"),  # missing
        ("from=2026-11-01&to=2026-11-02&format=xlsx", "format"),
        ("from=2026-11-01T00:00&to=2026-11-02", "from"),
        ("from=9999-12-31&to=9999-12-31", "to"),  # no datetime overflow: a 422
        ("from=0001-01-01&to=0001-01-02", "from"),
    ],
)
def test_bad_ranges_are_422_naming_the_field(week, query, field):
    answer = week.practitioner.get(f"/reports/alerts?site_id={week.site.id}&{query}")
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["error"] == "invalid"
    assert field in body["fields"]


def test_a_whole_leap_year_is_allowed(week):
    query = f"site_id={week.site.id}&from=2028-01-01&to=2028-12-31"
    answer = week.practitioner.get(f"/reports/utilisation?{query}")
    assert answer.status_code == 200
    assert len(answer.get_json()) == 366
