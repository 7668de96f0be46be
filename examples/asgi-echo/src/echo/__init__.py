"""asgi-echo: a plain ASGI application with no dependencies (see ``echo.app``)."""
