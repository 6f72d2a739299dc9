"""A NUL byte in an API address is answered as the API answers every error: problem details."""

import pytest


@pytest.mark.parametrize("url", ["/api/v1/orders/?email=%00", "/api/v1/orders/a%00b/"])
def test_a_nul_byte_in_an_api_address_is_a_problem_400(client, url):
    response = client.get(url)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 400
    assert body["code"] == "nul_byte"
    assert "NUL byte" in body["detail"]


def test_a_nul_byte_in_a_shop_address_is_still_the_html_400_page(client):
    response = client.get("/products/?q=%00")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
