"""The helpers the test and benchmark HTTP clients share (config/testing.py)."""

from email.message import Message

from config.testing import CookieJar


def _headers(*set_cookies: str) -> Message:
    message = Message()
    for line in set_cookies:
        message["Set-Cookie"] = line
    return message


def test_cookie_jar_keeps_sets_replaces_and_deletes_like_a_browser():
    jar = CookieJar()
    assert jar.header() is None

    jar.update(_headers("sessionid=abc; HttpOnly; Path=/", "csrftoken=t1; Path=/; SameSite=Lax"))
    assert jar.header() == "sessionid=abc; csrftoken=t1"

    jar.update(_headers("csrftoken=t2; Path=/"))  # replaced
    jar.update(_headers('sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/'))  # deleted
    jar.update(_headers("not a cookie at all ;;; =="))  # ignored
    assert jar.header() == "csrftoken=t2"

    jar.clear()
    assert jar.header() is None
