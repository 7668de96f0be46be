"""worker: a job queue in a writable dir, with a WSGI status page, a worker and a JSON API."""
