"""Start and stop Azurite, the Azure Storage emulator, from the copy that scripts/bootstrap.sh installs.

Used by the test session (on free loopback ports, in memory) and by scripts/run.sh (on the default ports that
``UseDevelopmentStorage=true`` expects, persisted under .azurite/). Always started with --disableTelemetry (else
shutdown lingers for up to 100 s) and --skipApiVersionCheck (else newer storage SDKs are rejected).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = PROJECT_ROOT / "node_modules" / ".bin" / "azurite"

# The emulator's fixed, publicly documented development account (not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEFAULT_PORTS = (10000, 10001, 10002)


@dataclass(frozen=True)
class AzuriteProcess:
    pid: int
    blob_port: int
    queue_port: int
    table_port: int
    log_path: Path

    @property
    def connection_string(self) -> str:
        host = "http://127.0.0.1"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint={host}:{self.blob_port}/{DEV_ACCOUNT};"
            f"QueueEndpoint={host}:{self.queue_port}/{DEV_ACCOUNT};"
            f"TableEndpoint={host}:{self.table_port}/{DEV_ACCOUNT};"
        )


def free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start(
    ports: tuple[int, int, int] | None = None,
    location: Path | None = None,
    log_path: Path | None = None,
    timeout_s: float = 30.0,
    extra_args: tuple[str, ...] = (),
) -> AzuriteProcess:
    """Start Azurite and wait until all three services accept connections.

    ``location`` persists data there; without it Azurite keeps everything in memory.
    """
    if not AZURITE_BIN.exists():
        raise RuntimeError(f"Azurite is not installed at {AZURITE_BIN}; run scripts/bootstrap.sh first.")
    blob, queue, table = ports or tuple(free_ports(3))
    log_path = log_path or PROJECT_ROOT / ".azurite" / f"azurite-{table}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    args = [
        str(AZURITE_BIN), "--silent", "--disableTelemetry", "--skipApiVersionCheck",
        "--blobHost", "127.0.0.1", "--blobPort", str(blob),
        "--queueHost", "127.0.0.1", "--queuePort", str(queue),
        "--tableHost", "127.0.0.1", "--tablePort", str(table),
    ]
    args += list(extra_args)  # e.g. --oauth basic --cert ... --key ... (tests of identity-based connections)
    if location is None:
        args.append("--inMemoryPersistence")
    else:
        location.mkdir(parents=True, exist_ok=True)
        args += ["--location", str(location)]
    with open(log_path, "ab") as log:
        # The bin is a node script with a shebang, so the PID is node's own: stopping it stops Azurite.
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Azurite exited with code {proc.returncode}; see {log_path}")
        if all(_port_open(p) for p in (blob, queue, table)):
            return AzuriteProcess(proc.pid, blob, queue, table, log_path)
        time.sleep(0.1)
    stop(proc.pid)
    raise RuntimeError(f"Azurite did not start within {timeout_s:.0f} s; see {log_path}")


def stop(pid: int, timeout_s: float = 10.0) -> None:
    """Stop Azurite by PID: SIGTERM, then SIGKILL if it has not exited in time."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child: poll for existence instead
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            finished = 0
        if finished == pid:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("start", help="start Azurite on the default ports, persisted under .azurite/")
    up.add_argument("--pid-file", type=Path, default=PROJECT_ROOT / ".azurite" / "azurite.pid")
    down = sub.add_parser("stop", help="stop the Azurite started by 'start'")
    down.add_argument("--pid-file", type=Path, default=PROJECT_ROOT / ".azurite" / "azurite.pid")
    args = parser.parse_args(argv)
    if args.command == "start":
        busy = [p for p in DEFAULT_PORTS if _port_open(p)]
        if busy:
            print(f"Ports {busy} are already in use: is another Azurite running? Stop it first.", file=sys.stderr)
            return 1
        proc = start(ports=DEFAULT_PORTS, location=PROJECT_ROOT / ".azurite" / "data",
                     log_path=PROJECT_ROOT / ".azurite" / "azurite.log")
        args.pid_file.write_text(str(proc.pid))
        print(f"Azurite running (PID {proc.pid}) on 127.0.0.1:10000-10002; data in .azurite/data")
        return 0
    if args.pid_file.exists():
        stop(int(args.pid_file.read_text().strip()))
        args.pid_file.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
