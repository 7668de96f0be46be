"""pyapp_tools."""
