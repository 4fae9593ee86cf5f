from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from api import calendars, sms, webhooks
from api.site import api
from core import views as core_views
from guest import urls as guest_urls
from guest import venue as guest_venue
from staff import two_factor

# Staff log in through allauth's log-in page, so its rate limits also guard the admin.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", guest_venue.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("demo/channel.ics", core_views.demo_channel, name="demo_channel"),
    path("admin/", admin.site.urls),
    # allauth's authenticator set-up, returning staff to where they were going (staff/two_factor.py).
    path("accounts/2fa/totp/activate/", two_factor.activate_totp, name="mfa_activate_totp"),
    path("accounts/", include("allauth.urls")),
    path("accounts/", include((guest_urls.account_urls, "accounts"))),
    path("venues/", include((guest_urls.venue_urls, "spaces"))),
    path("reservations/", include((guest_urls.reservation_urls, "reservations"))),
    path("payments/", include((webhooks.urlpatterns, "payments"))),
    path("sms/", include((sms.urlpatterns, "sms"))),
    path("api/", api.urls),
    path("calendars/<slug:token>.ics", calendars.calendar_feed, name="calendar_feed"),
    path("_allauth/", include("allauth.headless.urls")),
    path("staff/", include("staff.urls")),
]

if settings.HOLDFAST_BENCH_ENDPOINTS:  # `make bench` only: ceilings and query counts (core/bench.py)
    from core import bench

    urlpatterns += [path("_bench/", include((bench.urlpatterns, "bench")))]
