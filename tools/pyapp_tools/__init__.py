"""pyapp_tools: the command lines of pyapp (``pyapp``, ``pyapp-build``).

The commands only parse input, call :mod:`apppackage` or :mod:`pyapp_runtime`, and
format output; behaviour lives in those libraries and in this package's own
library modules.
"""

__all__: list[str] = []
