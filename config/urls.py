from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from config import views
from config.api import api

# Staff log in through allauth's log-in page, so its rate limits also guard the admin.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("accounts/", include("accounts.urls")),
    path("venues/", include("spaces.urls")),
    path("reservations/", include("reservations.urls")),
    path("payments/", include("payments.urls")),
    path("api/", api.urls),
    path("_allauth/", include("allauth.headless.urls")),
    path("staff/", include("reservations.staff_urls")),
]

if settings.HOLDFAST_BENCH_ENDPOINTS:  # `make bench` only: ceilings and query counts (config/bench.py)
    from config import bench

    urlpatterns += [path("_bench/", include((bench.urlpatterns, "bench")))]
