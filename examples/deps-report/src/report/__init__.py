"""report: a WSGI application that reports on its own dependencies."""
