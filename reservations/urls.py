from django.urls import path

from reservations import views

app_name = "reservations"
urlpatterns = [
    path("", views.my_reservations, name="list"),
    path("<str:reference>/", views.detail, name="detail"),
]
