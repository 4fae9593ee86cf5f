from django.shortcuts import get_object_or_404, render

from spaces.models import Venue


def venue_detail(request, slug):
    venue = get_object_or_404(Venue.objects.prefetch_related("opening_hours"), slug=slug, is_active=True)
    spaces = venue.spaces.filter(is_active=True)
    return render(request, "spaces/venue_detail.html", {"venue": venue, "spaces": spaces})
