class ErrorDrill(Exception):
    """Raised on purpose by the error drills (POST /api/service/error-drill/)
    to prove from outside that errors reach Sentry; the name is what to look
    for there."""
