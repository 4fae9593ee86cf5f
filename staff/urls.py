from django.urls import path

from staff import views

app_name = "staff"
urlpatterns = [
    path("day-sheet/", views.day_sheet_view, name="day_sheet"),
    path("reservations/<str:reference>/move/", views.move_reservation, name="move_reservation"),
    path("reservations/<str:reference>/arrival/", views.mark_arrival, name="mark_arrival"),
    path("waitlist/<int:pk>/offer/", views.offer_waitlist_place, name="offer_waitlist_place"),
]
