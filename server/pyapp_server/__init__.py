"""pyapp_server."""
