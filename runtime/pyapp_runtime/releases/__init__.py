"""A release on disk: its immutable directory and the ``current``/``previous`` links, its
``launch.json`` (what its processes start from), and building and verifying it from a package."""
