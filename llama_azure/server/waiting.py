"""Waiting for a generation while watching for the client to disconnect, and settling its quota
reservation with the tokens really used, however the generation ends."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

from .engine import Generation, GenerationDone
from .quota import Reservation


class GenerationWaiter:
    """Holds the background tasks that settle reservations of generations nobody waits for any more."""

    def __init__(self) -> None:
        self._background: set[asyncio.Task[None]] = set()

    async def result(self, request: Request, generation: Generation, reservation: Reservation) -> GenerationDone | None:
        """The result, or None when the client disconnects first (the generation is then cancelled)."""
        result = asyncio.ensure_future(generation.result())
        disconnect = asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait({result, disconnect}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            disconnect.cancel()
            if not result.done():
                generation.cancel()
                self._settle_later(result, reservation)
        if not result.done():
            return None
        try:
            done: GenerationDone = result.result()
        except BaseException:
            reservation.settle(0)
            raise
        reservation.settle(done.total_tokens)
        return done

    def cancel(self, generation: Generation, reservation: Reservation) -> None:
        """Stops ``generation`` now; its reservation is settled once it has really stopped."""
        generation.cancel()
        self._settle_later(asyncio.ensure_future(generation.result()), reservation)

    def _settle_later(self, result: asyncio.Future[GenerationDone], reservation: Reservation) -> None:
        async def settle() -> None:
            try:
                done = await result
                reservation.settle(done.total_tokens)
            except BaseException:
                reservation.settle(0)

        task = asyncio.ensure_future(settle())
        self._background.add(task)
        task.add_done_callback(self._background.discard)


async def _disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
