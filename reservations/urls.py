from django.urls import path

from reservations import views

app_name = "reservations"
urlpatterns = [
    path("", views.my_reservations, name="list"),
    path("<str:reference>/", views.detail, name="detail"),
    path("<str:reference>/review/", views.review, name="review"),
    path("<str:reference>/confirm/", views.confirm, name="confirm"),
    path("<str:reference>/release/", views.release, name="release"),
    path("<str:reference>/payment/", views.payment_return, name="payment"),
    path("<str:reference>/modify/", views.modify, name="modify"),
    path("<str:reference>/cancel/", views.cancel, name="cancel"),
]
