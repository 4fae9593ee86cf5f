"""A test-only e-mail backend that stops inside `send` until the test lets it go.

For each message it writes a marker `sending-<message id>-<pid>-<n>` (its outbox id, from the
X-Holdfast-Message header) into HOLDFAST_FAULTS_SIGNALS, then waits until the file `release` exists
there, at most RELEASE_TIMEOUT seconds, before handing the messages to Django's file-based backend
(EMAIL_FILE_PATH). A test can thus kill the process at a known point: inside send, before anything
has been handed over.
"""

import itertools
import os
import threading
import time
from pathlib import Path

from django.core.mail.backends import filebased

RELEASE_TIMEOUT = 60
_attempts = itertools.count()


class EmailBackend(filebased.EmailBackend):
    def send_messages(self, email_messages):
        signals = Path(os.environ["HOLDFAST_FAULTS_SIGNALS"])
        for message in email_messages:
            message_id = message.extra_headers.get("X-Holdfast-Message", "unknown")
            marker = signals / f"sending-{message_id}-{os.getpid()}-{next(_attempts)}"
            marker.write_text(f"sending {message_id}\npid {os.getpid()}\n")
        release, pause = signals / "release", threading.Event()
        deadline = time.monotonic() + RELEASE_TIMEOUT
        while not release.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{release} did not appear within {RELEASE_TIMEOUT} s")
            pause.wait(0.05)
        return super().send_messages(email_messages)
