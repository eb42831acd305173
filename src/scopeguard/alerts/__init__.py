"""Alerts: rules evaluated after each sync, an outbox, channels and the dispatcher.

``services.alerts`` (:class:`~scopeguard.alerts.service.AlertService`) is the
entry point; :func:`scopeguard.alerts.email.send_email` sends mail for other
parts (reports); :func:`scopeguard.alerts.log.delivery_log` feeds the panel.
"""

from scopeguard.alerts.errors import DeliveryError, RefusedAddressError

__all__ = ["DeliveryError", "RefusedAddressError"]
