"""Email backends for tests: real Django backends that fail on purpose."""

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class FlakyBackend(LocmemBackend):
    """Raises a connection error for the first `failures_left` sends, then delivers to mail.outbox."""

    failures_left = 0

    def send_messages(self, messages):
        if FlakyBackend.failures_left > 0:
            FlakyBackend.failures_left -= 1
            raise ConnectionRefusedError("SMTP server unavailable (test)")
        return super().send_messages(messages)


class CountingBackend(LocmemBackend):
    """Counts connections made (backend instances), to check that a batch shares one."""

    instances = 0

    def __init__(self, *args, **kwargs):
        CountingBackend.instances += 1
        super().__init__(*args, **kwargs)
