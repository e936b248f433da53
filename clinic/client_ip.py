"""The client's address, for login lockouts (django-axes) and throttles (DRF), behind trusted proxies only.

``X-Forwarded-For`` is read only when ``PROXY_COUNT`` proxies are declared in front of the site: then the
address the outermost trusted proxy saw is taken. Without proxies the header is ignored, so a client
cannot dodge a lockout or a throttle by sending a different one.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = str(request.META.get("REMOTE_ADDR", ""))
    proxies = int(getattr(settings, "PROXY_COUNT", 0))
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies]
