"""Staff manage every reservation here. Adding, changing, cancelling and marking a no-show all go
through reservations.services, so the admin obeys the same rules as guests and the API; a refusal
(an overlap, a closure...) comes back as a form error or a message, never a 500."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery, URLField, Value
from django.db.models.functions import Coalesce, NullIf
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import phones
from accounts.services import guest_for_booking
from accounts.two_factor import TwoFactorRequired
from core.replica import lag_tolerant
from reservations import notifications, services
from reservations.exceptions import BookingError
from reservations.exports import reservations_csv_response
from reservations.models import Block, OutgoingMessage, Reservation, ReservationEvent, WaitlistEntry
from reservations.services import channels
from reservations.services.waitlist import offer_words, waitlist_offer_now
from reservations.wording import history_words
from spaces import powers
from spaces.admin_scope import VenueScoped, VenueScopedInline, VenueTimeZoneAdmin, local_wall_time
from spaces.models import CalendarFeed
from spaces.powers import Power


class ReservationEventInline(VenueScopedInline, admin.TabularInline):
    model = ReservationEvent
    venue_path = "reservation__space__venue"
    parent_venue_path = "space__venue"
    change_power = None
    extra = 0
    can_delete = False
    fields = ["at", "kind", "actor", "what", "details"]
    readonly_fields = fields
    verbose_name_plural = _("history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reservation__space__venue")

    @admin.display(description=_("what happened"))
    def what(self, event):
        """The guest's page's words for it (reservations.wording.history_words): "19:00 → 19:30"."""
        return history_words(event, event.reservation.space.venue) if event.pk else ""


class ReservationAdminForm(forms.ModelForm):
    """Validates by asking the booking service to make the change; its refusal is a form error.

    Times are the venue's wall times (the page says which zone). A booking for a guest by phone or at
    the door names the guest by e-mail address (an account is made when there is none); superusers
    may also pick an existing account. The guest of a booking is not changed here."""

    guest_email = forms.EmailField(label=_("guest's e-mail address"), required=False)
    guest_name = forms.CharField(label=_("guest's name"), max_length=150, required=False)
    guest_phone = forms.CharField(label=_("guest's phone"), max_length=phones.MAX_TYPED_LENGTH, required=False)
    # As typed ("020 7946 0000"): longer than the E.164 kept; accounts.phones reads and checks it.
    contact_phone = forms.CharField(
        label=_("phone for the booking"),
        max_length=phones.MAX_TYPED_LENGTH,
        required=False,
        help_text=_("Empty: the account's phone. With its country code, or as dialled."),
    )

    class Meta:
        model = Reservation
        fields = ["guest", "space", "starts_at", "ends_at", "party_size", "notes", "contact_name", "contact_phone"]
        help_texts = {
            "contact_name": _("Who the booking is for, when not the account's guest. Empty: the account's name."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.contact_phone and not self.is_bound:
            self.initial["contact_phone"] = phones.display(self.instance.contact_phone)

    def clean_guest_phone(self):
        return phones.normalise(self.cleaned_data.get("guest_phone", ""))

    def clean_contact_phone(self):
        return phones.normalise(self.cleaned_data.get("contact_phone", ""))

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        venue = cleaned["space"].venue
        starts_at = local_wall_time(cleaned["starts_at"], venue)
        ends_at = local_wall_time(cleaned["ends_at"], venue)
        try:
            if self.instance.pk:
                # The same first space keeps the booking's tables (a combination stays combined).
                moved = cleaned["space"] if cleaned["space"].pk != self.instance.space_id else None
                self.result = services.reservation_modify(
                    reservation=self.instance,
                    actor=self.actor,
                    space=moved,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    party_size=cleaned["party_size"],
                    notes=cleaned["notes"],
                    contact_name=cleaned.get("contact_name", ""),
                    contact_phone=cleaned.get("contact_phone", ""),
                )
            else:
                guest = cleaned.get("guest")
                if guest is None and cleaned.get("guest_email"):
                    guest = guest_for_booking(
                        email=cleaned["guest_email"],
                        name=cleaned.get("guest_name", ""),
                        phone=cleaned.get("guest_phone", ""),
                    )
                if guest is None:
                    raise forms.ValidationError({"guest_email": _("Choose the guest the booking is for.")})
                self.result = services.reservation_book(
                    guest=guest,
                    actor=self.actor,
                    space=cleaned["space"],
                    starts_at=starts_at,
                    ends_at=ends_at,
                    party_size=cleaned["party_size"],
                    notes=cleaned["notes"],
                    contact_name=" ".join(cleaned.get("contact_name", "").split()),
                    contact_phone=cleaned.get("contact_phone", ""),
                )
        except BookingError as error:
            field = error.field if error.field in self.fields else None
            raise forms.ValidationError({field: error.message} if field else error.message) from error
        except TwoFactorRequired as error:
            raise forms.ValidationError(error.message) from error
        return cleaned

    def _post_clean(self):
        # The service already validated and saved; Django's own constraint check would re-read
        # the row we just wrote and see it as a clash with itself.
        pass


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Sent to the guest with the cancellation."),
    )


@admin.register(Reservation)
class ReservationAdmin(VenueScoped, VenueTimeZoneAdmin, admin.ModelAdmin):
    """Hosts and managers of a venue see and change its bookings and book for guests; only managers
    export them. Times are shown and taken in the venue's zone."""

    venue_path = "space__venue"
    view_power = Power.VIEW_BOOKINGS
    change_power = Power.CHANGE_BOOKINGS
    add_power = Power.BOOK_FOR_GUESTS
    form = ReservationAdminForm
    list_display = [
        "reference",
        "venue_name",
        "tables",
        "local_start",
        "party_size",
        "status",
        "who",
        "guest_email",
        "phone",
    ]
    list_filter = [
        "status",
        ("space__venue", admin.RelatedOnlyFieldListFilter),
        ("space", admin.RelatedOnlyFieldListFilter),
        "starts_at",
    ]
    list_select_related = ["space__venue", "guest"]
    date_hierarchy = "starts_at"
    search_fields = ["reference", "guest__email", "guest__name", "contact_name", "contact_phone", "guest__phone"]
    ordering = ["-starts_at"]
    inlines = [ReservationEventInline]
    # Inlines the apps above add to every reservation's page (payments: its payments), shown before
    # the history. Added with add_reservation_inline() from their own admin module.
    extra_inlines: list = []
    actions = ["cancel_selected", "mark_arrived", "mark_seated", "mark_no_show", "export_selected_csv"]
    # Adds "Export these as CSV" beside "Add": exactly the reservations the filters and search show.
    change_list_template = "reservations/staff/admin/reservation_change_list.html"
    readonly_fields = [
        "reference",
        "status",
        "hold_expires_at",
        "price",
        "currency",
        "created_at",
        "updated_at",
        "cancelled_at",
        "cancelled_by",
        "cancellation_reason",
        "arrived_at",
        "seated_at",
    ]
    raw_id_fields = ["guest"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("claims__space")  # every table (tables)

    @admin.display(description=_("space"), ordering="space__name")
    def tables(self, obj):
        return obj.spaces_words

    @admin.display(description=_("venue"), ordering="space__venue__name")
    def venue_name(self, obj):
        return obj.space.venue.name

    @admin.display(description=_("starts (venue's time)"), ordering="starts_at")
    def local_start(self, obj):
        return f"{obj.local_starts_at:%a %d %b %Y %H:%M} ({obj.space.venue.time_zone})"

    # The name the booking is under: its own (booked for someone else), else the account's.
    @admin.display(description=_("name"), ordering=Coalesce(NullIf("contact_name", Value("")), "guest__name"))
    def who(self, obj):
        return obj.who or ("—" if obj.guest_id else _("(removed)"))

    @admin.display(description=_("e-mail"), ordering="guest__email")
    def guest_email(self, obj):
        return obj.guest.email if obj.guest_id else ""

    @admin.display(description=_("phone"))
    def phone(self, obj):
        return phones.display(obj.phone)

    def get_inlines(self, request, obj):
        return [*self.extra_inlines, *super().get_inlines(request, obj)]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user
        for name in ("starts_at", "ends_at"):
            if name in form.base_fields:
                form.base_fields[name].help_text = (
                    _("In %(zone)s.") % {"zone": obj.space.venue.time_zone} if obj else _("In the venue's time zone.")
                )
        return form

    def get_fields(self, request, obj=None):
        booking = ["space", "starts_at", "ends_at", "party_size", "notes", "contact_name", "contact_phone"]
        if obj is not None:  # the guest is who the booking is for: not changed here
            return ["guest_summary", *booking, *self.readonly_fields]
        guest = ["guest_email", "guest_name", "guest_phone"]
        # Picking any account by id is for superusers; the venue's staff name the guest by e-mail.
        return (["guest", *guest] if request.user.is_superuser else guest) + booking

    def get_readonly_fields(self, request, obj=None):
        return ["guest_summary", *self.readonly_fields] if obj is not None else []

    @admin.display(description=_("guest"))
    def guest_summary(self, obj):
        guest = obj.guest
        if guest is None:
            return _("(removed)")
        return " · ".join(part for part in (guest.name, guest.email, phones.display(guest.phone)) if part)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with transaction.atomic():
            response = super().changeform_view(request, object_id, form_url, extra_context)  # in the venue's zone
            context = getattr(response, "context_data", None) or {}
            if request.method == "POST" and context.get("errors"):
                # The form booked through the service while validating; when something else on the
                # page was invalid (the inline's management form) the page is shown again with
                # errors, so that booking must not be kept.
                transaction.set_rollback(True)
        return response

    def save_form(self, request, form, change):
        return form.result  # saved by the booking service during validation

    def save_model(self, request, obj, form, change):
        pass

    def save_related(self, request, form, formsets, change):
        # The default first calls form.save_m2m(), which exists only after form.save(commit=False);
        # the service saved instead and there are no many-to-many fields. The (read-only) history
        # formset is still "saved", as the change message reads what it did.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def has_delete_permission(self, request, obj=None):
        return False  # cancel instead: the history and the guest's e-mail depend on it

    def has_export_permission(self, request):
        return self._allowed(request, Power.EXPORT)

    def get_urls(self):
        return [
            path("cancel/", self.admin_site.admin_view(self.cancel_view), name="reservations_reservation_cancel"),
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_csv_view),
                name="reservations_reservation_export_csv",
            ),
            *super().get_urls(),
        ]

    @admin.action(description=_("Cancel selected reservations (asks for a reason)"), permissions=["change"])
    def cancel_selected(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return redirect(f"{reverse('admin:reservations_reservation_cancel')}?ids={ids}")

    def cancel_view(self, request):
        # admin_view() only checks is_staff: a clerk who may merely view reservations must not cancel.
        if not self.has_change_permission(request):
            raise PermissionDenied
        ids = [int(pk) for pk in request.GET.get("ids", "").split(",") if pk.isdigit()]
        reservations = list(self.get_queryset(request).filter(pk__in=ids).select_related("space__venue", "guest"))
        form = CancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            done = 0
            for reservation in reservations:
                try:
                    services.reservation_cancel(
                        reservation=reservation, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                    done += 1
                except BookingError as error:
                    self.message_user(request, f"{reservation.reference}: {error}", messages.ERROR)
            # Translators: both forms read "reservation(s)" in English, as before.
            self.message_user(
                request,
                ngettext("Cancelled %(count)s reservation(s).", "Cancelled %(count)s reservation(s).", done)
                % {"count": done},
                messages.SUCCESS,
            )
            return redirect("admin:reservations_reservation_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Cancel reservations"),
            "reservations": reservations,
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/reservations/cancel.html", context)

    def _mark(self, request, queryset, service, done_words):
        done = 0
        for reservation in queryset:
            try:
                service(reservation=reservation, actor=request.user)
                done += 1
            except BookingError as error:
                self.message_user(request, f"{reservation.reference}: {error}", messages.ERROR)
        self.message_user(request, done_words(done) % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Mark selected as arrived"), permissions=["change"])
    def mark_arrived(self, request, queryset):
        self._mark(
            request,
            queryset,
            services.reservation_mark_arrived,
            lambda n: ngettext(
                "Marked %(count)s reservation(s) as arrived.", "Marked %(count)s reservation(s) as arrived.", n
            ),
        )

    @admin.action(description=_("Mark selected as seated"), permissions=["change"])
    def mark_seated(self, request, queryset):
        self._mark(
            request,
            queryset,
            services.reservation_mark_seated,
            lambda n: ngettext(
                "Marked %(count)s reservation(s) as seated.", "Marked %(count)s reservation(s) as seated.", n
            ),
        )

    @admin.action(description=_("Mark selected as no-show"), permissions=["change"])
    def mark_no_show(self, request, queryset):
        self._mark(
            request,
            queryset,
            services.reservation_mark_no_show,
            lambda n: ngettext(
                "Marked %(count)s reservation(s) as no-show.", "Marked %(count)s reservation(s) as no-show.", n
            ),
        )

    @admin.action(description=_("Export selected as CSV"), permissions=["export"])
    def export_selected_csv(self, request, queryset):
        return reservations_csv_response(self._exportable(request, queryset))

    def _exportable(self, request, queryset):
        """What the user may export of `queryset`, read from the replica when there is one (exports
        tolerate a few seconds' lag; core/replica.py)."""
        ids = powers.venue_ids(request.user, Power.EXPORT)
        queryset = queryset.using(lag_tolerant())
        return queryset if ids is None else queryset.filter(space__venue_id__in=ids)

    def export_csv_view(self, request):
        """The changelist as CSV: same filters, search and ordering (same query string), every page."""
        if not self.has_export_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            self.message_user(request, _("Those filters are not valid; nothing was exported."), messages.ERROR)
            return redirect("admin:reservations_reservation_changelist")
        return reservations_csv_response(self._exportable(request, changelist.queryset))


def add_reservation_inline(inline) -> None:
    """For an app above reservations (payments) to show its rows on each reservation's admin page,
    without reservations importing it."""
    if inline not in ReservationAdmin.extra_inlines:
        ReservationAdmin.extra_inlines.append(inline)


@admin.register(OutgoingMessage)
class OutgoingMessageAdmin(VenueScoped, admin.ModelAdmin):
    """The venue's staff see its e-mails and text messages to guests, whether they went out (a text's
    status as the provider last reported it, and the provider's id to look it up there), and can send
    one again."""

    venue_path = "reservation__space__venue"

    list_display = [
        "created_at",
        "kind",
        "channel",
        "recipient",
        "reservation",
        "status",
        "provider_status",
        "attempts",
        "sent_at",
        "short_error",
    ]
    list_filter = ["status", "channel", "kind", "provider_status"]
    list_select_related = ["reservation"]
    search_fields = ["to_email", "to_phone", "provider_id", "reservation__reference"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in OutgoingMessage._meta.fields]
    actions = ["resend_selected"]

    @admin.display(description=_("to"), ordering="to_email")
    def recipient(self, obj):
        return obj.to_email or phones.display(obj.to_phone)

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return obj.last_error[:80]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Nothing on the page can be edited; "change" is what the resend action needs.
        return super().has_change_permission(request, obj) and obj is None

    @admin.action(description=_("Send selected messages again"), permissions=["change"])
    def resend_selected(self, request, queryset):
        for message in queryset:
            notifications.resend(message)
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "Queued %(count)s message(s) to be sent again.", "Queued %(count)s message(s) to be sent again.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )


def _ahead_in_line():
    """How many of the venue's day wait before an entry (as place_in_line counts): one subquery."""
    ahead = WaitlistEntry.objects.filter(
        venue=OuterRef("venue"),
        day=OuterRef("day"),
        status=WaitlistEntry.Status.WAITING,
        created_at__lt=OuterRef("created_at"),
    )
    return Coalesce(Subquery(ahead.order_by().values("venue").annotate(n=Count("pk")).values("n")), 0)


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(VenueScoped, VenueTimeZoneAdmin, admin.ModelAdmin):
    """The venue's staff see its waitlist: who waits for what, their place in line, and what was offered
    to whom and when. Nothing is edited here: a place is offered out of turn with the action (through
    reservations.services.waitlist), and guests join and leave on their side."""

    venue_path = "venue"
    view_power = Power.VIEW_BOOKINGS
    change_power = Power.CHANGE_BOOKINGS
    list_display = [
        "venue_name",
        "day",
        "window",
        "party_size",
        "guest_words",
        "status",
        "place",
        "local_offered_at",
        "offer_link",
        "local_created_at",
    ]
    list_filter = ["status", ("venue", admin.RelatedOnlyFieldListFilter), "day"]
    list_select_related = ["venue", "guest", "offer", "space"]
    search_fields = ["guest__email", "guest__name", "offer__reference"]
    ordering = ["-day", "created_at", "pk"]
    readonly_fields = [field.name for field in WaitlistEntry._meta.fields if field.name != "id"]
    actions = ["offer_place_now"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(ahead=_ahead_in_line())

    @admin.display(description=_("venue"), ordering="venue__name")
    def venue_name(self, obj):
        return obj.venue.name

    @admin.display(description=_("wish"))
    def window(self, obj):
        if obj.venue.uses_nights:
            when = ngettext("%(count)s night", "%(count)s nights", obj.nights) % {"count": obj.nights}
        elif obj.earliest == obj.latest:
            when = f"{obj.earliest:%H:%M}"
        else:
            when = f"{obj.earliest:%H:%M}–{obj.latest:%H:%M}"
        where = obj.space.name if obj.space_id else obj.category
        return f"{when}, {where}" if where else when

    @admin.display(description=_("guest"), ordering="guest__email")
    def guest_words(self, obj):
        return " · ".join(part for part in (obj.guest.name, obj.guest.email, obj.guest.phone) if part)

    @admin.display(description=_("place in line"))
    def place(self, obj):
        return obj.ahead + 1 if obj.status == WaitlistEntry.Status.WAITING else "—"

    def _local(self, obj, moment):
        return f"{moment.astimezone(obj.venue.zone):%a %d %b %H:%M}" if moment else "—"

    @admin.display(description=_("offered (venue's time)"), ordering="offered_at")
    def local_offered_at(self, obj):
        return self._local(obj, obj.offered_at)

    @admin.display(description=_("joined (venue's time)"), ordering="created_at")
    def local_created_at(self, obj):
        return self._local(obj, obj.created_at)

    @admin.display(description=_("offer"), ordering="offer__reference")
    def offer_link(self, obj):
        if obj.offer is None:
            return "—"
        url = reverse("admin:reservations_reservation_change", args=[obj.offer.pk])
        return format_html('<a href="{}">{}</a> ({})', url, obj.offer.reference, obj.offer.get_status_display())

    def has_add_permission(self, request):
        return False  # guests join the line themselves

    def has_delete_permission(self, request, obj=None):
        return False  # the history of who was offered what stays

    def has_change_permission(self, request, obj=None):
        # Nothing on the page can be edited; "change" is what the action needs.
        return super().has_change_permission(request, obj) and obj is None

    @admin.action(description=_("Offer a place now"), permissions=["change"])
    def offer_place_now(self, request, queryset):
        for entry in queryset.order_by("created_at", "pk"):
            try:
                offered = waitlist_offer_now(entry=entry, actor=request.user)
            except (BookingError, TwoFactorRequired) as error:
                self.message_user(request, f"{entry}: {error.message}", messages.WARNING)
            else:
                self.message_user(
                    request,
                    _("%(entry)s: offered %(offer)s.") % {"entry": entry, "offer": offer_words(offered)},
                    messages.SUCCESS,
                )


# ---------------------------------------------------------------------------------------------
# Calendar sync with the booking channels


class StaleFilter(admin.SimpleListFilter):
    title = _("sync")
    parameter_name = "stale"

    def lookups(self, request, model_admin):
        return [("yes", _("stale (not synced for an hour)")), ("error", _("last attempt failed"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=[feed.pk for feed in queryset if feed.is_stale()])
        if self.value() == "error":
            return queryset.exclude(last_error="")
        return queryset


class BlockInline(VenueScopedInline, admin.TabularInline):
    model = Block
    venue_path = "space__venue"
    parent_venue_path = "space__venue"
    view_power = Power.VIEW_BOOKINGS
    change_power = None
    extra = 0
    can_delete = False
    fields = ["starts_on", "ends_on", "summary", "key", "conflicts", "resolved_at"]
    readonly_fields = fields
    verbose_name_plural = _("blocks (the nights the channel sold)")


@admin.register(CalendarFeed)
class CalendarFeedAdmin(VenueScoped, admin.ModelAdmin):
    """A room's calendars on the booking channels. Managers add a channel's export URL here; every
    HOLDFAST_CALENDAR_SYNC_MINUTES the worker fetches it and blocks the nights it sold. The list says
    when each last synced, and which are stale or failing."""

    venue_path = "space__venue"
    view_power = Power.VIEW_BOOKINGS
    change_power = Power.MANAGE_VENUE
    delete_power = Power.MANAGE_VENUE
    list_display = ["name", "room", "venue_name", "sync_state", "local_last_success", "events", "last_error"]
    list_filter = [StaleFilter, "is_active", ("space__venue", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["space__venue"]
    search_fields = ["name", "url", "space__name"]
    fields = [
        "space",
        "name",
        "url",
        "is_active",
        "last_attempt_at",
        "last_success_at",
        "last_error",
        "notes",
        "events",
    ]
    readonly_fields = ["last_attempt_at", "last_success_at", "last_error", "notes", "events"]
    inlines = [BlockInline]
    actions = ["sync_now"]
    formfield_overrides = {URLField: {"assume_scheme": "https"}}

    @admin.display(description=_("room"), ordering="space__name")
    def room(self, obj):
        return obj.space.name

    @admin.display(description=_("venue"), ordering="space__venue__name")
    def venue_name(self, obj):
        return obj.space.venue.name

    @admin.display(description=_("state"))
    def sync_state(self, obj):
        if not obj.is_active:
            return _("off")
        if obj.is_stale():
            return format_html('<strong style="color:#b00">{}</strong>', _("stale"))
        if obj.last_error:
            return _("failing")
        return _("in sync") if obj.last_success_at else _("not synced yet")

    @admin.display(description=_("last success (venue's time)"), ordering="last_success_at")
    def local_last_success(self, obj):
        moment = obj.last_success_at
        return f"{moment.astimezone(obj.space.venue.zone):%a %d %b %H:%M}" if moment else "—"

    def save_model(self, request, obj, form, change):
        if change and {"url", "space"} & set(form.changed_data):
            obj.etag = obj.last_modified = ""  # another calendar now: fetch it whole
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Sync now"), permissions=["change"])
    def sync_now(self, request, queryset):
        for feed in queryset.select_related("space__venue"):
            result = channels.sync_feed(feed)
            self.message_user(request, str(result), messages.SUCCESS if result.ok else messages.WARNING)


class OpenConflictFilter(admin.SimpleListFilter):
    title = _("conflict")
    parameter_name = "conflict"

    def lookups(self, request, model_admin):
        return [("open", _("open conflicts")), ("resolved", _("resolved")), ("none", _("no conflict"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.exclude(conflicts=[]).filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        if self.value() == "none":
            return queryset.filter(conflicts=[])
        return queryset


@admin.register(Block)
class BlockAdmin(VenueScoped, admin.ModelAdmin):
    """The nights the channels sold, room by room. A block whose nights one of our confirmed bookings
    has is a conflict: the booking stays, the managers were e-mailed, and the block is listed under
    "open conflicts" until a manager marks it resolved (or the booking moves, and the next sync takes
    the nights). Blocks are the feeds' to change: delete or fix the event on the channel."""

    venue_path = "space__venue"
    view_power = Power.VIEW_BOOKINGS
    change_power = Power.MANAGE_VENUE
    list_display = ["room", "feed", "starts_on", "ends_on", "summary", "conflict_words", "resolved_at"]
    list_filter = [OpenConflictFilter, ("space__venue", admin.RelatedOnlyFieldListFilter), "feed"]
    list_select_related = ["space__venue", "feed"]
    search_fields = ["space__name", "summary", "key"]
    ordering = ["starts_on", "pk"]
    readonly_fields = [field.name for field in Block._meta.fields if field.name != "id"]
    actions = ["mark_resolved"]

    @admin.display(description=_("room"), ordering="space__name")
    def room(self, obj):
        return obj.space.name

    @admin.display(description=_("our bookings on these nights"))
    def conflict_words(self, obj):
        if not obj.conflicts:
            return "—"
        links = format_html_join(
            ", ",
            '<a href="{}?q={}">{}</a>',
            (
                (reverse("admin:reservations_reservation_changelist"), conflict["reference"], conflict["reference"])
                for conflict in obj.conflicts
            ),
        )
        state = _("resolved") if obj.resolved_at else _("open")
        return format_html("{} ({})", links, state)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and obj is None  # only the action

    @admin.action(description=_("Mark the conflict resolved"), permissions=["change"])
    def mark_resolved(self, request, queryset):
        for block in queryset:
            try:
                channels.conflict_resolve(block=block, actor=request.user)
            except (BookingError, TwoFactorRequired) as error:
                self.message_user(request, f"{block}: {error.message}", messages.WARNING)
            else:
                self.message_user(request, _("%(block)s: resolved.") % {"block": block}, messages.SUCCESS)


from reservations import webhook_admin  # noqa: E402, F401  (partners' webhooks: endpoints, deliveries)
