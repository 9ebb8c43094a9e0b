"""The app starts, signs people in and answers the API with its error body."""

from tests.conftest import MONDAY, chicago


def test_login_then_board(client, auth, clinic):
    assert client.get("/").status_code == 302
    response = auth.login(clinic.clerk)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused(client, auth, clinic):
    response = auth.login(clinic.clerk, password="wrong password!")
    assert response.status_code == 200
    assert "Wrong e-mail or password" in response.get_data(as_text=True)


def test_api_without_token_is_401(client):
    response = client.get("/api/v1/sites")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_book_through_service(clinic, make_visit):
    visit = make_visit(clinic.clerk, clinic.patient, chicago(MONDAY, 9))
    assert visit.status == "booked"
    assert visit.chair_id == clinic.chairs[0].id
