"""pyapp_tools: the command lines of pyapp: ``pyapp``, ``pyapp-build`` and ``pyapp-ctl``.

``pyapp`` (:mod:`pyapp_tools.cli`) builds, checks and runs packages and manages the
apps of this host; ``pyapp-build`` (:mod:`pyapp_tools.building.cli`) builds a ``.pyapp``;
``pyapp-ctl`` (:mod:`pyapp_tools.ctl.cli`) drives a management server through its API
(the server's own command line, ``pyapp-server``, is :mod:`pyapp_server.cli`).

The commands only parse input, call :mod:`apppackage`, :mod:`pyapp_runtime` or the
server's API, and format output; behaviour lives in those libraries and in this
package's own library modules.
"""

__all__: list[str] = []
