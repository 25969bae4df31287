"""A closed-loop HTTP load generator: N clients, one keep-alive connection each.

Each client sends a request, waits for its answer and sends the next one, like a handheld
whose operator scans as fast as the server answers. Two HTTP clients are available: a
minimal HTTP/1.1 keep-alive protocol on asyncio, the default because it spends less than half
the CPU per request that aiohttp does (0.14 against 0.35 ms measured here), leaving that CPU
to the server on a 2-core machine; and aiohttp, kept for comparison (`--http-client aiohttp`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

import aiohttp

from backend.bench.stats import RunStats

__all__ = [
    "HTTP_CLIENTS",
    "BenchRequest",
    "HttpConnection",
    "RawConnection",
    "open_connection",
    "run_closed_loop",
]

HTTP_CLIENTS = ("raw", "aiohttp")


@dataclass(slots=True)
class BenchRequest:
    """One request a client sends next, and what to do with its answer."""

    path: str
    body: bytes
    kind: str
    """Label to count successes by ("receipt", "move")."""

    expect: int = 201
    done: Callable[[int], None] | None = None
    """Called with the status once the answer is in (e.g. to flip a move's direction)."""


class HttpConnection(Protocol):
    async def post(self, path: str, body: bytes) -> tuple[int, bytes]: ...

    async def close(self) -> None: ...


class _ResponseReader(asyncio.Protocol):
    """Collects bytes until one HTTP/1.1 response with a Content-Length is complete."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False
        self._body_start = -1
        self._end = -1
        self._status = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None:
            self._try_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("the server closed the connection"))

    def _try_complete(self) -> None:
        buffer = self.buffer
        if self._body_start < 0:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = bytes(buffer[:head_end]).lower()
            self._status = int(head[9:12])
            marker = head.find(b"\r\ncontent-length:")
            if marker < 0:
                assert self.waiter is not None
                self.waiter.set_exception(
                    ConnectionError("response without Content-Length (chunked is not supported)")
                )
                return
            line_end = head.find(b"\r\n", marker + 2)
            length = int(head[marker + 17 : line_end if line_end > 0 else len(head)])
            self._body_start = head_end + 4
            self._end = self._body_start + length
        if len(buffer) >= self._end:
            body = bytes(buffer[self._body_start : self._end])
            del buffer[: self._end]
            self._body_start = self._end = -1
            assert self.waiter is not None
            self.waiter.set_result((self._status, body))


class RawConnection:
    """One HTTP/1.1 keep-alive connection that POSTs JSON with a fixed set of headers."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host = host
        self.port = port
        self.prefix = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.prefix += f"Host: {host}:{port}\r\nContent-Type: application/json\r\n"
        self.reader: _ResponseReader | None = None

    async def _connect(self) -> _ResponseReader:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_ResponseReader, self.host, self.port)
        return protocol

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        reader = self.reader
        if reader is None or reader.closed:
            reader = self.reader = await self._connect()
        assert reader.transport is not None
        waiter: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        reader.waiter = waiter
        reader.transport.write(
            f"POST {path} HTTP/1.1\r\n{self.prefix}Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        try:
            return await waiter
        finally:
            reader.waiter = None

    async def close(self) -> None:
        if self.reader is not None and self.reader.transport is not None:
            self.reader.transport.close()
        self.reader = None


class AiohttpConnection:
    """The same through an aiohttp session limited to one keep-alive connection."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.base = f"http://{host}:{port}"
        self.headers = {**headers, "Content-Type": "application/json"}
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1), headers=self.headers
        )

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        async with self.session.post(self.base + path, data=body) as response:
            return response.status, await response.read()

    async def close(self) -> None:
        await self.session.close()


def open_connection(kind: str, host: str, port: int, headers: dict[str, str]) -> HttpConnection:
    """A connection of the client `kind` ("raw" or "aiohttp")."""
    if kind == "raw":
        return RawConnection(host, port, headers)
    if kind == "aiohttp":
        return AiohttpConnection(host, port, headers)
    raise ValueError(f"unknown HTTP client {kind!r}; choose from {', '.join(HTTP_CLIENTS)}")


async def run_closed_loop(
    connections: list[HttpConnection],
    next_request: Callable[[int], BenchRequest],
    *,
    warmup_s: float,
    duration_s: float,
    on_error: Callable[[BenchRequest, int, bytes], None] | None = None,
    rate_per_s: float | None = None,
) -> RunStats:
    """Drive every connection; measure after the warm-up.

    Without `rate_per_s` each client sends its next request as soon as the last is answered
    (closed loop: the server's saturation throughput). With it, the clients together offer
    that many requests a second on a fixed schedule, and a request's latency counts from
    when it was due, not from when a busy client got round to sending it, so a slow answer
    is not hidden by the requests it delayed (coordinated omission).

    Closed loop: only requests started and finished inside the measurement window count,
    so the warm-up and the requests still in flight at the end do not skew the numbers.
    Paced: every request due inside the window counts, however late it finishes; a client
    still behind one window-length after the window closes stops, and what it never sent
    is counted as `unsent`.
    """
    stats = RunStats(duration_s=duration_s)
    clock = time.perf_counter
    start = clock() + warmup_s
    stop = start + duration_s
    latencies = stats.latencies_ms
    statuses = stats.statuses
    by_kind = stats.by_kind

    interval = len(connections) / rate_per_s if rate_per_s else 0.0

    async def client(index: int) -> None:
        connection = connections[index]
        due = clock() + interval * index / max(1, len(connections))
        while True:
            if interval:
                if due >= stop:
                    return
                if clock() >= stop + duration_s:
                    stats.unsent += int((stop - max(due, start)) / interval) + 1
                    return
                wait = due - clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                began = due
                due += interval
            else:
                began = clock()
                if began >= stop:
                    return
            request = next_request(index)
            try:
                status, body = await connection.post(request.path, request.body)
            except (OSError, ConnectionError):
                if began >= start:
                    statuses["transport"] += 1
                await asyncio.sleep(0.01)
                continue
            ended = clock()
            if request.done is not None:
                request.done(status)
            if began >= start and (interval or ended <= stop):
                latencies.append((ended - began) * 1000.0)
                statuses[str(status)] += 1
                if status == request.expect:
                    stats.successes += 1
                    by_kind[request.kind] += 1
                elif on_error is not None:
                    on_error(request, status, body)

    await asyncio.gather(*(client(index) for index in range(len(connections))))
    return stats
