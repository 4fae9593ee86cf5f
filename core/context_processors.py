def csp_nonce(request):
    """The request's Content-Security-Policy nonce as `csp_nonce`, the name django-htmx's {% htmx_script %}
    (and Django 6's own CSP support) read. Lazy: only a page that uses it puts a nonce in the header."""
    return {"csp_nonce": getattr(request, "csp_nonce", None)}
