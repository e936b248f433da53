"""Gunicorn settings of the web process (`gunicorn -c python:clinic.gunicorn_conf clinic.wsgi`).

The access log carries the method, the path and the status, never the query string nor the referrer: an admin
search (``?q=<surname>``) or a query of the API would otherwise put health information into the logs.
"""

accesslog = "-"
# %(U)s is the path without its query string; no %(r)s (the request line), %(q)s or %(f)s (the referrer).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
