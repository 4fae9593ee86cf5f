from django.urls import path

from reservations import staff_views

app_name = "staff"
urlpatterns = [
    path("day-sheet/", staff_views.day_sheet_view, name="day_sheet"),
    path("reservations/<str:reference>/move/", staff_views.move_reservation, name="move_reservation"),
]
