"""Node: one crust-node process, driven through stdin and stdout.

Every node listens on 127.0.0.1 only, on a random port, and keeps its
bootstrap cache in a directory of its own (unless the test names a cache
file), so that nodes never find each other through a shared cache by
accident. Synchronisation is by waiting for events on the node's stdout;
every wait is bounded.
"""

import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import harness
from harness import _short

LOCAL = "--crust.listen-address=127.0.0.1"
FAST_HEARTBEAT = ["--crust.heartbeat-interval=200ms", "--crust.heartbeat-timeout=1s"]

_EOF = object()


class Node:
    """One crust-node process: events from stdout, commands to stdin.

    A background thread turns each stdout line into a JSON object and puts it
    on a queue; `wait_for` takes events off that queue. Events that did not
    match one wait stay available to later waits, so tests need not care in
    which order independent events arrive.
    """

    def __init__(self, *args, name="node", prefix=(), listen=LOCAL):
        """`prefix`: a command to run the node under (e.g. ip netns exec);
        `listen`: the listen-address argument."""
        self.name = name
        self.state_dir = tempfile.mkdtemp(prefix="crust-node-")
        self.cache_file = os.path.join(self.state_dir, "cache.json")
        own_cache = [] if any(a.startswith("--crust.bootstrap-cache-file=")
                              for a in args) \
            else ["--crust.bootstrap-cache-file=" + self.cache_file]
        cmd = list(prefix) + [harness.BINARY, listen] + own_cache + list(args)
        self.cmd_line = cmd
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)  # buffered: readline reads chunks, not bytes
        self.events = queue.Queue()
        self.seen = []       # every event, in arrival order (diagnostics)
        self.pending = []    # events taken off the queue but not yet matched
        self.eof = False
        self.stderr_lines = []
        self.id = None
        self.endpoint = None
        self._out = threading.Thread(target=self._read_stdout, daemon=True)
        self._err = threading.Thread(target=self._read_stderr, daemon=True)
        self._out.start()
        self._err.start()

    # -- background readers -------------------------------------------------

    def _read_stdout(self):
        try:
            self._pump_stdout()
        except (ValueError, OSError):
            pass  # the pipe was closed at teardown
        finally:
            self.events.put(_EOF)

    def _pump_stdout(self):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not line:
                continue
            try:
                ev = json.loads(line)
                if not isinstance(ev, dict):
                    raise ValueError("not an object")
            except ValueError:
                ev = {"event": "<not json>", "line": line}
            self.events.put(ev)

    def _read_stderr(self):
        try:
            for raw in iter(self.proc.stderr.readline, b""):
                self.stderr_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
        except (ValueError, OSError):
            pass  # the pipe was closed at teardown

    # -- commands -------------------------------------------------------------

    def start(self, timeout=10):
        """Waits for `listening`; remembers the id and the 127.0.0.1 endpoint."""
        ev = self.wait_for("listening", timeout=timeout)
        self.id = ev["peer_id"]
        assert isinstance(self.id, str) and len(self.id) == 64, _short(ev)
        int(self.id, 16)
        eps = [e for e in ev["endpoints"] if e.startswith("tcp://127.0.0.1:")]
        assert eps, "%s: no tcp://127.0.0.1 endpoint in %s" % (self.name, _short(ev))
        self.endpoint = eps[0]
        return self

    @property
    def port(self):
        return int(self.endpoint.rsplit(":", 1)[1])

    def send_line(self, line):
        try:
            self.proc.stdin.write((line + "\n").encode("utf-8"))
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise AssertionError("%s: cannot write %r to stdin (%s)%s"
                                 % (self.name, line[:80], e, self._report()))

    def close_stdin(self):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    # -- waiting ----------------------------------------------------------------

    def _match(self, ev, names, predicate):
        return ev.get("event") in names and (predicate is None or predicate(ev))

    def wait_for(self, event_name, predicate=None, timeout=10):
        """Returns the first not yet consumed event named `event_name` (a
        name or a tuple of names) for which `predicate` holds; fails with the
        events seen when none comes within `timeout` seconds."""
        names = (event_name,) if isinstance(event_name, str) else tuple(event_name)
        for i, ev in enumerate(self.pending):
            if self._match(ev, names, predicate):
                return self.pending.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                break
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                break
            if ev is _EOF:
                self.eof = True
                break
            self.seen.append(ev)
            if self._match(ev, names, predicate):
                return ev
            self.pending.append(ev)
        if self.eof:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            self._err.join(timeout=2)
            why = "stdout closed (%s)" % self.exit_status()
        else:
            why = "nothing within %gs" % timeout
        raise AssertionError("%s: no %s event%s: %s%s" % (
            self.name, "/".join(names),
            "" if predicate is None else " matching the condition",
            why, self._report()))

    def drain(self):
        """Moves whatever arrived so far into `pending` (never blocks)."""
        while True:
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                return
            if ev is _EOF:
                self.eof = True
                return
            self.seen.append(ev)
            self.pending.append(ev)

    def wait_exit(self, timeout=10):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s: still running %gs after being told to stop%s"
                                 % (self.name, timeout, self._report()))
        # Let the readers catch the last words (bounded: the pipes are at EOF
        # unless a grandchild holds them).
        self._out.join(timeout=2)
        self._err.join(timeout=2)
        return rc

    def exit_status(self):
        rc = self.proc.poll()
        if rc is None:
            return "running"
        if rc < 0:
            try:
                return "killed by %s" % signal.Signals(-rc).name
            except ValueError:
                return "killed by signal %d" % -rc
        return "exit code %d" % rc

    def assert_exits_cleanly(self, testcase, what, timeout=10):
        rc = self.wait_exit(timeout)
        testcase.assertEqual(rc, 0, "%s: %s, expected exit code 0 after %s%s"
                             % (self.name, self.exit_status(), what, self._report()))

    def _report(self):
        seen = self.seen[-40:]
        lines = ["", "  command: %s (%s)" % (" ".join(self.cmd_line), self.exit_status()),
                 "  events seen (%d, last %d shown):" % (len(self.seen), len(seen))]
        lines += ["    " + _short(e) for e in seen]
        if self.stderr_lines:
            lines.append("  stderr (last 15 lines):")
            lines += ["    " + l for l in self.stderr_lines[-15:]]
        return "\n".join(lines)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        self.kill()
        self._out.join(timeout=2)
        self._err.join(timeout=2)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except Exception:
                pass
        shutil.rmtree(self.state_dir, ignore_errors=True)
