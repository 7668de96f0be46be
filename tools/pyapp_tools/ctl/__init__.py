"""``pyapp-ctl``: driving a pyapp management server through its JSON API, locally or remotely."""
