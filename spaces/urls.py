from django.urls import path

from reservations import views as reservation_views
from spaces import views

app_name = "spaces"
urlpatterns = [
    path("<slug:slug>/", views.venue_detail, name="venue_detail"),
    path("<slug:slug>/hold/", reservation_views.hold, name="hold"),
]
