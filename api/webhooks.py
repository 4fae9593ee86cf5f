"""Webhooks partners send us: Stripe's events (signed; see payments/services/webhook.py)."""

import logging

import stripe
from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.services import handle_webhook

logger = logging.getLogger(__name__)


@csrf_exempt  # Stripe signs its requests instead; the signature is checked below
@require_POST
def stripe_webhook(request):
    try:
        outcome = handle_webhook(request.body, request.headers.get("Stripe-Signature", ""))
    except (ValueError, stripe.SignatureVerificationError):
        logger.warning("Refused a Stripe webhook with a bad or stale signature.")
        return HttpResponseBadRequest("invalid signature")
    return HttpResponse(outcome)


urlpatterns = [path("stripe/webhook/", stripe_webhook, name="stripe_webhook")]
