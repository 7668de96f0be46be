"""The host's virtual hosts and app mounts, applied to its web server (see :mod:`..webservers`)."""
