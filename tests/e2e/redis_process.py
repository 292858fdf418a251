"""A real redis-server for cluster tests (docs/cluster.md "Testing"): Debian's redis-server 7 on a
free loopback port with persistence off, its own temp dir, DEBUG allowed from loopback; a tiny RESP
client to look at keys; kill() / start() again on the same port for store-outage tests.
tests/support/redis_server.h is the C++ counterpart.

Runs with Debian's /usr/bin/python3. Loopback only.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class RedisError(Exception):
    pass


class _Reader:
    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RedisError(f"unexpected reply {line!r}")


class RedisServer:
    """redis-server on 127.0.0.1:<free port>, no RDB, no AOF; close() stops it."""

    def __init__(self, port=None):
        self.dir = tempfile.TemporaryDirectory(prefix="medrelay-redis-")
        self.port = port or free_port()
        self.proc = None
        self.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self, timeout=10):
        """Starts (again, on the same port) and waits until it answers PING."""
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", self.dir.name, "--enable-debug-command", "local",
             "--protected-mode", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        end = time.time() + timeout
        while time.time() < end:
            try:
                if self.command("PING") == "PONG":
                    return
            except (OSError, RedisError):
                pass
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited with {self.proc.returncode}")
            time.sleep(0.02)
        raise AssertionError("redis-server did not answer PING")

    def command(self, *args, timeout=5):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(_encode(args))
            return _Reader(s).reply()

    def kill(self):
        """SIGKILL: the store is gone at once, as after a crash (nothing persisted)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        self.kill()
        self.dir.cleanup()


def cluster_settings(redis, node_id, secret_file, public_port, region="default", prefix="mr"):
    """medrelay settings of one cluster node with short test timings (docs/cluster.md)."""
    return [f"cluster.redis={redis.address}", f"node.id={node_id}",
            f"cluster.secret_file={secret_file}", f"cluster.public_url=http://127.0.0.1:{public_port}",
            f"http.listen=127.0.0.1:{public_port}", f"cluster.region={region}",
            f"cluster.key_prefix={prefix}", "cluster.alive_ttl_ms=2000",
            "cluster.heartbeat_ms=200", "cluster.lease_ttl_ms=2000",
            "cluster.command_timeout_ms=1000"]


def write_secret(directory):
    path = os.path.join(directory, "cluster-secret")
    with open(path, "wb") as f:
        f.write(os.urandom(32).hex().encode())
    os.chmod(path, 0o600)
    return path
