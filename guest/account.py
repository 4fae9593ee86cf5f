"""My account: the profile, and "Your data" (download everything, delete the account)."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from core import ratelimit
from guest.account_forms import AccountDeleteForm, ProfileForm
from privacy.services import account_delete, account_deletion_preview, account_export


@login_required
def profile(request):
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile was saved."))
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
def your_data(request):
    """The "Your data" page of My account: download everything, or delete the account."""
    return render(request, "accounts/data.html")


@login_required
@require_GET
def data_export(request):
    """Everything we hold about the guest, as a JSON file to keep."""
    data = account_export(user=request.user)
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = 'attachment; filename="holdfast-data.json"'
    add_never_cache_headers(response)  # personal data: no cache may keep a copy
    return response


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request):
    """GET shows what deleting the account does to each booking and asks for the password; POST deletes."""
    user = request.user
    form = AccountDeleteForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST":
        try:
            ratelimit.check(request, "account_delete")  # the password must not be guessable here
        except ratelimit.RateLimited as error:
            return ratelimit.too_many_page(
                request,
                error,
                message=_("You have entered a password too many times in a short time."),
                back_url=reverse("accounts:data"),
                back_label=_("your data"),
            )
        if form.is_valid():
            counts = account_delete(user=user)
            logout(request)
            cancelled = counts["cancelled"]
            if cancelled == 1:
                done = _("Your account is deleted. One upcoming booking was cancelled.")
            elif cancelled:
                done = ngettext(
                    "Your account is deleted. %(count)s upcoming booking was cancelled.",
                    "Your account is deleted. %(count)s upcoming bookings were cancelled.",
                    cancelled,
                ) % {"count": cancelled}
            else:
                done = _("Your account is deleted.")
            messages.success(request, done)
            return redirect("home")
    context = {"form": form, **account_deletion_preview(user=user)}
    return render(request, "accounts/delete.html", context, status=422 if form.errors else 200)
