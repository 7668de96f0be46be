"""pyapp_runtime."""
