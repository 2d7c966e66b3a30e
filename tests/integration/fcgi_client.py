"""A small FastCGI client for talking to the programs without nginx.

It speaks the responder role of FastCGI 1.0: BEGIN_REQUEST, the PARAMS
stream, the STDIN stream, then reads STDOUT/STDERR records until
END_REQUEST. The body can be trickled in chunks with a pause between them,
so a test can act (send a signal, say) while a request is in flight.

    headers, body = request("unix:/run/me.sock",
                            {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/api/health"})
    headers.status      # 200 (from the CGI Status header; 200 when absent)
    headers["content-type"]

Addresses: "unix:/path", "/path" (or a Path), "HOST:PORT", or a (host, port) tuple. A
program started on an inherited socket is reached through whatever address
that socket was bound to.
"""

import os
import socket
import struct
import time

VERSION = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = range(1, 8)
RESPONDER = 1
MAX_CONTENT = 65535
_HEADER = struct.Struct(">BBHHBx")


class FcgiError(Exception):
    pass


class Headers:
    """Response headers by case-insensitive name; repeated headers are kept."""

    def __init__(self, pairs, status, status_line, stderr, app_status):
        self.pairs = pairs
        self.status = status
        self.status_line = status_line
        self.stderr = stderr
        self.app_status = app_status

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self.pairs if k.lower() == name]

    def get(self, name, default=None):
        values = self.get_all(name)
        return values[0] if values else default

    def __getitem__(self, name):
        values = self.get_all(name)
        if not values:
            raise KeyError(name)
        return values[0]

    def __contains__(self, name):
        return bool(self.get_all(name))

    def __repr__(self):
        return f"Headers(status={self.status}, {self.pairs!r})"


def _connect(address, timeout):
    if isinstance(address, tuple):
        return socket.create_connection(address, timeout=timeout)
    address = os.fspath(address)
    if address.startswith("unix:"):
        address = address[5:]
    if address.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(address)
        except OSError:
            s.close()
            raise
        return s
    host, _, port = address.rpartition(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def _length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def encode_params(params):
    out = bytearray()
    for name, value in params.items():
        name = name.encode() if isinstance(name, str) else name
        value = value.encode() if isinstance(value, str) else value
        out += _length(len(name)) + _length(len(value)) + name + value
    return bytes(out)


def _record(rtype, request_id, content=b""):
    pad = -len(content) % 8
    return _HEADER.pack(VERSION, rtype, request_id, len(content), pad) + content + b"\0" * pad


def _stream(rtype, request_id, data):
    """A stream's records, content split at the record limit, without the empty terminator."""
    return b"".join(_record(rtype, request_id, data[i:i + MAX_CONTENT])
                    for i in range(0, len(data), MAX_CONTENT))


class Connection:
    """One request on one connection, step by step."""

    def __init__(self, address, timeout=10.0, request_id=1):
        self.sock = _connect(address, timeout)
        self.request_id = request_id

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def begin(self, params):
        body = struct.pack(">HB5x", RESPONDER, 0)
        data = _record(BEGIN_REQUEST, self.request_id, body)
        data += _stream(PARAMS, self.request_id, encode_params(params))
        data += _record(PARAMS, self.request_id)
        self.sock.sendall(data)

    def send_stdin(self, data):
        if data:
            self.sock.sendall(_stream(STDIN, self.request_id, data))

    def end_stdin(self):
        self.sock.sendall(_record(STDIN, self.request_id))

    def abort(self):
        self.sock.sendall(_record(ABORT_REQUEST, self.request_id))

    def _read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise FcgiError(f"connection closed after {len(buf)} of {n} bytes")
            buf += chunk
        return bytes(buf)

    def read_response(self):
        """Reads until END_REQUEST; returns (headers, body)."""
        stdout, stderr = bytearray(), bytearray()
        while True:
            version, rtype, rid, clen, plen = _HEADER.unpack(self._read_exact(8))
            content = self._read_exact(clen + plen)[:clen]
            if version != VERSION:
                raise FcgiError(f"bad record version {version}")
            if rid != self.request_id:
                continue
            if rtype == STDOUT:
                stdout += content
            elif rtype == STDERR:
                stderr += content
            elif rtype == END_REQUEST:
                app_status, proto_status = struct.unpack(">IB3x", content[:8])
                if proto_status != 0:
                    raise FcgiError(f"request refused, protocol status {proto_status}")
                return parse_cgi_response(bytes(stdout), bytes(stderr), app_status)
            else:
                raise FcgiError(f"unexpected record type {rtype}")


def parse_cgi_response(raw, stderr=b"", app_status=0):
    """Splits a CGI response (headers, blank line, body) into (Headers, body)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, body = raw.partition(sep)
        if found:
            break
    else:
        raise FcgiError(f"no end of headers in response: {raw[:200]!r}")
    pairs = []
    for line in head.decode("latin-1").replace("\r\n", "\n").split("\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise FcgiError(f"malformed header line: {line!r}")
        pairs.append((name.strip(), value.strip()))
    status, status_line = 200, ""
    for name, value in pairs:
        if name.lower() == "status":
            status_line = value
            status = int(value.split()[0])
    return Headers(pairs, status, status_line, stderr, app_status), body


def request(address, params, body=b"", *, chunk_size=None, chunk_delay=0.0,
            on_chunk=None, timeout=10.0):
    """Sends one request and returns (headers, body).

    CONTENT_LENGTH is set from the body unless params has it. With chunk_size,
    the body goes out in chunks of that size with chunk_delay seconds between
    them, and on_chunk(index) is called after each one is sent.
    """
    params = dict(params)
    if body and "CONTENT_LENGTH" not in params:
        params["CONTENT_LENGTH"] = str(len(body))
    with Connection(address, timeout=timeout) as conn:
        conn.begin(params)
        if chunk_size:
            chunks = [body[i:i + chunk_size] for i in range(0, len(body), chunk_size)]
            for i, chunk in enumerate(chunks):
                if i:
                    time.sleep(chunk_delay)
                conn.send_stdin(chunk)
                if on_chunk is not None:
                    on_chunk(i)
        else:
            conn.send_stdin(body)
        conn.end_stdin()
        return conn.read_response()
