"""``pyapp`` commands that manage the apps installed on this host through :class:`pyapp_runtime.Host`:
install and the lifecycle, processes, services, virtual hosts and mounts."""
