"""The one error a channel raises when an alert could not be delivered."""

from __future__ import annotations


class DeliveryError(Exception):
    """Delivery failed; ``permanent`` says whether trying again could help.

    Retryable: network errors, timeouts, HTTP 5xx, 408 and 429, SMTP 4xx.
    Permanent: any other HTTP 4xx, a redirect, a refused address (SSRF guard),
    SMTP 5xx, a channel that is not configured. ``retry_after`` is the delay the
    receiver asked for (``Retry-After``), in seconds, when it named one.
    """

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message


class RefusedAddressError(DeliveryError):
    """The URL resolves to an address alerts may not be sent to (private, loopback, …)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)
