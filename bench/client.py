"""A minimal asyncio HTTP/1.1 client: enough for loopback benchmarks, nothing more.

It keeps a connection open when the server allows it and reconnects when the server says
`Connection: close` (gunicorn's sync workers, the production setting, close after each answer).
No TLS, no redirects followed, no cookie jar: the load scenarios send the cookies they mean to.
"""

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        values = self.headers.get(name.lower())
        return values[0] if values else default


class Connection:
    def __init__(self, host: str, port: int, *, timeout: float = 120.0):
        self.host, self.port, self.timeout = host, port, timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.connects = 0

    async def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""):
        reused = self._writer is not None
        if not reused:
            await self._connect()
        try:
            return await asyncio.wait_for(self._exchange(method, path, headers or {}, body), self.timeout)
        except (ConnectionError, asyncio.IncompleteReadError, _ClosedBeforeAnswer):
            await self.close()
            if not reused:
                raise
        # A kept-alive connection the server had already closed: nothing was answered, so sending the
        # request once more on a new connection cannot apply it twice (what browsers do, too).
        await self._connect()
        return await asyncio.wait_for(self._exchange(method, path, headers or {}, body), self.timeout)

    async def _connect(self):
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self.connects += 1

    async def _exchange(self, method, path, headers, body) -> Response:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self._writer.drain()

        status_line = await self._reader.readline()
        if not status_line:
            raise _ClosedBeforeAnswer
        version, status = status_line.split(b" ", 2)[:2]
        response = Response(int(status))
        while True:
            line = await self._reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            response.headers.setdefault(name.strip().lower(), []).append(value.strip())

        if "content-length" in response.headers:
            response.body = await self._reader.readexactly(int(response.header("content-length")))
        elif "chunked" in response.header("transfer-encoding").lower():
            response.body = await self._read_chunked()
        elif method == "HEAD" or response.status in (204, 304):
            response.body = b""
        else:
            response.body = await self._reader.read()  # until the server closes
            await self.close()
            return response

        keep_alive = version == b"HTTP/1.1" and response.header("connection").lower() != "close"
        if not keep_alive:
            await self.close()
        return response

    async def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self._reader.readline()).split(b";")[0].strip(), 16)
            if size == 0:
                while (await self._reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    async def close(self):
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


class _ClosedBeforeAnswer(Exception):
    pass
