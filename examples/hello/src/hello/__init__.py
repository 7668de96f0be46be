"""hello: the smallest pyapp application."""
