"""The HTTP service and its page: ``fakevoice serve RUN`` (needs the ``serve`` extra)."""
