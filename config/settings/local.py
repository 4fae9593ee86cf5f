"""`make run`: a developer's machine."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
# The demo's Harbour Inn syncs a channel calendar that this site serves itself (/demo/channel.ics).
HOLDFAST_CALENDAR_ALLOW_PRIVATE = env.bool("HOLDFAST_CALENDAR_ALLOW_PRIVATE", default=True)
HOLDFAST_DEMO_CHANNEL = env.bool("HOLDFAST_DEMO_CHANNEL", default=True)
# A partner's test server on this machine, on plain http (production: https and public addresses only).
HOLDFAST_WEBHOOK_ALLOW_HTTP = env.bool("HOLDFAST_WEBHOOK_ALLOW_HTTP", default=True)
HOLDFAST_WEBHOOK_ALLOW_PRIVATE = env.bool("HOLDFAST_WEBHOOK_ALLOW_PRIVATE", default=True)
# Text messages are printed in the terminal (core/sms.py ConsoleProvider), like the e-mails.
HOLDFAST_SMS_PROVIDER = env("HOLDFAST_SMS_PROVIDER", default="console")
