"""Email backends of the project."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class OutboxFolderBackend(BaseEmailBackend):
    """Write each message as one ``.eml`` file to ``settings.EMAIL_OUTBOX_DIR``.

    The embedded default: no mail server is needed, and any mail client opens the files. Each file is
    written to a temporary name and renamed, so a reader never sees half a message.
    """

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.directory = Path(settings.EMAIL_OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
            final = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            partial = final.with_suffix(".part")
            try:
                partial.write_bytes(message.message().as_bytes())
                os.replace(partial, final)
            except OSError:
                if not self.fail_silently:
                    raise
                continue
            sent += 1
        return sent
