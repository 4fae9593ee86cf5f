import factory
from allauth.account.models import EmailAddress

from accounts.models import User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A guest who can log in: password `PASSWORD`, e-mail address verified (pass `verified=False` for one
    who signed up but never followed the link)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"guest{n}@example.com")
    name = factory.Sequence(lambda n: f"Guest {n}")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(user, create, extracted, **kwargs):
        if create:
            verified = True if extracted is None else extracted
            EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=verified)
