"""The guests' pages, under the URL namespaces they have always had (templates and links use them):
`spaces` for the venue pages, `reservations` for bookings, `accounts` for My account."""

from django.urls import path

from guest import account, reservations, venue, waitlist

venue_urls = [
    path("<slug:slug>/", venue.venue_detail, name="venue_detail"),
    path("<slug:slug>/hold/", reservations.hold, name="hold"),
    path("<slug:slug>/waitlist/", waitlist.join, name="waitlist_join"),
    path("<slug:slug>/waitlist/session/", waitlist.join_session, name="waitlist_session"),
]

reservation_urls = [
    path("", reservations.my_reservations, name="list"),
    path("waitlist/<int:pk>/leave/", waitlist.leave, name="waitlist_leave"),
    path("<str:reference>/", reservations.detail, name="detail"),
    path("<str:reference>/review/", reservations.review, name="review"),
    path("<str:reference>/confirm/", reservations.confirm, name="confirm"),
    path("<str:reference>/release/", reservations.release, name="release"),
    path("<str:reference>/hold-again/", reservations.hold_again, name="hold_again"),
    path("<str:reference>/payment/", reservations.payment_return, name="payment"),
    path("<str:reference>/modify/", reservations.modify, name="modify"),
    path("<str:reference>/details/", reservations.details, name="details"),
    path("<str:reference>/texts/", reservations.texts, name="texts"),
    path("<str:reference>/cancel/", reservations.cancel, name="cancel"),
]

account_urls = [
    path("profile/", account.profile, name="profile"),
    path("data/", account.your_data, name="data"),
    path("data/holdfast-data.json", account.data_export, name="data_export"),
    path("data/delete/", account.delete_account, name="delete"),
]
