from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("data/", views.your_data, name="data"),
    path("data/holdfast-data.json", views.data_export, name="data_export"),
    path("data/delete/", views.delete_account, name="delete"),
]
