#!/usr/bin/python3
# SPDX-License-Identifier: ISC
# Clients for evhttp.bats: an SSE reader, a WebSocket reader (python3-websocket),
# webhook signing, and hostile clients. Each prints what it received, one per line.
import base64, hashlib, hmac, socket, sys, time

def sse(url, n, last_id=None, pause=0.0):
    """Read n events from an SSE stream; print 'ID DATA' for each. With a
    pause: after the first event, read nothing for that many seconds."""
    host, port, path = split(url)
    s = socket.create_connection((host, port), timeout=10 + pause)
    if pause:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hdr = "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n" % (path, host)
    if last_id:
        hdr += "Last-Event-ID: %s\r\n" % last_id
    s.sendall((hdr + "\r\n").encode())
    f = s.makefile("rb")
    status = f.readline()
    if b" 200 " not in status:
        sys.exit("sse: " + status.decode().strip())
    while f.readline() not in (b"\r\n", b""):
        pass
    got, ev = 0, {}
    body = chunks(f)
    buf = b""
    while got < n:
        piece = next(body, None)
        if piece is None:
            break
        buf += piece
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            ev = {}
            for line in block.split(b"\n"):
                if line.startswith(b":") or b":" not in line:
                    continue
                k, v = line.split(b":", 1)
                ev[k.decode()] = v[1:] if v.startswith(b" ") else v
            if "data" in ev and "id" in ev:
                print(ev["id"].decode(), ev["data"].decode(), flush=True)
                got += 1
                if got == 1 and pause:
                    time.sleep(pause)
                if got == n:
                    break
    s.close()

def chunks(f):
    """The pieces of a chunked body."""
    while True:
        size = f.readline()
        if not size:
            return
        n = int(size.strip().split(b";")[0], 16)
        if n == 0:
            return
        data = f.read(n)
        f.readline()
        yield data

def ws(url, n):
    """Read n text messages; print each."""
    import websocket
    c = websocket.create_connection(url, timeout=10)
    for _ in range(n):
        print(c.recv(), flush=True)
    c.close()

def ws_stall(url, seconds):
    """Connect and never read: print the close reason if one arrives later."""
    import websocket
    c = websocket.create_connection(url, timeout=30,
                                    sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    time.sleep(float(seconds))
    try:
        while True:
            op, data = c.recv_data(control_frame=True)
            if op == websocket.ABNF.OPCODE_CLOSE:
                print("close", int.from_bytes(data[:2], "big"), data[2:].decode())
                return
    except Exception as e:
        print("closed", type(e).__name__)

def sse_stall(url, seconds):
    """Ask for an SSE stream, read nothing for a while, then drain: print
    'closed' when the server has hung up."""
    host, port, path = split(url)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n"
               % (path, host)).encode())
    time.sleep(float(seconds))
    s.settimeout(10)
    try:
        while s.recv(65536):
            pass
        print("closed")
    except (socket.timeout, ConnectionResetError) as e:
        print("open", type(e).__name__)

def whsig(secret, msgid, ts, body_file):
    key = base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") else secret.encode()
    body = open(body_file, "rb").read()
    mac = hmac.new(key, b"%s.%s.%s" % (msgid.encode(), ts.encode(), body), hashlib.sha256)
    print("v1," + base64.b64encode(mac.digest()).decode())

def ghsig(secret, body_file):
    body = open(body_file, "rb").read()
    print("sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest())

def slowbody(url, seconds):
    """Send headers, then one body byte per second for `seconds`: print how it ended."""
    host, port, path = split(url)
    s = socket.create_connection((host, port), timeout=30)
    s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
               "Content-Length: 1000\r\n\r\n" % (path, host)).encode())
    try:
        for _ in range(int(seconds)):
            s.sendall(b" ")
            time.sleep(1)
            s.settimeout(0.01)
            try:
                if s.recv(1) == b"":
                    print("closed")
                    return
            except socket.timeout:
                pass
            s.settimeout(30)
    except (BrokenPipeError, ConnectionResetError):
        print("closed")
        return
    print("still open")

def load(url, writers, count):
    """writers threads each POST count wrapped events over keep-alive; print
    the webhook-id of each one answered 200, as soon as it is."""
    import http.client, threading
    host, port, path = split(url)
    lock = threading.Lock()
    def run(w):
        c = http.client.HTTPConnection(host, port, timeout=30)
        for i in range(count):
            try:
                c.request("POST", path, body=b'{"w":%d,"i":%d}' % (w, i),
                          headers={"Content-Type": "application/json", "webhook-id": "w%d-%d" % (w, i)})
                r = c.getresponse()
                r.read()
            except Exception:
                return
            if r.status == 200:
                with lock:
                    print("w%d-%d" % (w, i), flush=True)
    ts = [threading.Thread(target=run, args=(w,)) for w in range(writers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()

def split(url):
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    return host, int(port), "/" + path

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "sse":
        sse(args[0], int(args[1]), args[2] if len(args) > 2 and args[2] else None,
            float(args[3]) if len(args) > 3 else 0.0)
    elif cmd == "ws":
        ws(args[0], int(args[1]))
    elif cmd == "ws-stall":
        ws_stall(args[0], args[1])
    elif cmd == "sse-stall":
        sse_stall(args[0], args[1])
    elif cmd == "whsig":
        whsig(*args)
    elif cmd == "ghsig":
        ghsig(*args)
    elif cmd == "load":
        load(args[0], int(args[1]), int(args[2]))
    elif cmd == "slowbody":
        slowbody(*args)
    else:
        sys.exit("usage: httpclient.py sse|ws|ws-stall|whsig|ghsig|load|slowbody ...")
