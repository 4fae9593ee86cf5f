"""Accounts made for guests by others: the venue's staff booking for a guest by phone or at the door."""

from django.contrib.auth import get_user_model


def guest_for_booking(*, email: str, name: str = "", phone: str = ""):
    """The account with this e-mail address, or a new one without a password (the guest can set one with
    "forgot password" and see the booking). A name or phone given fills in what the account lacks."""
    User = get_user_model()
    email = User.objects.normalize_email(email.strip())
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email, None, name=name.strip(), phone=phone.strip())
        return user
    missing = {
        field: value.strip()
        for field, value in (("name", name), ("phone", phone))
        if value and not getattr(user, field)
    }
    if missing:
        User.objects.filter(pk=user.pk).update(**missing)
        for field, value in missing.items():
            setattr(user, field, value)
    return user
