"""RecordingProxy: a TCP relay on 127.0.0.1 that records what passes."""

import socket
import threading


class RecordingProxy:
    """Forwards every TCP connection made to it to 127.0.0.1:`target_port`
    and records each direction's bytes."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.lock = threading.Lock()
        self.to_target = bytearray()    # dialler -> listener
        self.from_target = bytearray()  # listener -> dialler
        self.socks = [self.lsock]
        self.connections = 0
        self.errors = []
        threading.Thread(target=self._accept_loop, daemon=True).start()

    @property
    def endpoint(self):
        return "tcp://127.0.0.1:%d" % self.lsock.getsockname()[1]

    def _accept_loop(self):
        while True:
            try:
                client, _ = self.lsock.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                server.settimeout(None)
            except OSError as e:
                self.errors.append("cannot reach the target: %s" % e)
                client.close()
                continue
            with self.lock:
                self.socks += [client, server]
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, server, self.to_target),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, self.from_target),
                             daemon=True).start()

    def _pump(self, src, dst, tape):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    tape += data
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def recorded(self):
        with self.lock:
            return bytes(self.to_target), bytes(self.from_target)

    def close(self):
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
