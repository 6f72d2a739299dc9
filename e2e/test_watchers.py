"""The browser tests' own watchers catch what they are there to catch, so a clean run means something:
a blocked inline script is reported both as a `securitypolicyviolation` event and in the console."""

import pytest

pytestmark = pytest.mark.browser

PAGE = "<!doctype html><html lang='en'><title>t</title><h1>Policy</h1><script>document.title = 'ran'</script>"


def test_a_blocked_inline_script_is_reported_as_a_csp_violation(browser_session):
    # Given a page served with the shop's kind of policy (the browser serves it: no server needed)
    page = browser_session.new_page("probe", base_url="http://shop.test")
    page.context.route(
        "http://shop.test/",
        lambda route: route.fulfill(
            body=PAGE, content_type="text/html", headers={"Content-Security-Policy": "script-src 'self'"}
        ),
    )

    # When it carries an inline script
    page.goto("/")

    # Then the script did not run, and both the event and the console message were recorded
    assert page.title() == "t"
    page.wait_for_timeout(200)  # the event reaches Python through a binding, asynchronously
    assert [v for v in browser_session.csp_violations if "script-src" in v and "inline" in v]
    assert [v for v in browser_session.csp_violations if "console" in v]
    with pytest.raises(AssertionError):
        browser_session.assert_clean()
    browser_session.csp_violations.clear()
