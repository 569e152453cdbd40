"""The simulator's links, each one bus: Modbus TCP and RTU-over-TCP listeners, a pty at a path."""

# Requests on one link are served one at a time. A link can go down (listener and connections
# closed, or the pty destroyed) and come up again on the same port or path.

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
import tty
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .hostile import other_unit
from .protocol import RtuSplitter, mbap_frame, rtu_frame

if TYPE_CHECKING:
    from .server import Simulator

log = logging.getLogger("wattlog.sim")
PIECE_S = 0.5  # the rest of a request split over TCP segments may come this late


def rtu_reply(unit: int, pdu: bytes, fault: str | None) -> bytes:
    frame = rtu_frame(other_unit(unit) if fault == "other_unit" else unit, pdu)
    if fault == "bad_crc":
        return frame[:-2] + bytes([frame[-2] ^ 0xFF, frame[-1]])
    if fault == "truncated":
        return frame[:len(frame) // 2]
    return frame


def mbap_reply(tid: int, unit: int, pdu: bytes, fault: str | None) -> bytes:
    if fault == "bad_crc":  # TCP has no CRC: a garbled frame, its byte count longer than its data
        pdu = bytes([pdu[0], (pdu[1] + 2) & 0xFF]) + pdu[2:] if len(pdu) > 2 else pdu[:1]
    frame = mbap_frame(tid, other_unit(unit) if fault == "other_unit" else unit, pdu)
    return frame[:len(frame) // 2] if fault == "truncated" else frame


class Link:
    gateway = False  # answers 0x0B for unknown units when the options ask for it
    endpoint = ""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.bus = asyncio.Lock()

    async def up(self) -> None:
        raise NotImplementedError

    async def down(self) -> None:
        raise NotImplementedError

    async def serve_rtu(self, splitter: RtuSplitter, frames: list[bytes], received: float,
                        send: Callable[[bytes], None]) -> None:
        self.sim.stats.dropped_bytes += splitter.dropped
        splitter.dropped = 0
        for f in frames:
            await self.sim.exchange(self, f[0], f[1:], received, partial(rtu_reply, f[0]), send)


class _Connection(asyncio.StreamReaderProtocol):
    """Streams for a connection's handler; the transport is known to the link from the first
    moment, so a link-down can abort it even before the handler has started."""

    def __init__(self, link: TcpLink) -> None:
        super().__init__(asyncio.StreamReader(), link.client)
        self._link = link
        self._transport_seen: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport_seen = transport
        self._link.transports.add(transport)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._link.transports.discard(self._transport_seen)  # type: ignore[arg-type]
        super().connection_lost(exc)


class TcpLink(Link):
    """A TCP listener speaking Modbus TCP (MBAP) or raw RTU frames."""

    def __init__(self, sim: Simulator, host: str, port: int, rtu: bool) -> None:
        super().__init__(sim)
        self.host, self.port, self.rtu = host, port, rtu
        self.gateway = not rtu
        self._listener: socket.socket | None = None
        self._accepting: dict[asyncio.Task[None], socket.socket] = {}
        self._conns: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self.transports: set[asyncio.BaseTransport] = set()

    async def up(self) -> None:
        if self._listener is not None:
            return
        family = socket.getaddrinfo(self.host or None, self.port, type=socket.SOCK_STREAM,
                                    flags=socket.AI_PASSIVE)[0][0]
        sock = socket.create_server((self.host, self.port), family=family)
        sock.setblocking(False)
        self._listener = sock
        sockname = sock.getsockname()
        self.port = sockname[1]  # port 0 picked one: keep it across link-downs
        host = "127.0.0.1" if sockname[0] == "0.0.0.0" else "::1" if sockname[0] == "::" else sockname[0]
        host = f"[{host}]" if ":" in host else host
        self.endpoint = f"{'rtu+tcp' if self.rtu else 'tcp'}://{host}:{self.port}"
        asyncio.get_running_loop().add_reader(sock.fileno(), self._accept)

    # Our own accept, not loop.create_server or sock_accept: closed or cancelled while a
    # connection is being accepted, those leak its socket (Python 3.11). Here every accepted
    # socket is known until its transport exists, and a link-down closes it either way.
    def _accept(self) -> None:
        assert self._listener is not None
        try:
            conn, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        conn.setblocking(False)
        task = asyncio.get_running_loop().create_task(self._connect(conn))
        self._accepting[task] = conn

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await asyncio.get_running_loop().connect_accepted_socket(lambda: _Connection(self), conn)
        except BaseException:
            conn.close()
            raise
        finally:
            self._accepting.pop(asyncio.current_task(), None)  # type: ignore[arg-type]

    async def down(self) -> None:
        if self._listener is not None:
            asyncio.get_running_loop().remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None
        accepting, self._accepting = self._accepting, {}
        for task, conn in accepting.items():
            task.cancel()
            conn.close()  # also when the task is cancelled before it ever ran
        for transport in list(self.transports):
            transport.abort()  # a reset, as when a gateway loses power
        conns, self._conns = self._conns, {}
        for task in conns:
            task.cancel()
        if conns or accepting:
            await asyncio.wait([*conns, *accepting])

    async def client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns[task] = writer
        try:
            await (self._serve_rtu if self.rtu else self._serve_mbap)(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:  # the link went down: this connection ends here
            pass
        finally:
            self._conns.pop(task, None)
            writer.close()

    async def _serve_mbap(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while True:
            tid, protocol, length, unit = struct.unpack(">HHHB", await reader.readexactly(7))
            if protocol != 0 or not 2 <= length <= 254:
                log.debug("not a Modbus TCP frame: closing the connection")
                return
            pdu = await reader.readexactly(length - 1)
            await self.sim.exchange(self, unit, pdu, loop.time(), partial(mbap_reply, tid, unit),
                                    writer.write)

    async def _serve_rtu(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        splitter = RtuSplitter()
        while True:
            wait = splitter.wait(self.sim.silence_s, PIECE_S)
            try:
                data = await asyncio.wait_for(reader.read(1024), wait)
            except asyncio.TimeoutError:
                frames = splitter.silence()
            else:
                if not data:
                    return
                frames = splitter.feed(data)
            await self.serve_rtu(splitter, frames, loop.time(), writer.write)


def link_path(target: str, path: str) -> None:
    """Point the symlink `path` at `target`, replacing a symlink but never a real file."""
    if os.path.lexists(path) and not os.path.islink(path):
        raise ConfigError(f"{path} exists and is not a symlink", key="serial link",
                          fix="choose another path; the simulator only replaces its own symlinks")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ConfigError(f"folder {folder} does not exist", key="serial link", fix="create it first")
    tmp = f"{path}.{os.getpid()}.tmp"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(target, tmp)
    os.replace(tmp, path)  # atomic: a client never sees the path missing while it is re-pointed


class PtyLink(Link):
    """A pseudo-terminal: clients open the slave through a symlink, the simulator serves RTU on
    the master. Going down closes the master, as when a USB adapter is unplugged."""

    def __init__(self, sim: Simulator, path: str) -> None:
        super().__init__(sim)
        self.path = os.path.abspath(path)
        self.endpoint = f"rtu://{self.path}"
        self._fds: tuple[int, int] | None = None
        self._tty = ""
        self._splitter = RtuSplitter()
        self._queue: asyncio.Queue[tuple[bytes, float]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def up(self) -> None:
        if self._fds is not None:
            return
        master, slave = os.openpty()
        try:
            tty.setraw(slave)  # no echo, no line editing: bytes pass unchanged
            os.set_blocking(master, False)
            self._tty = os.ttyname(slave)
            link_path(self._tty, self.path)
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        # the slave stays open here too, else the master reads EIO whenever no client has it open
        self._fds = (master, slave)
        self._splitter, self._queue = RtuSplitter(), asyncio.Queue()
        loop = asyncio.get_running_loop()
        loop.add_reader(master, self._readable)
        self._worker = loop.create_task(self._work())

    async def down(self) -> None:
        if self._fds is None:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._fds[0])
        if self._timer:
            self._timer.cancel()
        if self._worker:
            self._worker.cancel()
            await asyncio.wait([self._worker])
        for fd in self._fds:
            os.close(fd)
        self._fds = None
        if os.path.islink(self.path) and os.readlink(self.path) == self._tty:
            os.unlink(self.path)

    def _readable(self) -> None:
        assert self._fds is not None
        try:
            data = os.read(self._fds[0], 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # not expected while we hold the slave open; never spin on it
            log.error("pty %s failed: %s; serving stops until the next link-down", self._tty, exc)
            asyncio.get_running_loop().remove_reader(self._fds[0])
            return
        self._received(self._splitter.feed(data))

    def _silence(self) -> None:
        self._timer = None
        self._received(self._splitter.silence())

    def _received(self, frames: list[bytes]) -> None:
        now = asyncio.get_running_loop().time()
        for f in frames:
            self._queue.put_nowait((f, now))
        if self._timer:
            self._timer.cancel()
            self._timer = None
        wait = self._splitter.wait(self.sim.silence_s, PIECE_S)
        if wait is not None:
            self._timer = asyncio.get_running_loop().call_later(wait, self._silence)

    async def _work(self) -> None:
        while True:
            frame, received = await self._queue.get()
            await self.serve_rtu(self._splitter, [frame], received, self._write)

    def _write(self, data: bytes) -> None:
        if self._fds is None:
            return
        try:
            os.write(self._fds[0], data)
        except OSError as exc:  # the client is not reading and the pty is full: bytes lost
            log.debug("pty write failed: %s", exc)
