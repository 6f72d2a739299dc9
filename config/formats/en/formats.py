"""English ("en", settings.LANGUAGE_CODE) keeps the formats it had as "en-gb": day before month."""

from django.conf.locale.en_GB.formats import *  # noqa: F403
