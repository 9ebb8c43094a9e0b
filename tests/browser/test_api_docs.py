"""The API's documentation page renders every operation of the served document in a real
browser, from vendored assets, with no CSP violation (the page fixture fails on any)."""

from __future__ import annotations


def test_the_docs_page_lists_the_operations_without_signing_in(page, client):
    document = client.get("/api/v1/openapi.json").get_json()
    operations = sum(
        method in ("get", "post", "patch", "put", "delete")
        for item in document["paths"].values()
        for method in item
    )
    response = page.goto("/api/v1/docs")
    assert response.status == 200
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    blocks = page.locator(".opblock")
    blocks.first.wait_for()
    assert blocks.count() == operations
    assert page.locator(".opblock-summary-path", has_text="/visits/{id}/events").count() == 1
    assert page.locator(".info .title", has_text="Infusion Desk API").is_visible()
