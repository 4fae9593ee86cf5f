"""A safety net for the logs: personal data that slipped into a log line is blanked before it is written.

Our own log calls name ids and references, never what a guest typed. This filter catches what they
do not control: an exception's message (a database error quoting the e-mail address it refused), a
library's warning, and request lines ("GET /path?query HTTP/1.1") whose query string may carry
whatever a guest put in a search or a link. It is wired to the handlers in settings.LOGGING.
"""

import logging
import re

# Deliberately loose: it is better to blank something that only looks like an address.
EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# The query string of a request line as servers log it: "GET /venues/x/?date=... HTTP/1.1".
REQUEST_LINE_QUERY = re.compile(r'("[A-Z]{3,7} [^\s?"]*)\?[^\s"]*')
EMAIL_MARK = "[e-mail]"


def redact(text: str) -> str:
    return REQUEST_LINE_QUERY.sub(r"\1?[query]", EMAIL.sub(EMAIL_MARK, text))


class RedactPersonalData(logging.Filter):
    """Replaces e-mail addresses (and request lines' query strings) in the message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging reports it itself later
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text once it is set, so the traceback is written redacted too.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
