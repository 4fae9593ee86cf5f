"""`make run`: a developer's machine."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
# The demo's Harbour Inn syncs a channel calendar that this site serves itself (/demo/channel.ics).
HOLDFAST_CALENDAR_ALLOW_PRIVATE = env.bool("HOLDFAST_CALENDAR_ALLOW_PRIVATE", default=True)
HOLDFAST_DEMO_CHANNEL = env.bool("HOLDFAST_DEMO_CHANNEL", default=True)
