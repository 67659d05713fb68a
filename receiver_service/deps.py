"""Named dependencies for the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from receiver_service.receiver import Receiver


def get_receiver(request: Request) -> Receiver:
    return request.app.state.receiver


ReceiverDep = Annotated[Receiver, Depends(get_receiver)]
