"""Connections that take too long to say what they want are closed: a client gets `header_seconds` from connecting (or
from the end of its previous answer, on a kept-alive connection) to send a request's headers, however slowly it
trickles them, so a slow-headers client (slowloris) cannot hold connections open. Bodies have their own limit in
app._body."""
from __future__ import annotations

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_SECONDS = 10.0


def header_deadline_protocol(header_seconds: float = HEADER_SECONDS) -> type:
    """An uvicorn HTTP protocol class that closes a connection whose request headers have not arrived in time."""

    class HeaderDeadline(H11Protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            self._waiting_for = self.cycle  # a new cycle appears once the next request's headers are complete
            self._deadline = self.loop.call_later(header_seconds, self._expire)

        def _disarm(self) -> None:
            deadline = getattr(self, "_deadline", None)
            if deadline is not None:
                deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if self.cycle is self._waiting_for and not self.transport.is_closing():
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not self._waiting_for:
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._disarm()
                self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderDeadline
