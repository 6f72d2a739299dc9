"""Accounts: the user model (AUTH_USER_MODEL), with the email address as the login.

The columns up to `date_joined` are auth.User's, so that a database made with Django's built-in
user model adopts its rows (migrations 0001 and 0002, docs/accounts.md).
"""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

EMAIL_MAX_LENGTH = 254


class UserManager(BaseUserManager):
    """Creates users by email; finds them by email whatever its case."""

    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).strip(), **extra)
        user.set_password(password)  # None: an unusable password
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        if extra.get("is_staff") is not True or extra.get("is_superuser") is not True:
            raise ValueError("A superuser must have is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra)

    # The active users holding a permission (superusers too), as auth.User's manager has it.
    with_perm = DjangoUserManager.with_perm

    def get_by_natural_key(self, username: str):
        """The login (ModelBackend, the admin, createsuperuser): the email, case-insensitively.
        The unique constraint on Lower(email) makes it one row at most."""
        return self.get(email__iexact=(username or "").strip())


class User(AbstractBaseUser, PermissionsMixin):
    """A customer or a staff member. `email` is the login and where the shop writes."""

    # auth.User's key (an integer AutoField), so rows and foreign keys adopted from it keep their type.
    id = models.AutoField(primary_key=True, verbose_name="ID")
    # unique=True as Django's checks want for a USERNAME_FIELD (auth.E003); the constraint on Lower(email)
    # below is the rule that matters: one account per address whatever its case.
    email = models.EmailField(
        _("email address"),
        max_length=EMAIL_MAX_LENGTH,
        unique=True,
        error_messages={"unique": _("An account with this email address already exists.")},
    )
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    is_staff = models.BooleanField(
        _("staff status"), default=False, help_text=_("Whether the user can log into the admin site.")
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Unselect this instead of deleting accounts: an inactive user cannot log in."),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    email_verified_at = models.DateTimeField(
        _("email verified at"),
        null=True,
        blank=True,
        help_text=_("When the customer opened the confirmation link; empty: not confirmed yet."),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        help_text=_("The language of the shop's emails to this user (empty: English)."),
    )

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message=_("An account with this email address already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).strip()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


# --- saved addresses (docs/accounts.md, "Saved addresses") -----------------------------------------


class Address(models.Model):
    """A delivery address a customer saved, to fill the checkout with.

    Its fields and limits are the order's (`orders.Order`): checkout copies an address into the
    order, so a saved one always fits (accounts/tests/test_addresses.py compares them). At most one
    address per customer is the default (a partial unique constraint); the account's pages and the
    checkout's "save this address" box keep that true (accounts.services.addresses).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses")
    full_name = models.CharField(max_length=200)
    company_name = models.CharField(max_length=200, blank=True)
    address_line1 = models.CharField("address", max_length=200)
    address_line2 = models.CharField("address (line 2)", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postcode = models.CharField(max_length=20)
    country = models.CharField(max_length=2, help_text="ISO 3166 country code, e.g. DE.")
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "pk"]
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(is_default=True), name="address_one_default_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name}, {self.city} ({self.country})"
