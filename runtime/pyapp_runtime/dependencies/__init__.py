"""An app's dependencies on a host: what the package requires of the host (section 3.3), which
bundled wheel provides each distribution and where it goes (section 3.5), installing wheels."""
