"""Twilio's webhooks: how our text messages fared (status callbacks) and guests' replies (STOP, START).

Both are signed by Twilio (X-Twilio-Signature over our public URL, SITE_URL + the path, and the POST
parameters; core.sms.twilio_request_is_genuine): anything else is 403 and changes nothing. Input that is
not what Twilio sends is 400 with a line saying what is wrong. What they change is decided in
reservations/sms.py.

Set in Twilio's console: the number's (or the Messaging Service's) "A message comes in" webhook to
SITE_URL/sms/twilio/incoming (HTTP POST). The status callback is passed with every text we send.
"""

import logging
import re

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER
from twilio.twiml.messaging_response import MessagingResponse

from core.sms import twilio_request_is_genuine
from reservations import sms
from reservations.sms import STATUS_RANK

logger = logging.getLogger(__name__)

MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-f]{32}")
ERROR_CODE = re.compile(r"\d{1,6}")


def _genuine(request) -> bool:
    url = settings.SITE_URL.rstrip("/") + request.get_full_path()
    genuine = twilio_request_is_genuine(
        url,
        request.POST,
        request.headers.get(SIGNATURE_HEADER, ""),
        signature_settings=request.headers.get(SIGNATURE_SETTINGS_HEADER, ""),
    )
    if not genuine:
        logger.warning("Refused a Twilio webhook to %s with a missing or wrong signature.", request.path)
    return genuine


@csrf_exempt  # Twilio signs its requests instead; the signature is checked first
@require_POST
def twilio_status(request):
    """A text's progress: queued, sent, delivered (or undelivered, failed with an ErrorCode)."""
    if not _genuine(request):
        return HttpResponseForbidden("invalid signature")
    sid = request.POST.get("MessageSid", "")
    status = request.POST.get("MessageStatus", "")
    error_code = request.POST.get("ErrorCode", "")
    if not MESSAGE_SID.fullmatch(sid):
        return HttpResponseBadRequest("MessageSid: a message SID (SM and 32 hexadecimal digits) is required.")
    if status not in STATUS_RANK:
        return HttpResponseBadRequest(f"MessageStatus: one of {', '.join(sorted(STATUS_RANK))} is required.")
    if error_code and not ERROR_CODE.fullmatch(error_code):
        return HttpResponseBadRequest("ErrorCode: a number is required.")
    # A text we no longer know (its booking purged) or a report older than the last: nothing to change,
    # and nothing for Twilio to retry either.
    changed = sms.record_status(provider_id=sid, status=status, error_code=error_code)
    return HttpResponse("recorded" if changed else "ignored", content_type="text/plain")


@csrf_exempt
@require_POST
def twilio_incoming(request):
    """A guest's reply: STOP (and the other opt-out words) ends texts to the number, START lifts it.
    Answered with empty TwiML: Twilio itself sends the carrier-required confirmation."""
    if not _genuine(request):
        return HttpResponseForbidden("invalid signature")
    phone = sms.textable(request.POST.get("From", ""))
    if not phone:
        return HttpResponseBadRequest("From: the sender's phone number in E.164 (+447400123456) is required.")
    if "Body" not in request.POST:
        return HttpResponseBadRequest("Body: the text of the message is required.")
    outcome = sms.record_reply(
        phone=phone, body=request.POST["Body"][:1600], opt_out_type=request.POST.get("OptOutType", "")
    )
    if outcome:
        logger.info("A text message reply of %s (%s).", outcome.upper(), phone[:-4] + "****")
    return HttpResponse(str(MessagingResponse()), content_type="text/xml")


urlpatterns = [
    path("twilio/status", twilio_status, name="twilio_status"),
    path("twilio/incoming", twilio_incoming, name="twilio_incoming"),
]
