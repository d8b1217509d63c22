"""A Model Commons cluster on one machine, for tests and benchmarks: SeaweedFS (S3), the
machine's PostgreSQL and Redis, N `commons serve` processes and M `commons worker` processes
behind nginx (round-robin). Every part is a real process on free localhost ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

COMMONS = [sys.executable, "-m", "modelcommons.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _weed() -> str:
    found = Path(sys.executable).parent / "weed"
    return str(found) if found.exists() else (shutil.which("weed") or "weed")


def wait_for(
    url: str, what: str, process: subprocess.Popen, log: Path, seconds: float = 60
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer in {seconds} s:\n{log.read_text()[-3000:]}")


@contextmanager
def spawn(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextmanager
def serve(port: int, env: dict[str, str], log: Path) -> Iterator[str]:
    """One `commons serve` on a port with the given environment, until the block ends."""
    with spawn([*COMMONS, "serve", "--port", str(port)], log, env) as running:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/healthz", "the hub", running, log)
        yield url


@contextmanager
def seaweedfs(folder: Path) -> Iterator[str]:
    """`weed server -s3` with every port chosen (its volume server defaults to 8080)."""
    data = folder / "weed"
    data.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3")}
    command = [
        _weed(), "server", "-s3", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-iam=false", "-webdav=false", "-metricsPort=0", "-master.telemetry=false",
        "-volume.max=0", "-s3.port.iceberg=0", "-s3.port.lance=0",
        # Small volumes: with its 30 GB default, "-volume.max=0" (as many as the free disk
        # holds) left one volume on a disk with under 60 GB free, and every write then hung.
        "-master.volumeSizeLimitMB=1024",
    ]  # fmt: skip
    for name, port in ports.items():
        command += [f"-{name}.port={port}", f"-{name}.port.grpc={free_port()}"]
    log = folder / "weed.log"
    with spawn(command, log) as process:
        endpoint = f"http://127.0.0.1:{ports['s3']}"
        wait_for(endpoint, "SeaweedFS", process, log)
        yield endpoint


NGINX_CONF = """
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    upstream commons {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            proxy_pass http://commons;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 600s;
            proxy_next_upstream error timeout http_502;
        }}
    }}
}}
"""


def nginx_config(prefix: Path, port: int, upstreams: list[int]) -> str:
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in upstreams)
    return NGINX_CONF.format(prefix=prefix, port=port, servers=servers)


@contextmanager
def nginx(folder: Path, port: int, upstreams: list[int]) -> Iterator[str]:
    prefix = folder / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(prefix, port, upstreams))
    log = folder / "nginx.log"
    command = [NGINX, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"]
    if os.geteuid() == 0:
        command[-1] = "daemon off; user root;"
    with spawn(command, log) as process:
        url = f"http://127.0.0.1:{port}"
        wait_for(url, "nginx", process, log)
        yield url


@dataclass
class Cluster:
    url: str
    env: dict[str, str]
    home: Path
    servers: list[subprocess.Popen] = field(default_factory=list)
    server_ports: list[int] = field(default_factory=list)
    workers: list[subprocess.Popen] = field(default_factory=list)
    stack: ExitStack = field(default_factory=ExitStack)

    def start_worker(self) -> subprocess.Popen:
        log = self.home / f"worker-{len(self.workers)}.log"
        process = self.stack.enter_context(spawn([*COMMONS, "worker"], log, self.env))
        self.workers.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait()

    def restart_server(self, index: int) -> None:
        """Start a server again on the port of a killed one (nginx still lists it)."""
        port = self.server_ports[index]
        log = self.home / f"server-{index}-again.log"
        command = [*COMMONS, "serve", "--port", str(port)]
        process = self.stack.enter_context(spawn(command, log, self.env))
        wait_for(f"http://127.0.0.1:{port}/healthz", f"server {index}", process, log)
        self.servers[index] = process


@contextmanager
def cluster(
    folder: Path,
    *,
    database_url: str,
    port: int,
    servers: int = 3,
    workers: int = 2,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Cluster]:
    """Everything up, in dependency order; torn down in reverse."""
    queue = f"commons-test-{uuid.uuid4().hex[:8]}"
    with ExitStack() as stack:
        s3 = stack.enter_context(seaweedfs(folder))
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "COMMONS_HOME": str(folder / "home"),
            "COMMONS_DATABASE_URL": database_url,
            "COMMONS_STORAGE_URL": f"s3://commons?endpoint_url={s3}",
            "COMMONS_QUEUE_URL": f"redis://127.0.0.1:6379/0?name={queue}",
            "COMMONS_SECRET_KEY": uuid.uuid4().hex,
            "COMMONS_PUBLIC_URL": url,
            "COMMONS_RUN_WORKER": "0",
            **(extra_env or {}),
        }
        home = folder / "home"
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run([*COMMONS, "migrate"], env=env, check=True, capture_output=True)
        found = Cluster(url=url, env=env, home=home, stack=stack)
        for number in range(servers):
            server_port = free_port()
            log = home / f"server-{number}.log"
            command = [*COMMONS, "serve", "--port", str(server_port)]
            process = stack.enter_context(spawn(command, log, env))
            # The first server creates the admin; the others then find it.
            wait_for(f"http://127.0.0.1:{server_port}/healthz", f"server {number}", process, log)
            found.servers.append(process)
            found.server_ports.append(server_port)
        stack.enter_context(nginx(folder, port, found.server_ports))
        for _ in range(workers):
            found.start_worker()
        stack.callback(forget_queue, queue)
        yield found


def forget_queue(queue: str) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=0)
    for key in client.scan_iter(f"*{queue}*"):
        client.delete(key)
