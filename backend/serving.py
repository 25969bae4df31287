"""Run the app in N worker processes, each with its own listening socket.

uvicorn's own `--workers` shares one socket, and the kernel then hands most long-lived
keep-alive connections (a handheld holds one for a shift) to whichever worker accepts
first. Here every worker binds the port with SO_REUSEPORT, so the kernel spreads new
connections evenly over the workers.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import time

import uvicorn

__all__ = ["run_workers"]

APP = "backend.app:create_app"


def _config() -> uvicorn.Config:
    return uvicorn.Config(
        APP,
        factory=True,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        # Live messages are a few hundred bytes: compressing each one again for every one of
        # a thousand sockets cost a third of the fan-out's CPU and saved almost nothing.
        ws_per_message_deflate=False,
    )


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
    sock = _listening_socket(host, port)
    uvicorn.Server(_config()).run(sockets=[sock])


def run_workers(host: str, port: int, workers: int) -> int:
    """Serve until interrupted; returns an exit code (non-zero if a worker died)."""
    if workers <= 1:
        config = _config()
        config.host, config.port = host, port
        uvicorn.Server(config).run()
        return 0
    # Bind once here first, so a port in use fails loudly before any worker starts.
    _listening_socket(host, port).close()
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(host, port), name=f"lotline-worker-{n}")
        for n in range(workers)
    ]
    for process in processes:
        process.start()
    code = 0
    try:
        while all(process.is_alive() for process in processes):
            time.sleep(0.2)
        code = 1
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=15)
            if process.is_alive():
                process.kill()
    return code
