"""The test settings as a shop had them before accounts.User: Django's built-in auth.User, no accounts
app. accounts/tests/test_adopt_auth_user.py migrates a database with these, writes users and an
order, then migrates it again with the real settings (docs/accounts.md, "Upgrading").

Only models and migrations run under these settings (`migrate --skip-checks`, `shell`): today's views
import accounts, which is not installed here."""

from config.test_settings import *  # noqa: F403
from config.test_settings import INSTALLED_APPS

AUTH_USER_MODEL = "auth.User"
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "accounts"]
